"""The order state machine: the only code that changes an order's status."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NoReturn, cast

from sqlalchemy import Insert, Select, Table, Update, bindparam, func, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus.publish import outbox_cte, published, queued
from comms.bus.topics import EventPayload
from comms.db.base import utcnow
from comms.errors import Conflict, NotFound
from erp.orders.models import Order, OrderRecord, OrderStatus, OrderTransition
from erp.stock.ledger import SYSTEM, Actor, reserve_cte

S = OrderStatus
ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.DRAFT: frozenset({S.CONFIRMED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.SHIPPED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
}
_STAMP = {
    S.CONFIRMED: "confirmed_at",
    S.SHIPPED: "shipped_at",
    S.DELIVERED: "delivered_at",
    S.CANCELLED: "cancelled_at",
}

_ORDERS = cast(Table, Order.__table__)
_LOG = cast(Table, OrderTransition.__table__)
_LOG_INSERT = insert(_LOG)
_STATUS = select(_ORDERS.c.status).where(
    _ORDERS.c.id == bindparam("b_id"), _ORDERS.c.tenant_id == bindparam("b_tenant")
)


_NOW = bindparam("b_now", type_=_ORDERS.c.updated_at.type)
_LOG_COLS = [
    "tenant_id",
    "order_id",
    "from_status",
    "to_status",
    "accepted",
    "reason",
    "actor_type",
    "actor_id",
    "at",
]


def _move(to: OrderStatus) -> Update:
    """UPDATE guarded by the status the caller read: of two concurrent moves one wins."""
    o, now = _ORDERS, _NOW
    return (
        update(o)
        .where(
            o.c.id == bindparam("b_id"),
            o.c.tenant_id == bindparam("b_tenant"),
            o.c.status == bindparam("b_from", type_=o.c.status.type),
        )
        .values({o.c.status: to, o.c.updated_at: now, o.c[_STAMP[to]]: now})
    )


def _move_and_log(to: OrderStatus) -> Insert:
    """PostgreSQL: the guarded UPDATE and its log row in one statement (a data-modifying
    CTE); the INSERT's row count says whether the order moved."""
    moved = _move(to).returning(_ORDERS.c.id, _ORDERS.c.tenant_id).cte("moved")
    return _move_and_log_rows(moved).add_cte(moved)


def _move_and_log_rows(moved: Any) -> Insert:
    """The log row of an order the `moved` CTE moved (none if it did not)."""
    row = select(
        moved.c.tenant_id,
        moved.c.id,
        bindparam("b_from_s", type_=_LOG.c.from_status.type),
        bindparam("b_to_s", type_=_LOG.c.to_status.type),
        true(),
        bindparam("b_reason", type_=_LOG.c.reason.type),
        bindparam("b_actor_type", type_=_LOG.c.actor_type.type),
        bindparam("b_actor_id", type_=_LOG.c.actor_id.type),
        _NOW,
    )
    return insert(_LOG).from_select(_LOG_COLS, row)


_MOVE = {to: _move(to) for to in _STAMP}
_MOVE_AND_LOG = {to: _move_and_log(to) for to in _STAMP}


def _confirm_reserving() -> Select[Any]:
    """PostgreSQL: confirm, log, reserve and publish a one-line order in one statement
    (data-modifying CTEs) rather than three round trips. Returns the log rows written (1: the
    order moved) and the stock rows reserved (0: not applied). One line only: a line left
    unreserved goes through `ledger.reserve` after the statement, and with several lines
    that could lock stock rows out of the (item, warehouse) order concurrent confirms
    keep, and deadlock."""
    moved = _move(S.CONFIRMED).returning(_ORDERS.c.id, _ORDERS.c.tenant_id).cte("moved")
    logged = _move_and_log_rows(moved).returning(_LOG.c.id).cte("logged")
    reserved = reserve_cte(moved)
    return select(
        select(func.count()).select_from(logged).scalar_subquery(),
        select(func.count()).select_from(reserved).scalar_subquery(),
    ).add_cte(outbox_cte(moved))


_CONFIRM_RESERVING = _confirm_reserving()


class IllegalTransition(Conflict):
    """A status change the machine does not allow (answered as 409)."""


def check(order: OrderRecord, to: OrderStatus) -> None:
    if to not in ALLOWED[order.status]:
        raise IllegalTransition(
            f"to: a {order.status.value} order cannot become {to.value}", field="to"
        )


