"""VPMN tables: a tenant's numbering plan, its members, its tariff and call detail records."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from comms.db.base import Base, TenantScoped, Timestamped, new_id
from telephony.vpmn.rating import TariffClass
from telephony.vpmn.resolve import RingStrategy


class Disposition(enum.StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    CANCELLED = "cancelled"  # caller gave up while it rang
    ABANDONED = "abandoned"  # caller hung up in the IVR before reaching anyone


def str_enum(cls: type[enum.StrEnum]) -> Enum:
    """Enums stored as their value in a VARCHAR: portable and readable in raw SQL."""
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class NumberingPlan(TenantScoped, Timestamped, Base):
    """One per tenant: the shape of its short numbers (integrated: desks and mobiles share it)."""

    __tablename__ = "vpmn_plans"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_vpmn_plans_tenant"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    short_length: Mapped[int]
    prefixes: Mapped[list[str]] = mapped_column(JSON)
    trunk_endpoint: Mapped[str] = mapped_column(String(200))
    unknown_announcement: Mapped[str] = mapped_column(String(200))


class Member(TenantScoped, Timestamped, Base):
    """A person in the VPMN: a short number reaching their desk phone, their mobile, or both."""

    __tablename__ = "vpmn_members"
    __table_args__ = (
        UniqueConstraint("tenant_id", "short_number", name="uq_vpmn_members_short_number"),
        UniqueConstraint("tenant_id", "mobile", name="uq_vpmn_members_mobile"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(200), default="")
    short_number: Mapped[str] = mapped_column(String(16))
    mobile: Mapped[str | None] = mapped_column(String(20), default=None)
    desk_endpoint: Mapped[str | None] = mapped_column(String(200), default=None)
    strategy: Mapped[RingStrategy] = mapped_column(str_enum(RingStrategy))
    desk_timeout: Mapped[int] = mapped_column(default=15)
    mobile_timeout: Mapped[int] = mapped_column(default=25)


class TariffPlan(TenantScoped, Timestamped, Base):
    """The tenant's rates in fen per minute; one per tenant, read when a CDR is rated."""

    __tablename__ = "vpmn_tariffs"
    __table_args__ = (UniqueConstraint("tenant_id", name="uq_vpmn_tariffs_tenant"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    in_network_rate: Mapped[int]
    on_net_mobile_rate: Mapped[int]
    off_net_rate: Mapped[int]
    increment_seconds: Mapped[int]
    minimum_charge: Mapped[int]
    in_network_discount_pct: Mapped[int]
    on_net_prefixes: Mapped[list[str]] = mapped_column(JSON)


class Cdr(TenantScoped, Base):
    """One call's detail record, rated when written (a later tariff change does not re-rate)."""

    __tablename__ = "vpmn_cdrs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "call_ref", name="uq_vpmn_cdrs_call_ref"),
        Index("ix_vpmn_cdrs_tenant_started", "tenant_id", "started_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # The call's id in whatever produced it (our call row, a carrier's CDR); makes writes
    # idempotent when a Stasis app replays a hangup after a reconnect.
    call_ref: Mapped[str] = mapped_column(String(100))
    caller: Mapped[str] = mapped_column(String(100))
    callee: Mapped[str] = mapped_column(String(100))
    caller_member_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vpmn_members.id", ondelete="SET NULL"), default=None
    )
    callee_member_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vpmn_members.id", ondelete="SET NULL"), default=None
    )
    # Snapshots, so bills keep the names they had when the call was made.
    billed_member: Mapped[str] = mapped_column(String(200), default="")
    billed_department: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime]
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime]
    billable_seconds: Mapped[int]
    disposition: Mapped[Disposition] = mapped_column(str_enum(Disposition))
    in_network: Mapped[bool]
    tariff_class: Mapped[TariffClass] = mapped_column(str_enum(TariffClass))
    charged_seconds: Mapped[int]
    rate: Mapped[int]
    charge: Mapped[int]
    recording_ref: Mapped[str | None] = mapped_column(String(300), default=None)
