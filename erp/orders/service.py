"""Sales order use cases: create with a human number, move through the state machine."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from comms.bus import publish
from comms.bus.topics import EventPayload
from comms.db.base import new_id, utcnow
from comms.db.tenancy import current_tenant
from comms.errors import InvalidInput, NotFound
from comms.messages.addresses import normalise_email, normalise_phone
from erp.columns import insert_or_skip
from erp.orders import state
from erp.orders.events import BY_STATUS
from erp.orders.models import Order, OrderLine, OrderStatus, Sequence
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


async def get_order(s: AsyncSession, order_id: uuid.UUID) -> Order:
    # Lines joined in the same query (the relationship's own selectin load is a second one).
    order = await s.get(Order, order_id, options=[joinedload(Order.lines)])
    if order is None:
        raise NotFound("order not found")
    return order


async def order_by_number(s: AsyncSession, number: str) -> Order | None:
    found: Order | None = await s.scalar(select(Order).where(Order.number == number.strip()))
    return found


async def _stock_of(
    s: AsyncSession, order: Order
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


async def move_order(
    s: AsyncSession,
    order: Order,
    to: OrderStatus,
    *,
    actor: Actor = SYSTEM,
    reason: str = "",
    now: datetime | None = None,
) -> Order:
    """One transition with its stock effect and its event, in the caller's transaction:
    confirm reserves every line, ship issues the reservation to the ledger, cancel releases."""
    state.check(order, to)
    previous = order.status
    moves = to in (S.CONFIRMED, S.SHIPPED) or (to is S.CANCELLED and previous is S.CONFIRMED)
    stock = await _stock_of(s, order) if moves else {}
    for i, line in enumerate(order.lines if moves else []):
        item, wh = stock[(line.item_id, line.warehouse_id)]
        if to is S.CONFIRMED:
            await ledger.change(
                s, item, wh, 0, reserve=line.qty, kind=None, field=f"lines[{i}].qty"
            )
        elif to is S.SHIPPED:
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
            )
        elif to is S.CANCELLED and previous is S.CONFIRMED:
            await ledger.change(
                s, item, wh, 0, release=line.qty, guard=False, kind=None, field=f"lines[{i}].qty"
            )
    state.transition(s, order, to, reason=reason, actor=actor, now=now or utcnow())
    publish(s, BY_STATUS[to.value].topic, order_event(order, previous))
    await s.flush()
    return order


def order_event(order: Order, previous: OrderStatus) -> EventPayload:
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