def log(
    s: AsyncSession,
    order: OrderRecord,
    to: OrderStatus,
    *,
    accepted: bool,
    reason: str = "",
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> None:
    s.add(
        OrderTransition(
            order_id=order.id,
            from_status=order.status.value,
            to_status=to.value,
            accepted=accepted,
            reason=reason[:300],
            actor_type=actor[0],
            actor_id=actor[1],
            at=now or utcnow(),
        )
    )


async def transition(
    s: AsyncSession,
    order: OrderRecord,
    to: OrderStatus,
    *,
    reason: str = "",
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> OrderRecord:
    """Move `order` to `to` and log it; returns the order as it now is. Raises when illegal,
    also when another transaction moved it since it was read (the caller logs the refusal
    after rolling back, see `log`)."""
    now = now or utcnow()
    check(order, to)
    conn = await s.connection()
    move, entry, logged = _params(order, to, reason, actor, now)
    if conn.dialect.name == "postgresql":
        done = await conn.execute(_MOVE_AND_LOG[to], {**move, **logged})
    else:
        done = await conn.execute(_MOVE[to], move)
    if done.rowcount != 1:
        await _refuse(s, order, to)
    if conn.dialect.name != "postgresql":
        await conn.execute(_LOG_INSERT, entry)
    return _moved(order, to, now)


async def confirm_reserving(
    s: AsyncSession,
    order: OrderRecord,
    lines: Sequence[tuple[str, uuid.UUID, uuid.UUID, int]],
    event: Callable[[OrderRecord], EventPayload],
    *,
    reason: str = "",
    actor: Actor = SYSTEM,
    now: datetime,
) -> tuple[OrderRecord, list[tuple[str, uuid.UUID, uuid.UUID, int]]] | None:
    """`transition` to confirmed, the reservation of a one-line order and its `event(order
    as moved)` in one statement (PostgreSQL). Returns the order and the lines not reserved
    (no stock row yet, or not enough: the caller sends them through `ledger.reserve` for
    its row or its error), or None where it does not apply (other databases, several
    lines, events of the transaction still queued, which go to the outbox first)."""
    conn = await s.connection()
    if conn.dialect.name != "postgresql" or len(lines) != 1 or queued(s):
        return None
    check(order, S.CONFIRMED)
    after = _moved(order, S.CONFIRMED, now)
    payload = event(after)
    move, _, logged = _params(order, S.CONFIRMED, reason, actor, now)
    _, item, wh, qty = lines[0]
    params = {**move, **logged, "b_item": item, "b_wh": wh, "b_qty": qty}
    params.update(published(s, payload.topic, payload, tenant_id=order.tenant_id))
    moved, reserved = (await conn.execute(_CONFIRM_RESERVING, params)).one()
    if moved != 1:
        await _refuse(s, order, S.CONFIRMED)
    return after, [] if reserved == 1 else list(lines)


def _params(
    order: OrderRecord, to: OrderStatus, reason: str, actor: Actor, now: datetime
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Parameters of the guarded move, of its log row, and of the log row's CTE form."""
    key = {"b_id": order.id, "b_tenant": order.tenant_id}
    move = {**key, "b_from": order.status, "b_now": now}
    entry = {
        "tenant_id": order.tenant_id,
        "order_id": order.id,
        "from_status": order.status.value,
        "to_status": to.value,
        "accepted": True,
        "reason": reason[:300],
        "actor_type": actor[0],
        "actor_id": actor[1],
        "at": now,
    }
    logged = {
        "b_from_s": entry["from_status"],
        "b_to_s": entry["to_status"],
        "b_reason": entry["reason"],
        "b_actor_type": entry["actor_type"],
        "b_actor_id": entry["actor_id"],
    }
    return move, entry, logged


async def _refuse(s: AsyncSession, order: OrderRecord, to: OrderStatus) -> NoReturn:
    """The move did not apply: another transaction moved the order since it was read."""
    conn = await s.connection()
    current = await conn.scalar(_STATUS, {"b_id": order.id, "b_tenant": order.tenant_id})
    if current is None:
        raise NotFound("order not found")
    raise IllegalTransition(
        f"to: a {OrderStatus(current).value} order cannot become {to.value}", field="to"
    )


def _moved(order: OrderRecord, to: OrderStatus, now: datetime) -> OrderRecord:
    stamp: dict[str, Any] = {_STAMP[to]: now}
    return dataclasses.replace(order, status=to, updated_at=now, **stamp)
