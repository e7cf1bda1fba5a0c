"""Sales order use cases: create with a human number, move through the state machine."""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus import publish
from comms.bus.topics import EventPayload
from comms.db.base import new_id, utcnow
from comms.db.tenancy import UNSCOPED_KEY, TenantScopeError, current_tenant
from comms.errors import InvalidInput, NotFound
from comms.messages.addresses import normalise_email, normalise_phone
from erp.columns import insert_or_skip
from erp.orders import state
from erp.orders.events import BY_STATUS
from erp.orders.models import (
    LineRecord,
    Order,
    OrderLine,
    OrderRecord,
    OrderStatus,
    Sequence,
)
from erp.orders.schemas import OrderIn
from erp.stock import ledger
from erp.stock.ledger import SYSTEM, Actor
from erp.stock.models import Item, MovementKind, Warehouse

S = OrderStatus
NUMBER_PREFIX = "SO-"


async def next_value(s: AsyncSession, name: str) -> int:
    """The tenant's next counter value; concurrent callers get distinct values."""
    values = {"id": new_id(), "tenant_id": current_tenant(s), "name": name, "value": 0}
    await insert_or_skip(s, Sequence, values, ["tenant_id", "name"])
    value = await s.scalar(
        update(Sequence)
        .where(Sequence.name == name)
        .values(value=Sequence.value + 1)
        .returning(Sequence.value)
        .execution_options(synchronize_session=False)
    )
    assert value is not None
    return int(value)


async def create_order(s: AsyncSession, body: OrderIn) -> Order:
    phone = normalise_phone(body.contact_phone, "contact_phone") if body.contact_phone else None
    email = normalise_email(body.contact_email, "contact_email") if body.contact_email else None
    order = Order(
        number=f"{NUMBER_PREFIX}{await next_value(s, 'order'):06d}",
        status=S.DRAFT,
        contact_id=body.contact_id,
        contact_name=body.contact_name,
        contact_phone=phone,
        contact_email=email,
        currency=body.currency,
        note=body.note,
    )
    total = 0
    for i, line in enumerate(body.lines):
        if await s.get(Item, line.item_id) is None:
            raise InvalidInput(f"lines[{i}].item_id: no such item", field=f"lines[{i}].item_id")
        if await s.get(Warehouse, line.warehouse_id) is None:
            raise InvalidInput(
                f"lines[{i}].warehouse_id: no such warehouse", field=f"lines[{i}].warehouse_id"
            )
        amount = line.qty * line.unit_price
        total += amount
        order.lines.append(
            OrderLine(
                position=i,
                item_id=line.item_id,
                warehouse_id=line.warehouse_id,
                qty=line.qty,
                unit_price=line.unit_price,
                line_total=amount,
            )
        )
    order.total = total
    s.add(order)
    await s.flush()
    return order


_ORDERS = cast(Table, Order.__table__)
_LINES = cast(Table, OrderLine.__table__)
_ORDER_COLS = [_ORDERS.c[f.name] for f in fields(OrderRecord) if f.name != "lines"]
_LINE_COLS = [_LINES.c[f.name] for f in fields(LineRecord)]
_READ = (
    select(*_ORDER_COLS, *_LINE_COLS)
    .select_from(_ORDERS.outerjoin(_LINES, _LINES.c.order_id == _ORDERS.c.id))
    .order_by(_LINES.c.position)
)
_RECORD: Any = OrderRecord  # built positionally from the row, in field order
_IN_TENANT = _ORDERS.c.tenant_id == bindparam("b_tenant")
_BY_ID = _READ.where(_ORDERS.c.id == bindparam("b_id"))
_BY_NUMBER = _READ.where(_ORDERS.c.number == bindparam("b_number"))
_QUERIES = {
    (key, scoped): q.where(_IN_TENANT) if scoped else q
    for key, q in (("b_id", _BY_ID), ("b_number", _BY_NUMBER))
    for scoped in (True, False)
}


async def _read(s: AsyncSession, key: str, value: object) -> OrderRecord | None:
    """The order with its lines in one Core SELECT, within the session's tenant."""
    tid = current_tenant(s)
    if tid is None and not s.info.get(UNSCOPED_KEY):
        raise TenantScopeError("query on tenant-owned data from a session with no tenant")
    params = {key: value} if tid is None else {key: value, "b_tenant": tid}
    rows = (await (await s.connection()).execute(_QUERIES[(key, tid is not None)], params)).all()
    if not rows:
        return None
    n = len(_ORDER_COLS)
    lines = tuple(LineRecord(*r[n:]) for r in rows if r[n] is not None)
    record: OrderRecord = _RECORD(*rows[0][:n], lines)
    return record


