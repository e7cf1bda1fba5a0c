"""Bus subscribers: a device's delivery confirmation closes a shipped order."""

from __future__ import annotations

import logging
from typing import Any

from comms.bus import Event, HandlerContext, SubscriberSet
from erp.orders import service
from erp.orders.models import OrderStatus

log = logging.getLogger(__name__)
subs = SubscriberSet("erp.orders")

# Named, not imported: erp must not import telephony (the APN device API publishes it).
DELIVERY_CONFIRMED = "apn.delivery.confirmed"


@subs.on(DELIVERY_CONFIRMED, name="delivery_confirmed")
async def delivery_confirmed(ctx: HandlerContext, event: Event[Any]) -> None:
    """shipped -> delivered; a repeat is a no-op, an unknown or unshipped order is logged and
    dropped (raising would only retry a confirmation that can never apply)."""
    p = event.payload
    order = await service.order_by_number(ctx.session, p.order_number)
    if order is None:
        log.warning(
            "delivery confirmed for unknown order %r (device %s)", p.order_number, p.device_id
        )
        return
    if order.status is OrderStatus.DELIVERED:
        return
    if order.status is not OrderStatus.SHIPPED:
        log.warning(
            "delivery confirmed for order %s which is %s, not shipped; ignored",
            order.number,
            order.status.value,
        )
        return
    where = f" at {p.latitude:.5f},{p.longitude:.5f}" if p.latitude is not None else ""
    reason = f"confirmed by device {p.device_id}{where}"
    if p.recipient:
        reason += f", received by {p.recipient}"
    await service.move_order(ctx.session, order, OrderStatus.DELIVERED, reason=reason, now=p.at)
