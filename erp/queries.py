"""Questions erp answers for other packages through the hub's query registry (comms/queries.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.errors import InvalidInput
from comms.messages.addresses import normalise_phone
from erp.orders.models import Order
from erp.orders.service import NUMBER_PREFIX, order_by_number

RECENT_ORDERS = 5


MAX_NUMBER_DIGITS = 12  # longer digit strings are no order of ours (and no huge int)


def order_number(typed: str) -> str | None:
    """The order number a caller means: `SO-000001` as written, or just its digits as typed
    on a phone keypad (`000001`, `1`), which cannot type the prefix; None for nothing."""
    number = typed.strip().upper()
    if number.isdecimal() and number.isascii():
        if len(number) > MAX_NUMBER_DIGITS:
            return None
        return f"{NUMBER_PREFIX}{int(number):06d}"
    return number or None


async def order_status(s: AsyncSession, args: Mapping[str, str]) -> str | None:
    """ "where is my order": the order's status word ("shipped"), or None if unknown.
    `number` is the full number or its digits alone (see `order_number`)."""
    number = order_number(args.get("number") or "")
    if number is None:
        return None
    order = await order_by_number(s, number)
    return None if order is None else order.status.value


async def recent_orders(s: AsyncSession, args: Mapping[str, str]) -> list[dict[str, Any]]:
    """The caller's latest orders, newest first (IVR and the console's screen pop)."""
    try:
        phone = normalise_phone(args.get("phone") or "", "phone")
    except InvalidInput:
        return []
    rows = await s.scalars(
        select(Order)
        .where(Order.contact_phone == phone)
        .order_by(Order.created_at.desc(), Order.number.desc())
        .limit(RECENT_ORDERS)
    )
    return [
        {
            "number": o.number,
            "status": o.status.value,
            "total": o.total,
            "currency": o.currency,
            "created_at": o.created_at.isoformat(),
        }
        for o in rows
    ]


QUERIES = {"erp.order_status": order_status, "erp.recent_orders": recent_orders}
