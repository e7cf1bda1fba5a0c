"""Voicemail tables: one mailbox per VPMN member and the messages left in it."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column

from comms.db.base import Base, TenantScoped, Timestamped, new_id, utcnow
from telephony.vpmn.models import str_enum


class Greeting(enum.StrEnum):
    DEFAULT = "default"  # Asterisk's "the person at extension ... is unavailable"
    RECORDED = "recorded"  # an ARI stored recording (recording:<name>)
    UPLOADED = "uploaded"  # a WAV uploaded through the API, copied to the sounds directory


class Mailbox(TenantScoped, Timestamped, Base):
    __tablename__ = "voicemail_mailboxes"
    __table_args__ = (UniqueConstraint("tenant_id", "member_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vpmn_members.id", ondelete="CASCADE"), index=True
    )
    # PBKDF2 of the listening PIN, never the PIN itself.
    pin_hash: Mapped[str] = mapped_column(String(200))
    greeting: Mapped[Greeting] = mapped_column(str_enum(Greeting), default=Greeting.DEFAULT)
    greeting_recording: Mapped[str | None] = mapped_column(String(200), default=None)
    greeting_audio: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, default=None))
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    sms_notice: Mapped[bool] = mapped_column(default=False)
    retention_days: Mapped[int] = mapped_column(default=30)


class VoicemailMessage(TenantScoped, Base):
    __tablename__ = "voicemail_messages"
    __table_args__ = (UniqueConstraint("tenant_id", "recording"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    mailbox_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("voicemail_mailboxes.id", ondelete="CASCADE"), index=True
    )
    call_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), default=None
    )
    caller: Mapped[str] = mapped_column(String(100))
    callee: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    duration_seconds: Mapped[int] = mapped_column(default=0)
    # The ARI stored-recording name: the storage reference on the Asterisk side.
    recording: Mapped[str] = mapped_column(String(200))
    audio: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    content_type: Mapped[str] = mapped_column(String(100), default="audio/wav")
    heard: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime] = mapped_column(index=True)
