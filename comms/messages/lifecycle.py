"""Status changes with their events: the only way a message's status moves."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus.publish import publish, publish_many
from comms.messages.events import MAX_CHANGES, MessageQueued, MessageStatusChanged, StatusChange
from comms.messages.models import Direction, Message
from comms.messages.state import MessageStatus, transition


def change_of(msg: Message, previous: MessageStatus | None) -> StatusChange:
    """The event item for `msg`'s latest move (its `<status>_at` is the time of it)."""
    at: datetime | None = getattr(msg, f"{msg.status.value}_at")
    assert at is not None
    return StatusChange(
        message_id=msg.id,
        conversation_id=msg.conversation_id,
        channel=msg.channel,
        direction=msg.direction,
        status=msg.status,
        previous=previous,
        error_code=msg.error_code,
        at=at,
        counterpart=msg.recipient if msg.direction is Direction.OUTBOUND else msg.sender,
    )


def publish_changes(
    session: AsyncSession, tenant_id: uuid.UUID, changes: Iterable[StatusChange]
) -> None:
    """`comms.message.status` for one tenant's changes, in order, MAX_CHANGES per event."""
    items = list(changes)
    for start in range(0, len(items), MAX_CHANGES):
        publish(
            session,
            MessageStatusChanged.topic,
            MessageStatusChanged.of(items[start : start + MAX_CHANGES]),
            tenant_id=tenant_id,
        )


def publish_status(session: AsyncSession, msg: Message, previous: MessageStatus | None) -> None:
    publish_changes(session, msg.tenant_id, [change_of(msg, previous)])


class StatusBatch:
    """Collects the changes of one transaction and publishes them as few events.

    Bulk paths (a sender batch, a receipt batch, the sweep) move hundreds of messages in one
    transaction; one event per tenant for all of them is what keeps the bus, and every
    subscriber, off the per-message path."""

    def __init__(self) -> None:
        self._changes: dict[uuid.UUID, list[StatusChange]] = {}

    def change(
        self,
        msg: Message,
        to: MessageStatus,
        *,
        at: datetime | None = None,
        error_code: str | None = None,
        error_text: str | None = None,
    ) -> None:
        """Transition (refusing illegal moves) and remember the change for `publish`."""
        previous = transition(msg, to, at=at, error_code=error_code, error_text=error_text)
        self.add(msg.tenant_id, change_of(msg, previous))

    def add(self, tenant_id: uuid.UUID, change: StatusChange) -> None:
        self._changes.setdefault(tenant_id, []).append(change)

    def __len__(self) -> int:
        return sum(len(v) for v in self._changes.values())

    async def publish(self, session: AsyncSession) -> None:
        """Write the collected changes to the outbox (in the caller's transaction)."""
        for tenant_id, changes in self._changes.items():
            events = [
                MessageStatusChanged.of(changes[start : start + MAX_CHANGES])
                for start in range(0, len(changes), MAX_CHANGES)
            ]
            await publish_many(session, events, tenant_id=tenant_id)
        self._changes.clear()


def change_status(
    session: AsyncSession,
    msg: Message,
    to: MessageStatus,
    *,
    at: datetime | None = None,
    error_code: str | None = None,
    error_text: str | None = None,
) -> None:
    """Transition (refusing illegal moves) and publish `comms.message.status` in one go."""
    previous = transition(msg, to, at=at, error_code=error_code, error_text=error_text)
    publish_status(session, msg, previous)


def enqueue(session: AsyncSession, msg: Message) -> None:
    """Hand a queued message to the sender through the bus (in the caller's transaction)."""
    msg.next_attempt_at = None
    publish(
        session,
        MessageQueued.topic,
        MessageQueued(message_id=msg.id, channel=msg.channel),
        tenant_id=msg.tenant_id,
    )
