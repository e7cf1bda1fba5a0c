"""erp order events put one entry per order on the customer's timeline, refreshed as it moves
on, never moved back by a late event, and nothing for strangers or repeats."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from timeline_testkit import emit, register_stand_ins

from comms.bus import publish
from comms.db.tenancy import scoped_to
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


async def test_a_batch_of_order_events_gives_the_same_timeline_as_one_by_one(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    wang = await make_contact(client, tenant, phones=["13800138000"])
    li = await make_contact(client, tenant, emails=["li@example.cn"])

    def for_order(number: str, verb: str, **who: Any) -> dict[str, Any]:
        return {**order(verb, **who), "number": number, "summary": f"{number} {verb}"}

    # One broker message: two orders of one customer (one moving on twice, with a late
    # event), one of another found by email, and a stranger's.
    events = [
        ("erp.order.confirmed", for_order("SO-1", "confirmed", contact_id=wang["id"])),
        ("erp.order.confirmed", for_order("SO-2", "confirmed", contact_phone="138 0013 8000")),
        ("erp.order.confirmed", for_order("SO-3", "confirmed", contact_email="LI@example.cn")),
        ("erp.order.confirmed", for_order("SO-4", "confirmed", contact_phone="+8613900139000")),
        ("erp.order.shipped", for_order("SO-1", "shipped", contact_id=wang["id"])),
        ("erp.order.delivered", for_order("SO-1", "delivered", contact_id=wang["id"])),
        ("erp.order.confirmed", for_order("SO-1", "confirmed", contact_id=wang["id"])),
    ]
    register_stand_ins(hub)
    for topic, payload in events:
        async with hub.db.session() as s:
            scoped_to(s, tenant.id)
            publish(s, topic, payload)
            await s.commit()
    await hub.relay.run_once()
    ids = hub.dispatcher.take()  # type: ignore[attr-defined]
    assert await hub.run_deliveries(ids) == len(ids)
    assert sorted(await orders_of(client, tenant, wang["id"])) == [
        ("order:SO-1", "delivered", "SO-1 delivered"),
        ("order:SO-2", "confirmed", "SO-2 confirmed"),
    ]
    assert await orders_of(client, tenant, li["id"]) == [
        ("order:SO-3", "confirmed", "SO-3 confirmed")
    ]
    # Delivered again (a later batch) the same events change nothing.
    for topic, payload in events:
        await emit(hub, tenant, topic, payload)
    assert sorted(await orders_of(client, tenant, wang["id"])) == [
        ("order:SO-1", "delivered", "SO-1 delivered"),
        ("order:SO-2", "confirmed", "SO-2 confirmed"),
    ]


async def merge(client: httpx.AsyncClient, t: TenantCtx, keep: str, dup: str) -> None:
    r = await client.post(
        f"/api/v1/crm/contacts/{keep}/merge", headers=t.auth, json={"duplicate_id": dup}
    )
    assert r.status_code == 200, r.text


async def test_orders_naming_a_merged_duplicate_follow_it_to_the_kept_contact(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    # erp keeps the duplicate's id on its orders; neither order carries a phone or email.
    keep = await make_contact(client, tenant, "Li Lei", phones=["13800138000"])
    dup = await make_contact(client, tenant, "Lei Li")
    await emit(hub, tenant, "erp.order.confirmed", order("confirmed", contact_id=dup["id"]))
    await merge(client, tenant, keep["id"], dup["id"])
    await emit(hub, tenant, "erp.order.shipped", order("shipped", contact_id=dup["id"]))
    later = {**order("confirmed", contact_id=dup["id"]), "number": "SO-2002", "summary": "SO-2002"}
    await emit(hub, tenant, "erp.order.confirmed", later)
    assert sorted(await orders_of(client, tenant, keep["id"])) == [
        ("order:SO-1001", "shipped", "订单 SO-1001 shipped"),
        ("order:SO-2002", "confirmed", "SO-2002"),
    ]
    # Merged again, into a third contact: the first duplicate's id follows along.
    third = await make_contact(client, tenant, "李雷")
    await merge(client, tenant, third["id"], keep["id"])
    await emit(hub, tenant, "erp.order.delivered", order("delivered", contact_id=dup["id"]))
    assert ("order:SO-1001", "delivered", "订单 SO-1001 delivered") in await orders_of(
        client, tenant, third["id"]
    )
