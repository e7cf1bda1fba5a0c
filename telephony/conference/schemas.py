"""API shapes of conference rooms, meetings and participants."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from telephony.conference.models import ConferenceState, ParticipantState, Role

PIN = r"^[0-9]{3,8}$"


class RoomIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    number: str = Field(pattern=r"^[0-9]{2,8}$", description="Short number inside the VPMN.")
    did: str | None = Field(None, pattern=r"^\+?[0-9]{5,20}$", description="Public DID.")
    participant_pin: str = Field(pattern=PIN)
    moderator_pin: str = Field(pattern=PIN)
    max_participants: int = Field(10, ge=2, le=100)
    record: bool = False


class RoomOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    number: str
    did: str | None
    max_participants: int
    record: bool


class MeetingIn(BaseModel):
    """A one-click meeting: call every member now and bridge whoever answers."""

    model_config = ConfigDict(extra="forbid")

    members: list[str] = Field(
        min_length=1, max_length=50, description="Short numbers or E.164 numbers to call."
    )
    subject: str = Field("", max_length=200)
    organiser: str | None = Field(
        None, max_length=20, description="Short number of the paying member (CDR rating)."
    )
    room_id: uuid.UUID | None = Field(None, description="Room whose dial-in details to send.")
    sms_notice: str | None = Field(
        None, max_length=300, description="Office SMS sent to every member's mobile."
    )


class ParticipantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    name: str
    role: Role
    state: ParticipantState
    dial_out: bool
    attempt: int
    muted: bool
    joined_at: datetime | None
    left_at: datetime | None


class ConferenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    room_id: uuid.UUID | None
    subject: str
    state: ConferenceState
    locked: bool
    organiser: str | None
    recording: str | None
    started_at: datetime
    ended_at: datetime | None


class MuteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    muted: bool = True


class LockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    locked: bool = True
