"""Dead letters: deliveries whose attempts ran out, listed per tenant and replayable."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.audit import service as audit
from comms.auth.principal import Principal
from comms.bus.models import Delivery, DeliveryStatus, OutboxEvent
from comms.bus.publish import PENDING_KEY, WANTED_KEY
from comms.db.base import utcnow
from comms.errors import Conflict, NotFound


async def list_dead_letters(
    session: AsyncSession, *, limit: int = 100, after_id: int | None = None
) -> list[tuple[Delivery, OutboxEvent]]:
    q = (
        select(Delivery, OutboxEvent)
        .join(OutboxEvent, OutboxEvent.id == Delivery.event_id)
        .where(Delivery.status == DeliveryStatus.DEAD)
        .order_by(Delivery.id)
        .limit(limit)
    )
    if after_id is not None:
        q = q.where(Delivery.id > after_id)
    return [(d, e) for d, e in (await session.execute(q)).all()]


async def replay(session: AsyncSession, actor: Principal, delivery_id: int) -> Delivery:
    """Give a dead delivery a fresh set of attempts; a running relay hands it over within
    its poll interval (it sweeps for due retries once per interval)."""
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound("dead letter not found")
    if delivery.status != DeliveryStatus.DEAD:
        raise Conflict(f"delivery is {delivery.status.value}, not dead")
    delivery.status = DeliveryStatus.RETRYING
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    audit.record(
        session,
        actor,
        "bus.dead_letter.replay",
        "bus_delivery",
        delivery.id,
        {"subscriber": delivery.subscriber, "event_id": delivery.event_id},
    )
    # Relay wake-up rides on the commit hook when events are pending; mark it so.
    session.info[PENDING_KEY] = True
    session.info[WANTED_KEY] = True
    await session.commit()
    return delivery
