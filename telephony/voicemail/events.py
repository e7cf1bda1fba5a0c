"""Voicemail topics: a message was left (CRM attaches it to the caller's timeline)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from comms.bus.topics import EventPayload


class VoicemailRecorded(EventPayload):
    topic: ClassVar[str] = "telephony.voicemail.recorded"
    version: ClassVar[int] = 1

    voicemail_id: uuid.UUID
    call_id: uuid.UUID | None
    mailbox_member_id: uuid.UUID | None
    caller: str
    callee: str
    recorded_at: datetime
    duration_seconds: int
    recording: str


TOPICS: list[type[EventPayload]] = [VoicemailRecorded]
