"""Stand-ins for topics other branches own (erp orders, telephony voicemail), shaped by the
contracts crm subscribes to. Registered only where the real package does not register the
topic, so once erp or telephony ships it these tests run against the real payload class."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from comms.bus import publish
from comms.bus.topics import EventPayload
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx, drain


class _Order(EventPayload):
    order_id: uuid.UUID
    number: str
    status: str
    previous_status: str
    total: int  # fen
    currency: str = "CNY"
    contact_id: uuid.UUID | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    summary: str


class OrderConfirmed(_Order):
    topic: ClassVar[str] = "erp.order.confirmed"


class OrderShipped(_Order):
    topic: ClassVar[str] = "erp.order.shipped"


class OrderDelivered(_Order):
    topic: ClassVar[str] = "erp.order.delivered"


class OrderCancelled(_Order):
    topic: ClassVar[str] = "erp.order.cancelled"


class VoicemailRecorded(EventPayload):
    topic: ClassVar[str] = "telephony.voicemail.recorded"

    voicemail_id: uuid.UUID
    call_id: uuid.UUID | None
    mailbox_member_id: uuid.UUID | None
    caller: str
    callee: str
    recorded_at: datetime
    duration_seconds: int
    recording: str


STAND_INS = [OrderConfirmed, OrderShipped, OrderDelivered, OrderCancelled, VoicemailRecorded]


def register_stand_ins(hub: Hub) -> None:
    for cls in STAND_INS:
        if cls.topic not in hub.topics:
            hub.topics.register(cls)


async def emit(hub: Hub, t: TenantCtx, topic: str, payload: dict[str, Any]) -> None:
    """Publish as the owning package would (its own transaction), then run the bus."""
    register_stand_ins(hub)
    async with hub.db.session() as s:
        scoped_to(s, t.id)
        publish(s, topic, payload)
        await s.commit()
    await drain(hub)
