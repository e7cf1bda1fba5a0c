"""Tickets, their transition log, message links and SLA policies."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from comms.bus.models import BigId
from comms.db.base import Base, TenantScoped, new_id, utcnow


class TicketChannel(enum.StrEnum):
    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    WEB = "web"
    API = "api"


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketStatus(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class SlaPolicy(TenantScoped, Base):
    """Targets per priority in business minutes, counted on this policy's calendar."""

    __tablename__ = "crm_sla_policies"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # {"0": ["09:00", "18:00"], ...}: Monday=0; a missing weekday is closed.
    hours: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    holidays: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO dates
    # {"urgent": {"first_response": 30, "resolution": 240}, ...} in business minutes.
    targets: Mapped[dict[str, dict[str, int]]] = mapped_column(JSON, default=dict)
    is_default: Mapped[bool] = mapped_column(default=False)


class Ticket(TenantScoped, Base):
    """A customer request; `status` changes only through `state.transition`."""

    __tablename__ = "crm_tickets"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="SET NULL"), default=None, index=True
    )
    channel: Mapped[TicketChannel] = mapped_column(_enum(TicketChannel))
    subject: Mapped[str] = mapped_column(String(300))
    priority: Mapped[Priority] = mapped_column(_enum(Priority), default=Priority.NORMAL)
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus), default=TicketStatus.NEW)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    team: Mapped[str | None] = mapped_column(String(120), default=None)
    sla_policy_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("crm_sla_policies.id", ondelete="SET NULL"), default=None
    )
    first_response_due: Mapped[datetime | None] = mapped_column(default=None)
    resolution_due: Mapped[datetime | None] = mapped_column(default=None, index=True)
    first_responded_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TicketTransition(TenantScoped, Base):
    """Every attempted status change, refused ones included, for the audit of a ticket."""

    __tablename__ = "crm_ticket_transitions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("crm_tickets.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    accepted: Mapped[bool] = mapped_column()
    reason: Mapped[str | None] = mapped_column(String(200), default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketMessage(TenantScoped, Base):
    """A message appended to a ticket; unique per message so a repeated event adds nothing."""

    __tablename__ = "crm_ticket_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "message_id", name="uq_crm_ticket_messages_message_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("crm_tickets.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketReply(TenantScoped, Base):
    """An agent's reply sent to the customer (the message itself lives in comms' messages)."""

    __tablename__ = "crm_ticket_replies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("crm_tickets.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    channel: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    article_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    at: Mapped[datetime] = mapped_column(default=utcnow)
