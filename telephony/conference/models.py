"""Conference tables: rooms (numbers and PINs), meetings held in them, and participant legs."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from comms.db.base import Base, TenantScoped, Timestamped, new_id, utcnow
from telephony.vpmn.models import str_enum


class ConferenceState(enum.StrEnum):
    WAITING = "waiting"  # nobody, or only participants waiting for a moderator
    ACTIVE = "active"
    ENDED = "ended"


class Role(enum.StrEnum):
    MODERATOR = "moderator"
    PARTICIPANT = "participant"


class ParticipantState(enum.StrEnum):
    DIALING = "dialing"  # dial-out leg ringing (or waiting for the next attempt)
    PIN = "pin"  # dial-in caller entering the PIN
    WAITING = "waiting"  # in, hearing music until a moderator arrives
    JOINED = "joined"
    LEFT = "left"
    FAILED = "failed"  # never reached (busy / no answer after every attempt, wrong PINs)


class Room(TenantScoped, Timestamped, Base):
    __tablename__ = "conference_rooms"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    # Dialled as a VPMN short number or as a DID: both reach the room.
    number: Mapped[str] = mapped_column(String(20))
    did: Mapped[str | None] = mapped_column(String(20), default=None, index=True)
    participant_pin: Mapped[str] = mapped_column(String(12))
    moderator_pin: Mapped[str] = mapped_column(String(12))
    max_participants: Mapped[int] = mapped_column(default=10)
    record: Mapped[bool] = mapped_column(default=False)


class Conference(TenantScoped, Timestamped, Base):
    __tablename__ = "conferences"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    room_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conference_rooms.id", ondelete="SET NULL"), default=None, index=True
    )
    subject: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[ConferenceState] = mapped_column(str_enum(ConferenceState), index=True)
    bridge_id: Mapped[str] = mapped_column(String(100))
    locked: Mapped[bool] = mapped_column(default=False)
    # Who pays for dial-out legs (a member's short number), for in-network rating.
    organiser: Mapped[str | None] = mapped_column(String(20), default=None)
    # ARI stored-recording name of the mixed audio, when the room records.
    recording: Mapped[str | None] = mapped_column(String(200), default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class Participant(TenantScoped, Timestamped, Base):
    __tablename__ = "conference_participants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    conference_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conferences.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200), default="")
    member_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vpmn_members.id", ondelete="SET NULL"), default=None
    )
    role: Mapped[Role] = mapped_column(str_enum(Role))
    state: Mapped[ParticipantState] = mapped_column(str_enum(ParticipantState))
    dial_out: Mapped[bool] = mapped_column(default=False)
    # Dial-out: endpoints per step (desk then mobile) as VPMN resolution gave them.
    targets: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    step: Mapped[int] = mapped_column(default=0)
    attempt: Mapped[int] = mapped_column(default=0)
    channel_id: Mapped[str | None] = mapped_column(String(150), default=None, index=True)
    muted: Mapped[bool] = mapped_column(default=False)
    pin_tries: Mapped[int] = mapped_column(default=0)
    last_cause: Mapped[int | None] = mapped_column(default=None)
    joined_at: Mapped[datetime | None] = mapped_column(default=None)
    left_at: Mapped[datetime | None] = mapped_column(default=None)
