"""The order state machine: the only code that changes an order's status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.base import utcnow
from comms.errors import Conflict
from erp.orders.models import Order, OrderStatus, OrderTransition
from erp.stock.ledger import SYSTEM, Actor

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


class IllegalTransition(Conflict):
    """A status change the machine does not allow (answered as 409)."""


def check(order: Order, to: OrderStatus) -> None:
    if to not in ALLOWED[order.status]:
        raise IllegalTransition(
            f"to: a {order.status.value} order cannot become {to.value}", field="to"
        )


def log(
    s: AsyncSession,
    order: Order,
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


def transition(
    s: AsyncSession,
    order: Order,
    to: OrderStatus,
    *,
    reason: str = "",
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> OrderStatus:
    """Move `order` to `to` and log it; returns the previous status. Raises when illegal
    (the caller logs the refusal after rolling back, see `log`)."""
    now = now or utcnow()
    check(order, to)
    old = order.status
    log(s, order, to, accepted=True, reason=reason, actor=actor, now=now)
    order.status = to
    order.updated_at = now
    setattr(order, _STAMP[to], now)
    return old
