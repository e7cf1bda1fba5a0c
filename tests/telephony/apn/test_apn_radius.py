"""The RADIUS server against FreeRADIUS's radclient: accepts, rejects, accounting, bad packets."""

from __future__ import annotations

import asyncio
import socket

import httpx
from sqlalchemy import select

from apn_factories import (
    SECRET,
    auth_attrs,
    make_apn,
    make_device,
    make_nas,
    needs_radclient,
    radclient,
)
from comms.bus.models import OutboxEvent
from comms.db.tenancy import unscoped
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.apn.models import Lease
from telephony.apn.radius.server import RadiusServer

pytestmark = needs_radclient


async def setup_apn(
    client: httpx.AsyncClient, tenant: TenantCtx, radius: RadiusServer, **apn_fields: object
) -> str:
    apn = await make_apn(client, tenant, **apn_fields)
    await make_nas(client, tenant, apn["id"])
    await radius.loader.poll()
    return str(apn["id"])


async def test_registered_device_is_accepted_with_the_next_pool_address_and_keeps_it(
    client: httpx.AsyncClient, tenant: TenantCtx, radius: RadiusServer
) -> None:
    apn = await setup_apn(client, tenant, radius)
    await make_device(client, tenant, apn, msisdn="13800138000")
    await make_device(client, tenant, apn, name="meter 2", msisdn="13800138001")
    await radius.loader.poll()

    # Gateways send the MSISDN as bare international digits.
    first = await radclient(radius.auth_port, "auth", auth_attrs(msisdn="8613800138000"))
    assert first.code == "Access-Accept", first.output
    assert first.attrs["Framed-IP-Address"] == "10.64.0.1"
    again = await radclient(radius.auth_port, "auth", auth_attrs(msisdn="8613800138000"))
    assert again.attrs["Framed-IP-Address"] == "10.64.0.1"
    other = await radclient(radius.auth_port, "auth", auth_attrs(msisdn="+8613800138001"))
    assert other.attrs["Framed-IP-Address"] == "10.64.0.2"


async def test_static_binding_imsi_and_user_name_identify_devices(
    client: httpx.AsyncClient, tenant: TenantCtx, radius: RadiusServer
) -> None:
    apn = await setup_apn(client, tenant, radius)
    await make_device(
        client, tenant, apn, msisdn=None, imsi="460001234567890", static_address="10.99.0.5"
    )
    await make_device(client, tenant, apn, name="gw", msisdn=None, username="gw-7@iot")
    await radius.loader.poll()

    by_imsi = await radclient(
        radius.auth_port, "auth", auth_attrs(msisdn="8613999999999", imsi="460001234567890")
    )
    assert by_imsi.code == "Access-Accept", by_imsi.output
    assert by_imsi.attrs["Framed-IP-Address"] == "10.99.0.5"
    by_user = await radclient(radius.auth_port, "auth", auth_attrs(user="gw-7@iot"))
    assert by_user.code == "Access-Accept"
    assert by_user.attrs["Framed-IP-Address"] == "10.64.0.1"


async def test_unknown_and_disabled_devices_are_rejected_without_a_reason_on_the_wire(
    client: httpx.AsyncClient, tenant: TenantCtx, radius: RadiusServer
) -> None:
    apn = await setup_apn(client, tenant, radius)
    device = await make_device(client, tenant, apn, msisdn="13800138000")
    await radius.loader.poll()

    unknown = await radclient(radius.auth_port, "auth", auth_attrs(msisdn="8613911112222"))
    assert unknown.code == "Access-Reject"
    assert "Reply-Message" not in unknown.attrs

    r = await client.patch(
        f"/api/v1/apn/devices/{device['id']}", headers=tenant.auth, json={"enabled": False}
    )
    assert r.status_code == 200
    assert await radius.loader.poll() == 1
    disabled = await radclient(radius.auth_port, "auth", auth_attrs(msisdn="8613800138000"))
    assert disabled.code == "Access-Reject"
    assert radius.stats.rejected == 2


async def test_another_tenants_device_is_rejected_on_this_tenants_apn(
    client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx, radius: RadiusServer
) -> None:
    await setup_apn(client, tenant, radius)
    theirs = await make_apn(client, other_tenant, name="iot.globex.cn")
    await make_device(client, other_tenant, theirs["id"], msisdn="13800138000")
    await radius.loader.poll()
    reply = await radclient(radius.auth_port, "auth", auth_attrs(msisdn="8613800138000"))
    assert reply.code == "Access-Reject"


