"""Recipient groups, campaigns, their per-recipient rows, and SMS opt-outs."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from comms.bus.models import BigId
from comms.db.base import Base, TenantScoped, Timestamped, new_id, utcnow


class GroupKind(enum.StrEnum):
    DEPARTMENT = "department"  # no org chart yet: a department is a group kept by hand
    LIST = "list"


class CampaignKind(enum.StrEnum):
    NOTICE = "notice"
    MARKETING = "marketing"


class CampaignStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    DISPATCHED = "dispatched"


class RecipientStatus(enum.StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    SUPPRESSED = "suppressed"
    SKIPPED = "skipped"


def _enum(cls: type[enum.Enum], length: int = 16) -> Enum:
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class RecipientGroup(TenantScoped, Timestamped, Base):
    __tablename__ = "sms_groups"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[GroupKind] = mapped_column(_enum(GroupKind))

    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_sms_groups_name"),)


class GroupMember(TenantScoped, Base):
    __tablename__ = "sms_group_members"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sms_groups.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    phone: Mapped[str] = mapped_column(String(32))
    department: Mapped[str | None] = mapped_column(String(200), default=None)
    variables: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    __table_args__ = (UniqueConstraint("group_id", "phone", name="uq_sms_group_members_phone"),)


class Campaign(TenantScoped, Timestamped, Base):
    __tablename__ = "sms_campaigns"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[CampaignKind] = mapped_column(_enum(CampaignKind))
    body: Mapped[str] = mapped_column(Text)
    group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sms_groups.id", ondelete="SET NULL"), default=None
    )
    # A CRM segment the recipients were taken from at create (query crm.segment_members).
    segment: Mapped[str | None] = mapped_column(String(200), default=None)
    status: Mapped[CampaignStatus] = mapped_column(_enum(CampaignStatus))
    scheduled_at: Mapped[datetime | None] = mapped_column(default=None)
    reply_options: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)
    queued_at: Mapped[datetime | None] = mapped_column(default=None)
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_sms_campaigns_due", "status", "scheduled_at"),)


class CampaignRecipient(TenantScoped, Base):
    """One number of one campaign: the unique pair makes expansion idempotent."""

    __tablename__ = "sms_campaign_recipients"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sms_campaigns.id", ondelete="CASCADE")
    )
    phone: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    department: Mapped[str | None] = mapped_column(String(200), default=None)
    variables: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    status: Mapped[RecipientStatus] = mapped_column(_enum(RecipientStatus))
    skip_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), default=None
    )
    queued_at: Mapped[datetime | None] = mapped_column(default=None)
    reply_message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), default=None
    )
    reply_option: Mapped[str | None] = mapped_column(String(32), default=None)
    replied_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        UniqueConstraint("campaign_id", "phone", name="uq_sms_campaign_recipients_phone"),
        Index("ix_sms_campaign_recipients_cursor", "campaign_id", "status", "id"),
        Index("ix_sms_campaign_recipients_reply", "tenant_id", "phone", "queued_at"),
    )


class SmsOptOut(TenantScoped, Base):
    """A number that answered an opt-out keyword: marketing skips it from then on."""

    __tablename__ = "sms_opt_outs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(32))
    keyword: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("tenant_id", "phone", name="uq_sms_opt_outs_phone"),)
