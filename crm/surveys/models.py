"""Satisfaction surveys (one per ticket) and each tenant's survey text."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from comms.db.base import Base, TenantScoped, new_id


class SurveyStatus(enum.StrEnum):
    SENT = "sent"  # the SMS is queued; a 1-5 reply within the window answers it
    ANSWERED = "answered"  # final: the score is kept once
    SKIPPED = "skipped"  # final: no SMS went out (carrier rule, quota); reason kept


class Survey(TenantScoped, Base):
    """The "reply 1-5" SMS sent when a ticket was resolved, and its answer."""

    __tablename__ = "crm_surveys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "ticket_id", name="uq_crm_surveys_ticket_id"),
        Index("ix_crm_surveys_phone_sent_at", "tenant_id", "phone", "sent_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("crm_tickets.id", ondelete="CASCADE"))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="SET NULL"), default=None
    )
    phone: Mapped[str] = mapped_column(String(32))
    status: Mapped[SurveyStatus] = mapped_column(
        Enum(
            SurveyStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    agent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    team: Mapped[str | None] = mapped_column(String(120), default=None)
    sent_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    score: Mapped[int | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    reply_message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    skip_reason: Mapped[str | None] = mapped_column(String(200), default=None)


class SurveySettings(TenantScoped, Base):
    """A tenant's survey switch and text; without a row: on, zh-CN default text."""

    __tablename__ = "crm_survey_settings"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_crm_survey_settings_tenant_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    enabled: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str] = mapped_column(String(16), default="zh-CN")
    template: Mapped[str | None] = mapped_column(Text, default=None)
