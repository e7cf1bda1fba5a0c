"""Ringback tables: the tone library (audio kept in the database) and the assignment rules."""

from __future__ import annotations

import uuid
from datetime import date, time

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column

from comms.db.base import Base, TenantScoped, Timestamped, new_id
from telephony.ringback.rules import Scope
from telephony.vpmn.models import str_enum


class Tone(TenantScoped, Timestamped, Base):
    __tablename__ = "ringback_tones"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_ringback_tones_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    duration: Mapped[float]
    original_format: Mapped[str] = mapped_column(String(8))
    size: Mapped[int]
    # 8 kHz mono 16-bit WAV, what Asterisk plays without transcoding; loaded only on demand.
    audio: Mapped[bytes] = deferred(mapped_column(LargeBinary))

    @property
    def media(self) -> str:
        """The ARI media URI; the file lives under Asterisk's sounds dir as huitong/ringback/."""
        return f"sound:huitong/ringback/{self.id}"


class Rule(TenantScoped, Timestamped, Base):
    __tablename__ = "ringback_rules"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    tone_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ringback_tones.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    scope: Mapped[Scope] = mapped_column(str_enum(Scope))
    department: Mapped[str | None] = mapped_column(String(200), default=None)
    member_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vpmn_members.id", ondelete="CASCADE"), default=None
    )
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)
    start_time: Mapped[time | None] = mapped_column(default=None)
    end_time: Mapped[time | None] = mapped_column(default=None)
    start_date: Mapped[date | None] = mapped_column(default=None)
    end_date: Mapped[date | None] = mapped_column(default=None)
    priority: Mapped[int] = mapped_column(default=0)
