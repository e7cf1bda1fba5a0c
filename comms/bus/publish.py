"""publish(): write an event to the outbox inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from comms.bus.models import OutboxEvent
from comms.bus.topics import EventPayload, TopicRegistry
from comms.db.base import utcnow
from comms.db.tenancy import TenantScopeError, current_tenant

# Keys in session.info: the sessionmaker of a running hub puts the topic registry and the
# relay's wake-up there, so publish() needs nothing but the session it writes with.
TOPICS_KEY = "bus.topics"
WAKE_KEY = "bus.wake"
PENDING_KEY = "bus.pending"
OUTBOX = cast(Table, OutboxEvent.__table__)


def publish(
    session: AsyncSession,
    topic: str,
    payload: EventPayload | dict[str, Any],
    *,
    tenant_id: uuid.UUID | None = None,
) -> OutboxEvent:
    """Add `topic` to the outbox; it exists only if the caller's transaction commits."""
    topics: TopicRegistry | None = session.info.get(TOPICS_KEY)
    if topics is None:
        raise RuntimeError("session has no topic registry; open it from the hub's Database")
    model = topics.validate(topic, payload)
    tid = tenant_id or current_tenant(session)
    if tid is None:
        raise TenantScopeError(f"event {topic!r} published with no tenant")
    row = OutboxEvent(
        tenant_id=tid,
        topic=topic,
        version=type(model).version,
        payload=model.model_dump(mode="json"),
    )
    session.add(row)
    session.info[PENDING_KEY] = True
    return row


async def publish_many(
    session: AsyncSession, payloads: Sequence[EventPayload], *, tenant_id: uuid.UUID
) -> None:
    """`publish` for many events of one tenant with one Core INSERT (the bulk paths: a
    campaign chunk, a sender record, a receipt batch), without an ORM object per event."""
    if not payloads:
        return
    topics: TopicRegistry | None = session.info.get(TOPICS_KEY)
    if topics is None:
        raise RuntimeError("session has no topic registry; open it from the hub's Database")
    rows = [
        {
            "tenant_id": tenant_id,
            "topic": model.topic,
            "version": model.version,
            "payload": model.model_dump(mode="json"),
            "created_at": utcnow(),
        }
        for model in (topics.validate(p.topic, p) for p in payloads)
    ]
    if any(isinstance(obj, OutboxEvent) for obj in session.new):
        # Events published earlier in this transaction keep their place in the outbox.
        await session.flush()
    await session.execute(insert(OUTBOX), rows)
    session.info[PENDING_KEY] = True


@sa_event.listens_for(Session, "after_commit")
def _wake_relay(session: Session) -> None:
    # Commit-then-emit: only after the commit is the event real, so only now poke the relay.
    # SQLAlchemy also calls this when a savepoint is released (a bus handler's): the events
    # are not visible yet, so keep the mark for the outer commit.
    if session.in_nested_transaction():
        return
    if session.info.pop(PENDING_KEY, False):
        wake: Callable[[], None] | None = session.info.get(WAKE_KEY)
        if wake is not None:
            wake()


@sa_event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint's rollback; the outer transaction's events may still commit
    session.info.pop(PENDING_KEY, None)
