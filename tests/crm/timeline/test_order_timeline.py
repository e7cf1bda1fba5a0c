"""erp order events put one entry per order on the customer's timeline, refreshed as it moves
on, never moved back by a late event, and nothing for strangers or repeats."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from timeline_testkit import emit

from comms.hub import Hub
from crm_testkit import make_contact, timeline
from hubtest import TenantCtx

ORDER = uuid.uuid4()
PREVIOUS = {
    "confirmed": "draft",
    "shipped": "confirmed",
    "delivered": "shipped",
    "cancelled": "draft",
}


def order(verb: str, **who: Any) -> dict[str, Any]:
    return {
        "order_id": str(ORDER),
        "number": "SO-1001",
        "status": verb,
        "previous_status": PREVIOUS[verb],
        "total": 19900,
        "currency": "CNY",
        "summary": f"订单 SO-1001 {verb}",
        **who,
    }


async def orders_of(
    client: httpx.AsyncClient, t: TenantCtx, cid: str
) -> list[tuple[str, str, str]]:
    return [
        (e["ref"], e["status"], e["summary"])
        for e in await timeline(client, t, cid)
        if e["kind"] == "order"
    ]


async def test_an_order_has_one_entry_that_follows_its_status(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    c = await make_contact(client, tenant, phones=["13800138000"])
    await emit(hub, tenant, "erp.order.confirmed", order("confirmed", contact_id=c["id"]))
    assert await orders_of(client, tenant, c["id"]) == [
        ("order:SO-1001", "confirmed", "订单 SO-1001 confirmed")
    ]
    by_phone = {"contact_phone": "+8613800138000"}
    await emit(hub, tenant, "erp.order.shipped", order("shipped", **by_phone))
    await emit(hub, tenant, "erp.order.shipped", order("shipped", **by_phone))  # repeated
    await emit(hub, tenant, "erp.order.delivered", order("delivered", **by_phone))
    await emit(hub, tenant, "erp.order.shipped", order("shipped", **by_phone))  # late, older
    assert await orders_of(client, tenant, c["id"]) == [
        ("order:SO-1001", "delivered", "订单 SO-1001 delivered")
    ]


async def test_orders_of_strangers_and_other_tenants_contacts_are_ignored(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    theirs = await make_contact(client, other_tenant, phones=["13800138000"])
    mine = await make_contact(client, tenant, emails=["li@example.cn"])
    await emit(hub, tenant, "erp.order.confirmed", order("confirmed", contact_id=theirs["id"]))
    await emit(
        hub, tenant, "erp.order.confirmed", order("confirmed", contact_phone="+8613900139000")
    )
    assert await orders_of(client, other_tenant, theirs["id"]) == []
    assert await orders_of(client, tenant, mine["id"]) == []
    await emit(
        hub, tenant, "erp.order.cancelled", order("cancelled", contact_email="LI@example.cn")
    )
    assert [s for _, s, _ in await orders_of(client, tenant, mine["id"])] == ["cancelled"]
