"""Sales orders: numbers, totals, and every branch of draft -> confirmed -> shipped ->
delivered | cancelled with its stock effect, its event and its transition log."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from comms.bus.models import OutboxEvent
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from erp.orders import service
from erp.orders.models import OrderStatus, OrderTransition
from erp_testkit import (
    API,
    invalid_fields,
    level,
    make_item,
    make_order,
    make_warehouse,
    published,
    receive,
    to,
)
from hubtest import TenantCtx


async def stocked(
    client: httpx.AsyncClient, t: TenantCtx, qty: int = 10, **item: Any
) -> tuple[str, str]:
    i = (await make_item(client, t, **item))["id"]
    w = (await make_warehouse(client, t))["id"]
    if qty:
        await receive(client, t, i, w, qty)
    return i, w


async def log_of(hub: Hub, t: TenantCtx, order_id: str) -> list[tuple[str, str, bool]]:
    async with hub.db.session() as s:
        scoped_to(s, t.id)
        rows = await s.scalars(
            select(OrderTransition)
            .where(OrderTransition.order_id == uuid.UUID(order_id))
            .order_by(OrderTransition.id)
        )
        return [(r.from_status, r.to_status, r.accepted) for r in rows]


async def test_orders_get_sequential_numbers_and_integer_totals(
    client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    i, w = await stocked(client, tenant)
    line = {"item_id": i, "warehouse_id": w, "qty": 3, "unit_price": 1999}
    a = await make_order(client, tenant, [line, {**line, "qty": 1, "unit_price": 5}])
    b = await make_order(client, tenant, [line])
    assert (a["number"], b["number"]) == ("SO-000001", "SO-000002")
    assert a["total"] == 3 * 1999 + 5 and a["status"] == "draft"
    assert a["contact_phone"] == "+8613800138000"
    i2, w2 = await stocked(client, other_tenant)
    c = await make_order(client, other_tenant, [{**line, "item_id": i2, "warehouse_id": w2}])
    assert c["number"] == "SO-000001"  # numbering is per tenant


async def test_bad_order_input_names_the_field(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    i, w = await stocked(client, tenant)
    line = {"item_id": i, "warehouse_id": w, "qty": 1, "unit_price": 100}
    cases = [
        ({"lines": [line, {**line, "item_id": str(uuid.uuid4())}]}, "lines[1].item_id"),
        ({"lines": [{**line, "warehouse_id": str(uuid.uuid4())}]}, "lines[0].warehouse_id"),
        ({"lines": [line], "contact_phone": "12"}, "contact_phone"),
        ({"lines": [line], "contact_email": "not-mail"}, "contact_email"),
    ]
    for body, field in cases:
        r = await client.post(f"{API}/orders", headers=tenant.auth, json=body)
        assert r.status_code == 422 and r.json()["field"] == field, (body, r.text)
    r = await client.post(
        f"{API}/orders", headers=tenant.auth, json={"lines": [{**line, "qty": 0}]}
    )
    assert invalid_fields(r) == ["body.lines.0.qty"]
    r = await client.post(
        f"{API}/orders", headers=tenant.auth, json={"lines": [line, {**line, "unit_price": -1}]}
    )
    assert invalid_fields(r) == ["body.lines.1.unit_price"]
    order = await make_order(client, tenant, [line])
    assert invalid_fields(await to(client, tenant, order["id"], "teleported")) == ["body.to"]


async def test_confirm_reserves_ship_issues_deliver_closes(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    i, w = await stocked(client, tenant, 10)
    o = await make_order(
        client, tenant, [{"item_id": i, "warehouse_id": w, "qty": 4, "unit_price": 250}]
    )
    r = await to(client, tenant, o["id"], "confirmed")
    assert r.status_code == 200 and r.json()["confirmed_at"]
    assert (
        (await level(client, tenant, i, w))["on_hand"],
        (await level(client, tenant, i, w))["reserved"],
    ) == (10, 4)
    assert (await to(client, tenant, o["id"], "shipped")).status_code == 200
    lv = await level(client, tenant, i, w)
    assert (lv["on_hand"], lv["reserved"]) == (6, 0)
    moves = await client.get(
        f"{API}/movements", headers=tenant.auth, params={"reference": o["number"]}
    )
    assert [(m["kind"], m["quantity"], m["before"], m["after"]) for m in moves.json()["items"]] == [
        ("issue", -4, 10, 6)
    ]
    assert (await to(client, tenant, o["id"], "delivered")).json()["status"] == "delivered"
    for topic, prev in (("confirmed", "draft"), ("shipped", "confirmed"), ("delivered", "shipped")):
        [ev] = await published(hub, f"erp.order.{topic}")
        assert (ev["number"], ev["status"], ev["previous_status"]) == (o["number"], topic, prev)
        assert (ev["contact_phone"], ev["contact_email"], ev["contact_name"]) == (
            "+8613800138000",
            "han@example.cn",
            "Han Meimei",
        )
        assert ev["total"] == 1000 and o["number"] in ev["summary"]
    assert await log_of(hub, tenant, o["id"]) == [
        ("draft", "confirmed", True),
        ("confirmed", "shipped", True),
        ("shipped", "delivered", True),
    ]


async def test_confirm_without_enough_stock_fails_naming_the_line_and_reserves_nothing(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    i, w = await stocked(client, tenant, 5)
    i2, w2 = await stocked(client, tenant, 1)
    lines = [
        {"item_id": i, "warehouse_id": w, "qty": 5, "unit_price": 1},
        {"item_id": i2, "warehouse_id": w2, "qty": 2, "unit_price": 1},
    ]
    o = await make_order(client, tenant, lines)
    r = await to(client, tenant, o["id"], "confirmed")
    assert r.status_code == 409 and r.json()["field"] == "lines[1].qty"
    assert (await level(client, tenant, i, w))["reserved"] == 0  # line 0 rolled back too
    assert (await client.get(f"{API}/orders/{o['id']}", headers=tenant.auth)).json()[
        "status"
    ] == "draft"
    assert await log_of(hub, tenant, o["id"]) == [("draft", "confirmed", False)]
    assert await published(hub, "erp.order.confirmed") == []


async def test_a_reservation_holds_stock_against_other_orders_and_issues(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    i, w = await stocked(client, tenant, 5)
    line = {"item_id": i, "warehouse_id": w, "qty": 4, "unit_price": 1}
    first, second = (
        await make_order(client, tenant, [line]),
        await make_order(client, tenant, [line]),
    )
    assert (await to(client, tenant, first["id"], "confirmed")).status_code == 200
    refused = await to(client, tenant, second["id"], "confirmed")
    assert refused.status_code == 409 and refused.json()["field"] == "lines[0].qty"
    assert (await level(client, tenant, i, w))["reserved"] == 4  # the first order's only
    r = await client.post(
        f"{API}/movements",
        headers=tenant.auth,
        json={"kind": "issue", "item_id": i, "warehouse_id": w, "quantity": 2},
    )
    assert r.status_code == 409 and "reserved 4" in r.json()["detail"]


async def test_an_item_allowing_negative_stock_confirms_and_ships_without_stock(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    i, w = await stocked(client, tenant, 0, allow_negative=True)
    o = await make_order(
        client, tenant, [{"item_id": i, "warehouse_id": w, "qty": 3, "unit_price": 1}]
    )
    assert (await to(client, tenant, o["id"], "confirmed")).status_code == 200
    assert (await to(client, tenant, o["id"], "shipped")).status_code == 200
    assert (await level(client, tenant, i, w))["on_hand"] == -3


async def test_cancel_releases_a_confirmed_reservation(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    i, w = await stocked(client, tenant, 10)
    o = await make_order(
        client, tenant, [{"item_id": i, "warehouse_id": w, "qty": 6, "unit_price": 1}]
    )
    await to(client, tenant, o["id"], "confirmed")
    r = await to(client, tenant, o["id"], "cancelled")
    assert r.status_code == 200 and r.json()["cancelled_at"]
    lv = await level(client, tenant, i, w)
    assert (lv["on_hand"], lv["reserved"]) == (10, 0)
    [ev] = await published(hub, "erp.order.cancelled")
    assert ev["previous_status"] == "confirmed"


async def test_a_draft_cancels_without_touching_stock(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    i, w = await stocked(client, tenant, 2)
    o = await make_order(
        client, tenant, [{"item_id": i, "warehouse_id": w, "qty": 1, "unit_price": 1}]
    )
    assert (await to(client, tenant, o["id"], "cancelled")).status_code == 200
    lv = await level(client, tenant, i, w)
    assert (lv["on_hand"], lv["reserved"]) == (2, 0)


async def test_illegal_transitions_answer_409_and_are_logged(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    i, w = await stocked(client, tenant, 10)
    line = {"item_id": i, "warehouse_id": w, "qty": 1, "unit_price": 1}
    o = await make_order(client, tenant, [line])
    for bad in ("shipped", "delivered", "draft"):
        r = await to(client, tenant, o["id"], bad)
        assert r.status_code == 409 and r.json()["field"] == "to", bad
    await to(client, tenant, o["id"], "confirmed")
    await to(client, tenant, o["id"], "shipped")
    r = await to(client, tenant, o["id"], "cancelled")  # shipped goods are not cancelled
    assert r.status_code == 409 and "shipped order cannot become cancelled" in r.json()["detail"]
    await to(client, tenant, o["id"], "delivered")
    for bad in ("cancelled", "shipped", "confirmed"):
        assert (await to(client, tenant, o["id"], bad)).status_code == 409
    cancelled = await make_order(client, tenant, [line])
    await to(client, tenant, cancelled["id"], "cancelled")
    assert (await to(client, tenant, cancelled["id"], "confirmed")).status_code == 409
    refused = [x for x in await log_of(hub, tenant, o["id"]) if not x[2]]
    assert len(refused) == 7
    assert (await level(client, tenant, i, w))["on_hand"] == 9


async def test_after_a_short_recount_an_order_still_ships_what_the_shelf_holds(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    i, w = await stocked(client, tenant, 4)
    line = {"item_id": i, "warehouse_id": w, "qty": 2, "unit_price": 1}
    a, b = await make_order(client, tenant, [line]), await make_order(client, tenant, [line])
    for o in (a, b):
        assert (await to(client, tenant, o["id"], "confirmed")).status_code == 200
    r = await client.post(
        f"{API}/movements",
        headers=tenant.auth,
        json={"kind": "stocktake", "item_id": i, "warehouse_id": w, "counted": 3},
    )
    assert r.status_code == 201
    assert (await to(client, tenant, a["id"], "shipped")).status_code == 200
    short = await to(client, tenant, b["id"], "shipped")
    assert short.status_code == 409 and short.json()["field"] == "lines[0].qty"
    lv = await level(client, tenant, i, w)
    assert (lv["on_hand"], lv["reserved"]) == (1, 2)
    listed = await client.get(
        f"{API}/orders",
        headers=tenant.auth,
        params={"contact_phone": "138 0013 8000", "status": "shipped"},
    )
    assert [o["number"] for o in listed.json()["items"]] == [a["number"]]


async def test_orders_confirmed_in_one_transaction_publish_in_confirm_order(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    # The two-line order's event is queued until the commit; the one-line order's would be
    # written by its own statement (PostgreSQL) unless queued events go first.
    i, w = await stocked(client, tenant)
    line = {"item_id": i, "warehouse_id": w, "qty": 1, "unit_price": 5}
    two = await make_order(client, tenant, [line, {**line, "qty": 2}])
    one = await make_order(client, tenant, [line])
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        for o in (two, one):
            order = await service.get_order(s, uuid.UUID(o["id"]))
            await service.move_order(s, order, OrderStatus.CONFIRMED)
        await s.commit()
    async with hub.db.session() as s:
        unscoped(s)
        topics = list(
            await s.execute(
                select(OutboxEvent.topic, OutboxEvent.payload["number"].as_string())
                .where(OutboxEvent.topic.like("erp.order.%"))
                .order_by(OutboxEvent.id)
            )
        )
    assert [tuple(r) for r in topics] == [
        ("erp.order.confirmed", two["number"]),
        ("erp.order.confirmed", one["number"]),
    ]
    assert (await level(client, tenant, i, w))["reserved"] == 4
