"""Orders confirmed at once from many connections: the stock is never oversold and one
order is confirmed once, whatever the interleaving (PostgreSQL runs them truly in parallel)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from comms.bus.publish import TOPICS_KEY
from comms.db.engine import Database
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from erp.orders import service, state
from erp.orders.models import OrderStatus, OrderTransition
from erp.stock.ledger import NotEnoughStock
from erp_testkit import level, make_item, make_order, make_warehouse, published, receive
from hubtest import TenantCtx

ORDERS = 12
STOCK = 7


async def confirm(db: Database, t: TenantCtx, order_id: str) -> str:
    """'ok', 'short' or 'illegal': how one confirmation ended."""
    async with db.session() as s:
        scoped_to(s, t.id)
        order = await service.get_order(s, uuid.UUID(order_id))
        try:
            await service.move_order(s, order, OrderStatus.CONFIRMED)
        except NotEnoughStock:
            await s.rollback()
            return "short"
        except state.IllegalTransition:
            await s.rollback()
            return "illegal"
        await s.commit()
        return "ok"


async def one_line_order(
    client: httpx.AsyncClient, t: TenantCtx, on_hand: int, qty: int
) -> tuple[str, str, dict[str, Any]]:
    """An item with `on_hand` in a new warehouse and a draft order of `qty` of it."""
    i = (await make_item(client, t))["id"]
    w = (await make_warehouse(client, t))["id"]
    await receive(client, t, i, w, on_hand)
    line = {"item_id": i, "warehouse_id": w, "qty": qty, "unit_price": 1}
    return i, w, await make_order(client, t, [line])


async def test_concurrent_confirms_never_reserve_more_than_is_on_hand(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    i = (await make_item(client, tenant))["id"]
    w = (await make_warehouse(client, tenant))["id"]
    await receive(client, tenant, i, w, STOCK)
    line = {"item_id": i, "warehouse_id": w, "qty": 1, "unit_price": 100}
    orders = [(await make_order(client, tenant, [line]))["id"] for _ in range(ORDERS)]
    db = Database(hub.settings.database_url, info={TOPICS_KEY: hub.topics}, pool_size=ORDERS)
    try:
        ends = await asyncio.gather(*(confirm(db, tenant, o) for o in orders))
    finally:
        await db.dispose()
    assert sorted(ends) == ["ok"] * STOCK + ["short"] * (ORDERS - STOCK)
    lv = await level(client, tenant, i, w)
    assert (lv["on_hand"], lv["reserved"]) == (STOCK, STOCK)
    assert len(await published(hub, "erp.order.confirmed")) == STOCK


async def test_one_order_confirmed_twice_at_once_is_confirmed_and_reserved_once(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    i, w, o = await one_line_order(client, tenant, 10, 3)
    db = Database(hub.settings.database_url, info={TOPICS_KEY: hub.topics}, pool_size=4)
    try:
        ends = await asyncio.gather(*(confirm(db, tenant, o["id"]) for _ in range(4)))
    finally:
        await db.dispose()
    assert sorted(ends) == ["illegal"] * 3 + ["ok"]
    assert (await level(client, tenant, i, w))["reserved"] == 3
    assert len(await published(hub, "erp.order.confirmed")) == 1
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        logged = await s.scalar(
            select(func.count()).where(OrderTransition.order_id == uuid.UUID(o["id"]))
        )
    assert logged == 1


async def test_an_order_of_another_tenant_is_not_found_and_not_moved(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    i, w, o = await one_line_order(client, tenant, 5, 1)
    r = await client.post(
        f"/api/v1/erp/orders/{o['id']}/transitions",
        headers=other_tenant.auth,
        json={"to": "confirmed"},
    )
    assert r.status_code == 404
    assert (await level(client, tenant, i, w))["reserved"] == 0


async def test_a_confirm_refused_as_stale_writes_no_event_even_if_its_caller_commits(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    # On PostgreSQL a one-line confirm writes its event in the statement that moves the
    # order; the event row must depend on the move, not on the caller rolling back.
    i, w, o = await one_line_order(client, tenant, 5, 1)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        stale = await service.get_order(s, uuid.UUID(o["id"]))
    assert await confirm(hub.db, tenant, o["id"]) == "ok"
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        try:
            await service.move_order(s, stale, OrderStatus.CONFIRMED)
        except state.IllegalTransition:
            pass
        else:
            raise AssertionError("a stale confirm went through")
        await s.commit()
    assert [e["order_id"] for e in await published(hub, "erp.order.confirmed")] == [o["id"]]
    assert (await level(client, tenant, i, w))["reserved"] == 1


async def ship(db: Database, t: TenantCtx, order_id: str, to: OrderStatus) -> None:
    async with db.session() as s:
        scoped_to(s, t.id)
        order = await service.get_order(s, uuid.UUID(order_id))
        await service.move_order(s, order, to)
        await s.commit()


async def test_orders_with_lines_in_opposite_orders_ship_and_cancel_at_once_without_deadlock(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    i, j = (await make_item(client, tenant))["id"], (await make_item(client, tenant))["id"]
    w = (await make_warehouse(client, tenant))["id"]
    for item in (i, j):
        await receive(client, tenant, item, w, 4 * ORDERS)
    one, two = ({"item_id": item, "warehouse_id": w, "qty": 1, "unit_price": 1} for item in (i, j))
    orders = [
        (await make_order(client, tenant, [one, two] if n % 2 else [two, one]))["id"]
        for n in range(ORDERS)
    ]
    for o in orders:
        assert await confirm(hub.db, tenant, o) == "ok"
    moves = [OrderStatus.SHIPPED if n % 3 else OrderStatus.CANCELLED for n in range(ORDERS)]
    db = Database(hub.settings.database_url, info={TOPICS_KEY: hub.topics}, pool_size=ORDERS)
    try:
        await asyncio.gather(*(ship(db, tenant, o, m) for o, m in zip(orders, moves, strict=True)))
    finally:
        await db.dispose()
    shipped = moves.count(OrderStatus.SHIPPED)
    for item in (i, j):
        lv = await level(client, tenant, item, w)
        assert (lv["on_hand"], lv["reserved"]) == (4 * ORDERS - shipped, 0)
