"""Topics the messages slice publishes: ids and facts, never ORM objects."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from comms.bus.topics import EventPayload
from comms.messages.models import Channel, Direction
from comms.messages.state import MessageStatus


class MessageQueued(EventPayload):
    """Work for the sender: this message waits to be handed to its provider."""

    topic: ClassVar[str] = "comms.message.queued"
    version: ClassVar[int] = 1

    message_id: uuid.UUID
    channel: Channel


class StatusChange(BaseModel):
    """One message's move from `previous` to `status` (an item of `comms.message.status`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    message_id: uuid.UUID
    conversation_id: uuid.UUID
    channel: Channel
    direction: Direction
    status: MessageStatus
    previous: MessageStatus | None
    error_code: str | None = None
    at: datetime
    # The other party (an outbound message's recipient, an inbound one's sender), so that
    # subscribers matching people (crm's timeline) need not read every message of a batch.
    counterpart: str | None = None


class MessageStatusChanged(EventPayload):
    """Status changes committed together, in order: one for a single message, up to
    `MAX_CHANGES` for a batch (a campaign chunk, a sender record, a receipt batch).

    Every change is published; batching them keeps a 100,000-SMS campaign from costing
    400,000 events and a bus delivery per subscriber each. The summary lists (`channels`,
    `directions`, `statuses`) let subscribers filter at the relay (`when={"statuses": ...}`).
    """

    topic: ClassVar[str] = "comms.message.status"
    version: ClassVar[int] = 2

    changes: list[StatusChange] = Field(min_length=1)
    channels: list[Channel]
    directions: list[Direction]
    statuses: list[MessageStatus]

    @classmethod
    def of(cls, changes: list[StatusChange]) -> MessageStatusChanged:
        return cls(
            changes=changes,
            channels=sorted({c.channel for c in changes}),
            directions=sorted({c.direction for c in changes}),
            statuses=sorted({c.status for c in changes}),
        )


MAX_CHANGES = 500  # per event: bounds the outbox row (about 300 bytes a change)


class MessageStatusChangedV1(EventPayload):
    """The single-change form published before v2; events of it still in the outbox at an
    upgrade are delivered as v2."""

    topic: ClassVar[str] = "comms.message.status"
    version: ClassVar[int] = 1

    message_id: uuid.UUID
    conversation_id: uuid.UUID
    channel: Channel
    direction: Direction
    status: MessageStatus
    previous: MessageStatus | None
    error_code: str | None = None
    at: datetime

    def upgrade(self) -> MessageStatusChanged:
        return MessageStatusChanged.of([StatusChange(**self.model_dump())])


class MessageInbound(EventPayload):
    topic: ClassVar[str] = "comms.message.inbound"
    version: ClassVar[int] = 1

    message_id: uuid.UUID
    conversation_id: uuid.UUID
    channel: Channel
    sender: str
    recipient: str
    received_at: datetime


TOPICS: list[type[EventPayload]] = [
    MessageQueued,
    MessageStatusChangedV1,
    MessageStatusChanged,
    MessageInbound,
]
