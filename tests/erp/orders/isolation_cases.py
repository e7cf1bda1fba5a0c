"""Isolation cases for erp order routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import uuid

import httpx

from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case


async def make_order(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    api = "/api/v1/erp"
    item = await client.post(
        f"{api}/items", headers=owner.auth, json={"sku": f"ISO-{uuid.uuid4().hex[:8]}", "name": "x"}
    )
    wh = await client.post(
        f"{api}/warehouses",
        headers=owner.auth,
        json={"code": f"I{uuid.uuid4().hex[:8]}", "name": "x"},
    )
    line = {
        "item_id": item.json()["id"],
        "warehouse_id": wh.json()["id"],
        "qty": 1,
        "unit_price": 1,
    }
    r = await client.post(f"{api}/orders", headers=owner.auth, json={"lines": [line]})
    assert r.status_code == 201, r.text
    return {"order_id": r.json()["id"]}


CASES: dict[str, Case] = {
    "/api/v1/erp/orders/{order_id}": Case(make_order),
    "/api/v1/erp/orders/{order_id}/transitions": Case(make_order, {"POST": {"to": "cancelled"}}),
}