async def get_order(s: AsyncSession, order_id: uuid.UUID) -> OrderRecord:
    order = await _read(s, "b_id", order_id)
    if order is None:
        raise NotFound("order not found")
    return order


async def order_by_number(s: AsyncSession, number: str) -> OrderRecord | None:
    return await _read(s, "b_number", number.strip())


async def _stock_of(
    s: AsyncSession, order: OrderRecord
) -> dict[tuple[uuid.UUID, uuid.UUID], tuple[Item, Warehouse]]:
    """Every line's item and warehouse in one query (rather than two per line)."""
    rows = await s.execute(
        select(Item, Warehouse)
        .select_from(OrderLine)
        .join(Item, Item.id == OrderLine.item_id)
        .join(Warehouse, Warehouse.id == OrderLine.warehouse_id)
        .where(OrderLine.order_id == order.id)
    )
    found = {(item.id, wh.id): (item, wh) for item, wh in rows}
    # RESTRICT foreign keys keep them
    assert {(x.item_id, x.warehouse_id) for x in order.lines} <= found.keys()
    return found


async def _confirm(
    s: AsyncSession, order: OrderRecord, *, reason: str, actor: Actor, now: datetime
) -> tuple[OrderRecord, bool]:
    """Confirm and reserve every line: in one statement with the event where
    `state.confirm_reserving` applies, else the move and then `ledger.reserve`, which also
    takes what that statement could not reserve (a missing stock row, not enough stock).
    Returns the order as moved and whether its event is written."""
    lines = [
        (f"lines[{i}].qty", line.item_id, line.warehouse_id, line.qty)
        for i, line in enumerate(order.lines)
    ]
    merged = await state.confirm_reserving(
        s,
        order,
        lines,
        lambda moved: order_event(moved, order.status),
        reason=reason,
        actor=actor,
        now=now,
    )
    if merged is None:
        moved = await state.transition(s, order, S.CONFIRMED, reason=reason, actor=actor, now=now)
    else:
        moved, lines = merged
    await ledger.reserve(s, order.tenant_id, lines, now)
    return moved, merged is not None


async def move_order(
    s: AsyncSession,
    order: OrderRecord,
    to: OrderStatus,
    *,
    actor: Actor = SYSTEM,
    reason: str = "",
    now: datetime | None = None,
) -> OrderRecord:
    """One transition with its stock effect and its event, in the caller's transaction:
    confirm reserves every line, ship issues the reservation to the ledger, cancel releases.
    Returns the order as moved."""
    state.check(order, to)
    now = now or utcnow()
    previous = order.status
    # The status first: its guarded UPDATE locks the order row, so a concurrent move of the
    # same order waits here and is refused before touching any stock.
    published = False
    if to is S.CONFIRMED:
        moved, published = await _confirm(s, order, reason=reason, actor=actor, now=now)
    else:
        moved = await state.transition(s, order, to, reason=reason, actor=actor, now=now)
    if to is S.SHIPPED or (to is S.CANCELLED and previous is S.CONFIRMED):
        stock = await _stock_of(s, order)
        # Stock rows in (item, warehouse) order, as `ledger.reserve` and transfers take them:
        # two orders listing the same items in opposite orders would otherwise deadlock.
        lines = sorted(enumerate(order.lines), key=lambda x: (x[1].item_id, x[1].warehouse_id))
        for i, line in lines:
            item, wh = stock[(line.item_id, line.warehouse_id)]
            if to is S.SHIPPED:
                await ledger.change(
                    s,
                    item,
                    wh,
                    -line.qty,
                    release=line.qty,
                    kind=MovementKind.ISSUE,
                    field=f"lines[{i}].qty",
                    reason=f"order {order.number} shipped",
                    reference=order.number,
                    actor=actor,
                    now=now,
                )
            else:
                await ledger.change(
                    s,
                    item,
                    wh,
                    0,
                    release=line.qty,
                    guard=False,
                    kind=None,
                    field=f"lines[{i}].qty",
                    now=now,
                )
        await s.flush()
    if not published:
        publish(s, BY_STATUS[to.value].topic, order_event(moved, previous))
    return moved


def order_event(order: OrderRecord, previous: OrderStatus) -> EventPayload:
    cls = BY_STATUS[order.status.value]
    who = order.contact_name or order.contact_phone or "customer"
    return cls(
        order_id=order.id,
        number=order.number,
        status=order.status.value,
        previous_status=previous.value,
        total=order.total,
        currency=order.currency,
        contact_id=order.contact_id,
        contact_name=order.contact_name or None,
        contact_phone=order.contact_phone,
        contact_email=order.contact_email,
        summary=(
            f"Order {order.number} for {who} is {order.status.value} "
            f"({order.total / 100:.2f} {order.currency})"
        ),
    )
