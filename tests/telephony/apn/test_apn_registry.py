"""APNs, NAS clients and the device registry through the API: formats, secrets, CSV import."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from apn_factories import SECRET, make_apn, make_device, make_nas
from comms.audit.models import AuditEntry
from comms.db.tenancy import unscoped
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.apn.crypto import DEVICE_PASSWORD, NAS_SECRET
from telephony.apn.deps import secret_box
from telephony.apn.models import Device, NasClient


async def test_nas_secret_is_stored_encrypted_never_returned_nor_audited(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    apn = await make_apn(client, tenant)
    nas = await make_nas(client, tenant, apn["id"])
    assert "secret" not in nas
    listed = await client.get(f"/api/v1/apn/apns/{apn['id']}/nas", headers=tenant.auth)
    assert SECRET not in listed.text
    async with hub.db.session() as s:
        unscoped(s)
        row = await s.scalar(select(NasClient))
        assert row is not None
        assert SECRET not in row.secret_enc
        assert secret_box(hub).open(row.secret_enc, NAS_SECRET) == SECRET
        audit_rows = list(await s.scalars(select(AuditEntry.changes)))
    assert SECRET not in str(audit_rows)


async def test_a_nas_address_belongs_to_one_apn_across_tenants(
    client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    mine = await make_apn(client, tenant)
    theirs = await make_apn(client, other_tenant)
    await make_nas(client, tenant, mine["id"], address="192.0.2.10")
    r = await client.post(
        f"/api/v1/apn/apns/{theirs['id']}/nas",
        headers=other_tenant.auth,
        json={"address": "192.0.2.10", "secret": "another-secret"},
    )
    assert r.status_code == 409
    assert r.json()["field"] == "address"


async def test_bad_formats_answer_422_naming_the_field(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    apn = await make_apn(client, tenant)
    cases = {
        "imsi": {"imsi": "46000123"},
        "msisdn": {"msisdn": "12345"},
        "imei": {"imei": "490154203237519"},  # Luhn check digit off by one
        "static_address": {"static_address": "10.0.0.300"},
    }
    for field, body in cases.items():
        r = await client.post(
            "/api/v1/apn/devices",
            headers=tenant.auth,
            json={"apn_id": apn["id"], "name": "d", "msisdn": "13800138000", **body},
        )
        assert r.status_code == 422, (field, r.text)
        assert r.json()["detail"][0]["loc"][-1] == field
    r = await client.post(
        "/api/v1/apn/apns", headers=tenant.auth, json={"name": "x.cn", "pool_cidr": "10.0.0.1/24"}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "pool_cidr"
    r = await client.post(
        "/api/v1/apn/devices", headers=tenant.auth, json={"apn_id": apn["id"], "name": "nobody"}
    )
    assert r.status_code == 422  # nothing to find the device by


async def test_device_identities_are_normalised_unique_and_the_password_write_only(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    apn = await make_apn(client, tenant)
    d = await make_device(
        client,
        tenant,
        apn["id"],
        msisdn="138 0013 8000",
        imei="490154203237518",
        password="sim-pass-1",
        owner_name="张伟",
    )
    assert d["msisdn"] == "+8613800138000"
    assert d["has_password"] is True
    assert "password" not in d
    dup = await client.post(
        "/api/v1/apn/devices",
        headers=tenant.auth,
        json={"apn_id": apn["id"], "name": "dup", "msisdn": "+8613800138000"},
    )
    assert dup.status_code == 409
    assert dup.json()["field"] == "msisdn"
    async with hub.db.session() as s:
        unscoped(s)
        row = await s.get(Device, uuid.UUID(d["id"]))
        assert row is not None and row.password_enc is not None
        assert secret_box(hub).open(row.password_enc, DEVICE_PASSWORD) == "sim-pass-1"
    cleared = await client.patch(
        f"/api/v1/apn/devices/{d['id']}", headers=tenant.auth, json={"password": None}
    )
    assert cleared.json()["has_password"] is False
    r = await client.get("/api/v1/audit", headers=tenant.auth)
    assert "sim-pass-1" not in r.text


async def test_unknown_apn_or_owner_is_named(client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    apn = await make_apn(client, tenant)
    r = await client.post(
        "/api/v1/apn/devices",
        headers=tenant.auth,
        json={
            "apn_id": apn["id"],
            "name": "d",
            "msisdn": "13800138000",
            "owner_user_id": "00000000-0000-0000-0000-000000000001",
        },
    )
    assert r.status_code == 422
    assert r.json()["field"] == "owner_user_id"


async def test_csv_import_creates_good_rows_and_reports_each_bad_one(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    apn = await make_apn(client, tenant)
    await make_device(client, tenant, apn["id"], msisdn="13800138000")
    csv_text = "\n".join(
        [
            "name,msisdn,imsi,static_address,enabled,apn",
            "ok one,13800138001,,,true,iot.acme.cn",
            "dup in registry,13800138000,,,,iot.acme.cn",
            "bad imsi,,123,,,iot.acme.cn",
            "ok two,,460001234567890,10.99.0.1,no,iot.acme.cn",
            "dup in file,13800138001,,,,iot.acme.cn",
            "bad apn,13800138009,,,,nope.cn",
            "bad flag,13800138010,,,maybe,iot.acme.cn",
        ]
    )
    r = await client.post(
        "/api/v1/apn/devices/import",
        headers={**tenant.auth, "Content-Type": "text/csv"},
        content=csv_text.encode(),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] == 2
    assert [(e["row"], e["field"]) for e in body["errors"]] == [
        (2, "msisdn"),
        (3, "imsi"),
        (5, "msisdn"),
        (6, "apn"),
        (7, "enabled"),
    ]
    listed = (await client.get("/api/v1/apn/devices", headers=tenant.auth)).json()
    assert {d["name"]: d["enabled"] for d in listed} == {
        "meter 1": True,
        "ok one": True,
        "ok two": False,
    }
    bad_header = await client.post(
        "/api/v1/apn/devices/import",
        headers={**tenant.auth, "Content-Type": "text/csv"},
        content=b"nom,numero\nx,y\n",
    )
    assert bad_header.status_code == 422
    assert bad_header.json()["field"] == "header"


async def test_device_tokens_are_shown_once_and_revocable(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    apn = await make_apn(client, tenant)
    d = await make_device(client, tenant, apn["id"])
    r = await client.post(f"/api/v1/apn/devices/{d['id']}/token", headers=tenant.auth)
    token = r.json()["token"]
    assert token.startswith("hd_")
    shown = await client.get(f"/api/v1/apn/devices/{d['id']}", headers=tenant.auth)
    assert shown.json()["has_token"] is True
    assert token not in shown.text
    reading = {"values": {"t": 1.0}}
    auth = {"Authorization": f"Bearer {token}"}
    assert (
        await client.post("/api/v1/device/readings", headers=auth, json=reading)
    ).status_code == 201
    r = await client.delete(f"/api/v1/apn/devices/{d['id']}/token", headers=tenant.auth)
    assert r.status_code == 204
    assert (
        await client.post("/api/v1/device/readings", headers=auth, json=reading)
    ).status_code == 401
