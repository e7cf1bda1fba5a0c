"""Topics the messages slice publishes: ids and facts, never ORM objects."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from comms.bus.topics import EventPayload
from comms.messages.models import Channel, Direction
from comms.messages.state import MessageStatus


class MessageQueued(EventPayload):
    """Work for the sender: this message waits to be handed to its provider."""

    topic: ClassVar[str] = "comms.message.queued"
    version: ClassVar[int] = 1

    message_id: uuid.UUID
    channel: Channel


class MessageStatusChanged(EventPayload):
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


class MessageInbound(EventPayload):
    topic: ClassVar[str] = "comms.message.inbound"
    version: ClassVar[int] = 1

    message_id: uuid.UUID
    conversation_id: uuid.UUID
    channel: Channel
    sender: str
    recipient: str
    received_at: datetime


TOPICS: list[type[EventPayload]] = [MessageQueued, MessageStatusChanged, MessageInbound]
