"""The screen pop lists the caller's recent orders as the erp package records them (real
orders made through the erp API, answered through the `erp.recent_orders` query)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from console_testkit import make_contact, make_person

from comms.hub import Hub
from hubtest import TenantCtx

ERP = "/api/v1/erp"
CALLER = "+8613800138000"


async def order_for(
    client: httpx.AsyncClient, t: TenantCtx, phone: str, qty: int, unit_price: int
) -> dict[str, Any]:
    """A stocked item, then a draft order for `phone` (printed as the customer gave it)."""
    item = await client.post(
        f"{ERP}/items",
        headers=t.auth,
        json={"sku": f"SKU-{uuid.uuid4().hex[:6]}", "name": "AX3000"},
    )
    assert item.status_code == 201, item.text
    wh = await client.post(
        f"{ERP}/warehouses",
        headers=t.auth,
        json={"code": f"WH-{uuid.uuid4().hex[:4]}", "name": "Shenzhen DC"},
    )
    assert wh.status_code == 201, wh.text
    ids = {"item_id": item.json()["id"], "warehouse_id": wh.json()["id"]}
    r = await client.post(
        f"{ERP}/movements",
        headers=t.auth,
        json={"kind": "receipt", **ids, "quantity": 50, "reason": "initial"},
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"{ERP}/orders",
        headers=t.auth,
        json={
            "contact_name": "Han Meimei",
            "contact_phone": phone,
            "lines": [{**ids, "qty": qty, "unit_price": unit_price}],
        },
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_the_pop_shows_the_callers_erp_orders_newest_first_and_only_this_tenants(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    assert "erp.recent_orders" in hub.queries  # answered by the installed erp package
    await make_contact(client, tenant, "Han Meimei", phones=[CALLER])
    first = await order_for(client, tenant, "138 0013 8000", qty=2, unit_price=1999)
    second = await order_for(client, tenant, CALLER, qty=1, unit_price=500)
    r = await client.post(
        f"{ERP}/orders/{second['id']}/transitions", headers=tenant.auth, json={"to": "confirmed"}
    )
    assert r.status_code == 200, r.text
    await order_for(client, other_tenant, CALLER, qty=9, unit_price=9)
    agent = await make_person(client, tenant, "agent", "pop")

    r = await client.get(f"/api/v1/console/pop/{CALLER}", headers=agent.auth)
    assert r.status_code == 200, r.text
    pop = r.json()
    assert pop["contact"]["name"] == "Han Meimei"
    got = [(o["number"], o["status"], o["total"], o["currency"]) for o in pop["orders"]]
    assert got == [
        (second["number"], "confirmed", 500, "CNY"),
        (first["number"], "draft", 2 * 1999, "CNY"),
    ]

    stranger = await client.get("/api/v1/console/pop/+8613900000000", headers=agent.auth)
    assert stranger.status_code == 200 and stranger.json()["orders"] == []