async def test_pap_and_chap_check_the_password(
    client: httpx.AsyncClient, tenant: TenantCtx, radius: RadiusServer
) -> None:
    apn = await setup_apn(client, tenant, radius, auth_mode="pap")
    await make_device(client, tenant, apn, msisdn="13800138000", password="sim-pass-1")
    await make_device(client, tenant, apn, name="no pw", msisdn="13800138001")
    await radius.loader.poll()
    port = radius.auth_port

    ok = await radclient(port, "auth", auth_attrs(msisdn="8613800138000", password="sim-pass-1"))
    assert ok.code == "Access-Accept", ok.output
    bad = await radclient(port, "auth", auth_attrs(msisdn="8613800138000", password="guess"))
    assert bad.code == "Access-Reject"
    chap_ok = await radclient(port, "auth", auth_attrs(msisdn="8613800138000", chap="sim-pass-1"))
    assert chap_ok.code == "Access-Accept", chap_ok.output
    chap_bad = await radclient(port, "auth", auth_attrs(msisdn="8613800138000", chap="nope"))
    assert chap_bad.code == "Access-Reject"
    no_pw = await radclient(port, "auth", auth_attrs(msisdn="8613800138001", password="x"))
    assert no_pw.code == "Access-Reject"

    r = await client.patch(
        f"/api/v1/apn/apns/{apn}", headers=tenant.auth, json={"auth_mode": "chap"}
    )
    assert r.status_code == 200
    await radius.loader.poll()
    pap_on_chap = await radclient(
        port, "auth", auth_attrs(msisdn="8613800138000", password="sim-pass-1")
    )
    assert pap_on_chap.code == "Access-Reject"


async def test_a_wrong_shared_secret_is_dropped_and_counted(
    client: httpx.AsyncClient, tenant: TenantCtx, radius: RadiusServer
) -> None:
    apn = await setup_apn(client, tenant, radius)
    await make_device(client, tenant, apn, msisdn="13800138000")
    await radius.loader.poll()
    # With a Message-Authenticator the secret is provable on an Access-Request...
    signed = auth_attrs(msisdn="8613800138000", extra="Message-Authenticator = 0x00")
    ok = await radclient(radius.auth_port, "auth", signed)
    assert ok.code == "Access-Accept"
    wrong = await radclient(radius.auth_port, "auth", signed, secret="not-the-secret", timeout=0.3)
    assert wrong.code is None
    # ...and always on accounting (the Request Authenticator is keyed with it).
    acct = (
        'Acct-Status-Type = Start, Acct-Session-Id = "s1", Calling-Station-Id = "8613800138000"\n'
    )
    lost = await radclient(radius.acct_port, "acct", acct, secret="not-the-secret", timeout=0.3)
    assert lost.code is None
    assert radius.stats.dropped["bad_authenticator"] == 2


