"""Status changes with their events: the only way a message's status moves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus.publish import publish
from comms.messages.events import MessageQueued, MessageStatusChanged
from comms.messages.models import Message
from comms.messages.state import MessageStatus, transition


def publish_status(session: AsyncSession, msg: Message, previous: MessageStatus | None) -> None:
    at: datetime | None = getattr(msg, f"{msg.status.value}_at")
    assert at is not None
    publish(
        session,
        MessageStatusChanged.topic,
        MessageStatusChanged(
            message_id=msg.id,
            conversation_id=msg.conversation_id,
            channel=msg.channel,
            direction=msg.direction,
            status=msg.status,
            previous=previous,
            error_code=msg.error_code,
            at=at,
        ),
        tenant_id=msg.tenant_id,
    )


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
