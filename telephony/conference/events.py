"""Conference topics: who joined, left or was muted, and when a meeting ended (console feed)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from comms.bus.topics import EventPayload


class _ParticipantFacts(EventPayload):
    conference_id: uuid.UUID
    participant_id: uuid.UUID
    number: str
    role: str
    muted: bool
    at: datetime


class ParticipantJoined(_ParticipantFacts):
    topic: ClassVar[str] = "telephony.conference.participant_joined"
    version: ClassVar[int] = 1


class ParticipantLeft(_ParticipantFacts):
    topic: ClassVar[str] = "telephony.conference.participant_left"
    version: ClassVar[int] = 1

    reason: str


class ParticipantMuted(_ParticipantFacts):
    """Sent on mute and on unmute: ``muted`` says which."""

    topic: ClassVar[str] = "telephony.conference.participant_muted"
    version: ClassVar[int] = 1


class ParticipantFailed(_ParticipantFacts):
    """A dial-out participant was not reached after every attempt."""

    topic: ClassVar[str] = "telephony.conference.participant_failed"
    version: ClassVar[int] = 1

    reason: str


class ConferenceLocked(EventPayload):
    topic: ClassVar[str] = "telephony.conference.locked"
    version: ClassVar[int] = 1

    conference_id: uuid.UUID
    locked: bool
    at: datetime


class ConferenceEnded(EventPayload):
    topic: ClassVar[str] = "telephony.conference.ended"
    version: ClassVar[int] = 1

    conference_id: uuid.UUID
    room_id: uuid.UUID | None
    reason: str
    started_at: datetime
    ended_at: datetime


TOPICS: list[type[EventPayload]] = [
    ParticipantJoined,
    ParticipantLeft,
    ParticipantMuted,
    ParticipantFailed,
    ConferenceLocked,
    ConferenceEnded,
]
