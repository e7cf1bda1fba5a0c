"""Isolation cases for erp stock routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import uuid

import httpx

from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case


async def make_item(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    body = {"sku": f"ISO-{uuid.uuid4().hex[:8]}", "name": "isolated item"}
    r = await client.post("/api/v1/erp/items", headers=owner.auth, json=body)
    assert r.status_code == 201, r.text
    return {"item_id": r.json()["id"]}


async def make_warehouse(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    body = {"code": f"ISO-{uuid.uuid4().hex[:8]}", "name": "isolated warehouse"}
    r = await client.post("/api/v1/erp/warehouses", headers=owner.auth, json=body)
    assert r.status_code == 201, r.text
    return {"warehouse_id": r.json()["id"]}


CASES: dict[str, Case] = {
    "/api/v1/erp/items/{item_id}": Case(make_item, {"PATCH": {"name": "hijacked"}}),
    "/api/v1/erp/warehouses/{warehouse_id}": Case(make_warehouse, {"PATCH": {"name": "hijacked"}}),
}
