"""Call-centre topics: agent state changes and every queue decision (ids and facts only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from comms.bus.topics import EventPayload


class AgentStateChanged(EventPayload):
    topic: ClassVar[str] = "telephony.agent.state_changed"
    version: ClassVar[int] = 1

    tenant_id: uuid.UUID
    agent_id: uuid.UUID
    user_id: uuid.UUID
    from_state: str
    to_state: str
    reason: str | None = None
    at: datetime


class _QueueFacts(EventPayload):
    tenant_id: uuid.UUID
    queue_id: uuid.UUID
    entry_id: uuid.UUID
    call_id: uuid.UUID | None
    caller: str
    at: datetime


class QueueCallEntered(_QueueFacts):
    topic: ClassVar[str] = "telephony.queue.call_entered"
    version: ClassVar[int] = 1

    priority: int
    position: int


class QueueCallOffered(_QueueFacts):
    topic: ClassVar[str] = "telephony.queue.call_offered"
    version: ClassVar[int] = 1

    agent_id: uuid.UUID
    user_id: uuid.UUID


class QueueCallAnswered(_QueueFacts):
    topic: ClassVar[str] = "telephony.queue.call_answered"
    version: ClassVar[int] = 1

    agent_id: uuid.UUID
    user_id: uuid.UUID
    wait_seconds: int


class QueueCallAbandoned(_QueueFacts):
    topic: ClassVar[str] = "telephony.queue.call_abandoned"
    version: ClassVar[int] = 1

    wait_seconds: int


class QueueCallOverflowed(_QueueFacts):
    topic: ClassVar[str] = "telephony.queue.call_overflowed"
    version: ClassVar[int] = 1

    target: str  # queue | voicemail | callback
    target_queue_id: uuid.UUID | None = None


class QueueCallTransferred(_QueueFacts):
    topic: ClassVar[str] = "telephony.queue.call_transferred"
    version: ClassVar[int] = 1

    agent_id: uuid.UUID | None
    kind: str  # blind | attended
    to: str


class QueueCallEnded(_QueueFacts):
    topic: ClassVar[str] = "telephony.queue.call_ended"
    version: ClassVar[int] = 1

    agent_id: uuid.UUID | None
    wait_seconds: int
    handle_seconds: int


class QueueStats(EventPayload):
    topic: ClassVar[str] = "telephony.queue.stats"
    version: ClassVar[int] = 1

    tenant_id: uuid.UUID
    queue_id: uuid.UUID
    waiting: int
    longest_wait_seconds: int
    available_agents: int
    at: datetime


TOPICS: list[type[EventPayload]] = [
    AgentStateChanged,
    QueueCallEntered,
    QueueCallOffered,
    QueueCallAnswered,
    QueueCallAbandoned,
    QueueCallOverflowed,
    QueueCallTransferred,
    QueueCallEnded,
    QueueStats,
]
