"""`huitong radius` as its own process, as deployed: answers radclient from the shared DB."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from apn_factories import auth_attrs, make_apn, make_device, make_nas, needs_radclient, radclient
from comms.settings import Settings
from hubtest import PYTHON, TenantCtx, subprocess_env

pytestmark = [needs_radclient, pytest.mark.slow]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_huitong_radius_serves_the_registry_and_sees_changes(
    settings: Settings, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    apn = await make_apn(client, tenant)
    await make_nas(client, tenant, apn["id"])
    device = await make_device(client, tenant, apn["id"], msisdn="13800138000")
    auth, acct = free_udp_port(), free_udp_port()
    proc = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        "comms.cli",
        "radius",
        "--host",
        "127.0.0.1",
        "--auth-port",
        str(auth),
        "--acct-port",
        str(acct),
        env=subprocess_env(settings, HUITONG_RADIUS_POLL_INTERVAL="0.1"),
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        while b"RADIUS" not in (line := await asyncio.wait_for(proc.stderr.readline(), 30)):
            assert line, "huitong radius exited before listening"
        ok = await radclient(auth, "auth", auth_attrs(msisdn="8613800138000"))
        assert ok.code == "Access-Accept", ok.output
        assert ok.attrs["Framed-IP-Address"] == "10.64.0.1"
        r = await client.patch(
            f"/api/v1/apn/devices/{device['id']}", headers=tenant.auth, json={"enabled": False}
        )
        assert r.status_code == 200
        for _ in range(50):  # the server polls the change log every 0.1 s
            reply = await radclient(auth, "auth", auth_attrs(msisdn="8613800138000"))
            if reply.code == "Access-Reject":
                break
            await asyncio.sleep(0.1)
        assert reply.code == "Access-Reject"
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)
