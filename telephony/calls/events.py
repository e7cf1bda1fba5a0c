"""Call topics on the bus: ringing, answered, missed, ended (payloads carry ids and facts)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from comms.bus.topics import EventPayload


class _CallFacts(EventPayload):
    call_id: uuid.UUID
    tenant_id: uuid.UUID
    direction: str
    caller: str
    callee: str
    in_network: bool
    member_id: uuid.UUID | None = None
    queue: str | None = None
    agent: str | None = None
    at: datetime


class CallRinging(_CallFacts):
    topic: ClassVar[str] = "telephony.call.ringing"
    version: ClassVar[int] = 1


class CallAnswered(_CallFacts):
    topic: ClassVar[str] = "telephony.call.answered"
    version: ClassVar[int] = 1

    answered_by: str


class CallMissed(_CallFacts):
    topic: ClassVar[str] = "telephony.call.missed"
    version: ClassVar[int] = 1

    disposition: str
    reason: str


class CallEnded(_CallFacts):
    topic: ClassVar[str] = "telephony.call.ended"
    version: ClassVar[int] = 1

    disposition: str
    reason: str
    started_at: datetime
    answered_at: datetime | None
    billable_seconds: int


TOPICS: list[type[EventPayload]] = [CallRinging, CallAnswered, CallMissed, CallEnded]
