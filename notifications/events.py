"""Topics notifications publishes: console notices for the agent console, and its own
timers (the periodic sweep hands due work to handlers, which have the messaging services)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from comms.bus.topics import EventPayload
from notifications.models import NoticeChannel, Urgency


class ConsolePosted(EventPayload):
    """A console notice for one user; the agent console pushes it to the user's WebSocket."""

    topic: ClassVar[str] = "notifications.console.posted"
    version: ClassVar[int] = 1

    notification_id: uuid.UUID
    user_id: uuid.UUID
    tenant_id: uuid.UUID | None = None
    title: str
    body: str
    urgency: Urgency
    created_at: datetime


class NoticeDue(EventPayload):
    """A held notice's quiet hours ended, or an unread console notice must escalate."""

    topic: ClassVar[str] = "notifications.notice.due"
    version: ClassVar[int] = 1

    notification_id: uuid.UUID
    action: Literal["release", "escalate"]
    channel_index: int


class DigestDue(EventPayload):
    """A user's low-urgency notices on one channel are due as one digest."""

    topic: ClassVar[str] = "notifications.digest.due"
    version: ClassVar[int] = 1

    user_id: uuid.UUID
    channel: NoticeChannel


TOPICS: list[type[EventPayload]] = [ConsolePosted, NoticeDue, DigestDue]