async def test_accounting_keeps_sessions_and_returns_the_address_at_stop(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, radius: RadiusServer
) -> None:
    apn = await setup_apn(client, tenant, radius, pool_cidr="10.64.0.0/30")  # two addresses
    device = await make_device(client, tenant, apn, msisdn="13800138000")
    await make_device(client, tenant, apn, name="meter 2", msisdn="13800138001")
    await make_device(client, tenant, apn, name="meter 3", msisdn="13800138002")
    await radius.loader.poll()
    accept = await radclient(radius.auth_port, "auth", auth_attrs(msisdn="8613800138000"))
    address = accept.attrs["Framed-IP-Address"]

    base = (
        'Acct-Session-Id = "gx-1", Calling-Station-Id = "8613800138000", '
        f"Framed-IP-Address = {address}"
    )
    start = await radclient(radius.acct_port, "acct", f"Acct-Status-Type = Start, {base}\n")
    assert start.code == "Accounting-Response", start.output
    again = await radclient(radius.acct_port, "acct", f"Acct-Status-Type = Start, {base}\n")
    assert again.code == "Accounting-Response"  # a retransmission changes nothing
    online = (await client.get("/api/v1/apn/sessions", headers=tenant.auth)).json()
    assert [(s["device_id"], s["address"], s["state"]) for s in online] == [
        (device["id"], address, "started")
    ]

    interim = (
        f"Acct-Status-Type = Interim-Update, {base}, Acct-Input-Octets = 1000, "
        "Acct-Output-Octets = 5, Acct-Output-Gigawords = 1, Acct-Session-Time = 60\n"
    )
    assert (await radclient(radius.acct_port, "acct", interim)).code == "Accounting-Response"
    stop = (
        f"Acct-Status-Type = Stop, {base}, Acct-Input-Octets = 2000, Acct-Output-Octets = 9, "
        "Acct-Session-Time = 120, Acct-Terminate-Cause = Idle-Timeout\n"
    )
    assert (await radclient(radius.acct_port, "acct", stop)).code == "Accounting-Response"

    r = await client.get("/api/v1/apn/sessions?state=all", headers=tenant.auth)
    [row] = r.json()
    assert row["state"] == "stopped"
    assert row["bytes_in"] == 2000
    assert row["bytes_out"] == 2**32 + 5  # the Stop's smaller counter does not go back
    assert row["stop_cause"] == "Idle-Timeout"
    assert row["device_name"] == "meter 1"
    assert (await client.get("/api/v1/apn/sessions", headers=tenant.auth)).json() == []

    async with hub.db.session() as s:
        unscoped(s)
        assert list(await s.scalars(select(Lease.address))) == []
        topics = list(await s.scalars(select(OutboxEvent.topic).order_by(OutboxEvent.id)))
    assert topics.count("apn.session.started") == 1
    assert topics.count("apn.session.stopped") == 1
    # The freed address is handed out again once the pool comes round to it.
    two = await radclient(radius.auth_port, "auth", auth_attrs(msisdn="8613800138001"))
    assert two.attrs["Framed-IP-Address"] == "10.64.0.2"
    three = await radclient(radius.auth_port, "auth", auth_attrs(msisdn="8613800138002"))
    assert three.attrs["Framed-IP-Address"] == address


async def test_pool_addresses_stay_unique_under_concurrent_attaches(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, radius: RadiusServer
) -> None:
    apn = await setup_apn(client, tenant, radius, pool_cidr="10.64.0.0/26")
    rows = "\n".join(["name,msisdn", *(f"m{i},138001{i:05d}" for i in range(40))])
    r = await client.post(
        f"/api/v1/apn/devices/import?apn_id={apn}",
        headers={**tenant.auth, "Content-Type": "text/csv"},
        content=rows,
    )
    assert r.json() == {"created": 40, "errors": []}
    await radius.loader.poll()
    replies = await asyncio.gather(
        *(
            radclient(radius.auth_port, "auth", auth_attrs(msisdn=f"86138001{i:05d}"))
            for i in range(40)
        )
    )
    addresses = [x.attrs.get("Framed-IP-Address") for x in replies]
    assert None not in addresses
    assert len(set(addresses)) == 40
    async with hub.db.session() as s:
        unscoped(s)
        assert sorted(await s.scalars(select(Lease.address))) == sorted(addresses)


async def test_bad_packets_and_unknown_nas_are_dropped_and_the_server_keeps_answering(
    client: httpx.AsyncClient, tenant: TenantCtx, radius: RadiusServer
) -> None:
    apn = await setup_apn(client, tenant, radius)
    await make_device(client, tenant, apn, msisdn="13800138000")
    await radius.loader.poll()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for junk in (
            b"",
            b"\x01",
            b"\x01\x02\x00\x14" + b"\0" * 15,
            b"\x01\x02\xff\xff" + b"x" * 30,
        ):
            sock.sendto(junk, ("127.0.0.1", radius.auth_port))
        # A sane header whose attribute claims a length of 1 (below the minimum of 2).
        sock.sendto(
            b"\x01\x07\x00\x17" + b"\0" * 16 + b"\x01\x01\x00", ("127.0.0.1", radius.auth_port)
        )
        sock.sendto(b"\x04\x01\x00\x14" + b"\0" * 16, ("127.0.0.1", radius.acct_port))
    finally:
        sock.close()
    # From an address that is no NAS of ours.
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        stranger.bind(("127.0.0.2", 0))
        stranger.sendto(b"\x01\x02\x00\x14" + b"\0" * 16, ("127.0.0.1", radius.auth_port))
    finally:
        stranger.close()
    await asyncio.sleep(0.1)
    ok = await radclient(radius.auth_port, "auth", auth_attrs(msisdn="8613800138000"))
    assert ok.code == "Access-Accept"
    dropped = radius.stats.dropped
    assert dropped["malformed"] >= 5
    assert dropped["bad_authenticator"] == 1  # the zero-authenticator accounting request
    assert dropped["unknown_nas"] == 1
    assert SECRET  # the shared secret never appears in what we count or log
