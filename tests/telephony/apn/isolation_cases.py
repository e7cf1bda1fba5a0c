"""Isolation cases for the APN routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import itertools

import httpx

from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case

_n = itertools.count(10)

# Self-contained (no apn_factories import): this file is loaded from tests/ by path.


async def make_apn(client: httpx.AsyncClient, owner: TenantCtx, name: str) -> dict[str, str]:
    r = await client.post(
        "/api/v1/apn/apns", headers=owner.auth, json={"name": name, "pool_cidr": "10.9.0.0/24"}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def make_nas(
    client: httpx.AsyncClient, owner: TenantCtx, apn_id: str, address: str
) -> dict[str, str]:
    r = await client.post(
        f"/api/v1/apn/apns/{apn_id}/nas",
        headers=owner.auth,
        json={"address": address, "secret": "owner-secret-1"},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def make_device(
    client: httpx.AsyncClient, owner: TenantCtx, apn_id: str, **fields: str
) -> dict[str, str]:
    r = await client.post(
        "/api/v1/apn/devices", headers=owner.auth, json={"apn_id": apn_id, "name": "d", **fields}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def apn(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    made = await make_apn(client, owner, name=f"iso{next(_n)}.owner.cn")
    return {"apn_id": made["id"]}


async def nas(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    i = next(_n)
    made = await make_apn(client, owner, name=f"iso{i}.owner.cn")
    n = await make_nas(client, owner, made["id"], address=f"192.0.2.{i}")
    return {"apn_id": made["id"], "nas_id": n["id"]}


async def device(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    i = next(_n)
    made = await make_apn(client, owner, name=f"iso{i}.owner.cn")
    d = await make_device(client, owner, made["id"], msisdn=f"139001390{i:02d}")
    return {"device_id": d["id"]}


CASES: dict[str, Case] = {
    "/api/v1/apn/apns/{apn_id}": Case(apn, {"PATCH": {"name": "hijacked.cn"}}),
    "/api/v1/apn/apns/{apn_id}/nas": Case(
        apn, {"POST": {"address": "192.0.2.99", "secret": "hijacked-secret"}}
    ),
    "/api/v1/apn/apns/{apn_id}/nas/{nas_id}": Case(nas, {"PATCH": {"name": "hijacked"}}),
    "/api/v1/apn/devices/{device_id}": Case(device, {"PATCH": {"name": "hijacked"}}),
    "/api/v1/apn/devices/{device_id}/token": Case(device),
    "/api/v1/apn/devices/{device_id}/data": Case(device),
    "/api/v1/apn/devices/{device_id}/push": Case(device, {"POST": {"kind": "hijacked"}}),
}
