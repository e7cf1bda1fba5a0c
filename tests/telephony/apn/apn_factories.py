"""Plain factories for APN tests, going through the real API."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from hubtest import TenantCtx

SECRET = "gateway-secret-1"


async def make_apn(
    client: httpx.AsyncClient, owner: TenantCtx, name: str = "iot.acme.cn", **fields: Any
) -> dict[str, Any]:
    body = {"name": name, "pool_cidr": "10.64.0.0/29", **fields}
    r = await client.post("/api/v1/apn/apns", headers=owner.auth, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def make_nas(
    client: httpx.AsyncClient,
    owner: TenantCtx,
    apn_id: str,
    address: str = "127.0.0.1",
    secret: str = SECRET,
) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/apn/apns/{apn_id}/nas",
        headers=owner.auth,
        json={"name": "pgw-1", "address": address, "secret": secret},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def make_device(
    client: httpx.AsyncClient, owner: TenantCtx, apn_id: str, **fields: Any
) -> dict[str, Any]:
    body = {"apn_id": apn_id, "name": "meter 1", "msisdn": "13800138000", **fields}
    r = await client.post("/api/v1/apn/devices", headers=owner.auth, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def device_token(client: httpx.AsyncClient, owner: TenantCtx, device_id: str) -> str:
    r = await client.post(f"/api/v1/apn/devices/{device_id}/token", headers=owner.auth)
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


# ---------------------------------------------------------------- radclient, the real client

RADCLIENT = shutil.which("radclient")
needs_radclient = pytest.mark.skipif(
    RADCLIENT is None,
    reason="radclient not installed (Debian package freeradius-utils; .ci/run installs it)",
)


@dataclass
class RadReply:
    code: str | None  # "Access-Accept", "Access-Reject", "Accounting-Response" or None
    attrs: dict[str, str]
    output: str


async def radclient(
    port: int, command: str, attrs: str, secret: str = SECRET, timeout: float = 1.0
) -> RadReply:
    """Send one request with FreeRADIUS's radclient and read its reply (no retries)."""
    assert RADCLIENT is not None
    proc = await asyncio.create_subprocess_exec(
        RADCLIENT,
        "-x",
        "-r",
        "1",
        "-t",
        str(timeout),
        f"127.0.0.1:{port}",
        command,
        secret,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate(attrs.encode())
    text = out.decode()
    code = None
    found: dict[str, str] = {}
    received = False
    for line in text.splitlines():
        if line.startswith("Received "):
            code = line.split()[1]
            received = True
        elif received and line.startswith(("\t", "  ")) and " = " in line:
            key, _, value = line.strip().partition(" = ")
            found[key] = value.strip('"')
    return RadReply(code, found, text)


def auth_attrs(
    msisdn: str | None = None,
    imsi: str | None = None,
    user: str | None = None,
    password: str | None = None,
    chap: str | None = None,
    extra: str = "",
) -> str:
    """radclient input for an Access-Request as a GGSN/PGW would send it."""
    parts = ['Called-Station-Id = "iot.acme.cn"', "NAS-Port-Type = 5"]
    if msisdn:
        parts.append(f'Calling-Station-Id = "{msisdn}"')
    if imsi:
        parts.append(f'3GPP-IMSI = "{imsi}"')
    if user:
        parts.append(f'User-Name = "{user}"')
    if password is not None:
        parts.append(f'User-Password = "{password}"')
    if chap is not None:
        # radclient computes CHAP-Password from the cleartext given here.
        parts.append(f'CHAP-Password = "{chap}"')
    if extra:
        parts.append(extra)
    return ", ".join(parts) + "\n"
