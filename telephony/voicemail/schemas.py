"""API shapes of mailboxes and voicemail messages."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from telephony.voicemail.models import Greeting


class MailboxIn(BaseModel):
    """A member's mailbox; PUT replaces it (the PIN is write-only)."""

    model_config = ConfigDict(extra="forbid")

    pin: str = Field(pattern=r"^[0-9]{4,8}$", description="Listening PIN, 4-8 digits.")
    greeting: Greeting = Greeting.DEFAULT
    greeting_recording: str | None = Field(
        None, max_length=200, description="ARI stored recording name when greeting=recorded."
    )
    email: str | None = Field(None, max_length=320)
    sms_notice: bool = False
    retention_days: int = Field(30, ge=1, le=3650)


class MailboxOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    member_id: uuid.UUID
    greeting: Greeting
    greeting_recording: str | None
    email: str | None
    sms_notice: bool
    retention_days: int


class VoicemailOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    mailbox_id: uuid.UUID
    call_id: uuid.UUID | None
    caller: str
    callee: str
    recorded_at: datetime
    duration_seconds: int
    recording: str
    heard: bool
    expires_at: datetime


class HeardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    heard: bool = True


class MyMailboxOut(BaseModel):
    """The signed-in user's member record (matched by mobile number) and mailbox; all null
    when no member has the user's mobile (or the caller is an API key)."""

    member_id: uuid.UUID | None = None
    name: str | None = None
    short_number: str | None = None
    mailbox_id: uuid.UUID | None = None
