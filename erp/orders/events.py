"""Topics the orders slice publishes: one per state an order reaches."""

from __future__ import annotations

import uuid
from typing import ClassVar

from comms.bus.topics import EventPayload


class _OrderEvent(EventPayload):
    order_id: uuid.UUID
    number: str
    status: str
    previous_status: str
    total: int  # fen
    currency: str
    contact_id: uuid.UUID | None = None
    contact_name: str | None = None
    contact_phone: str | None = None  # E.164
    contact_email: str | None = None
    summary: str


class OrderConfirmed(_OrderEvent):
    topic: ClassVar[str] = "erp.order.confirmed"
    version: ClassVar[int] = 1


class OrderShipped(_OrderEvent):
    topic: ClassVar[str] = "erp.order.shipped"
    version: ClassVar[int] = 1


class OrderDelivered(_OrderEvent):
    topic: ClassVar[str] = "erp.order.delivered"
    version: ClassVar[int] = 1


class OrderCancelled(_OrderEvent):
    topic: ClassVar[str] = "erp.order.cancelled"
    version: ClassVar[int] = 1


TOPICS: list[type[EventPayload]] = [OrderConfirmed, OrderShipped, OrderDelivered, OrderCancelled]
BY_STATUS: dict[str, type[_OrderEvent]] = {
    "confirmed": OrderConfirmed,
    "shipped": OrderShipped,
    "delivered": OrderDelivered,
    "cancelled": OrderCancelled,
}
