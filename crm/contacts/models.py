"""Contacts, companies, the phone/email lookup index and timeline rows."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comms.bus.models import BigId
from comms.db.base import Base, TenantScoped, Timestamped, new_id, utcnow


class Company(TenantScoped, Timestamped, Base):
    """An organisation contacts belong to; its phones and emails live in indexed child tables,
    as a contact's do, so a screen pop finds it by its switchboard number or general address."""

    __tablename__ = "crm_companies"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    phones: Mapped[list[CompanyPhone]] = relationship(
        lazy="selectin", order_by="CompanyPhone.id", cascade="all, delete-orphan"
    )
    emails: Mapped[list[CompanyEmail]] = relationship(
        lazy="selectin", order_by="CompanyEmail.id", cascade="all, delete-orphan"
    )


class CompanyPhone(TenantScoped, Base):
    """One E.164 number of a company; unique per tenant so a lookup finds one company."""

    __tablename__ = "crm_company_phones"
    tenant_id_indexed = False  # uq_crm_company_phones_e164 leads with it
    __table_args__ = (UniqueConstraint("tenant_id", "e164", name="uq_crm_company_phones_e164"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    company_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("crm_companies.id", ondelete="CASCADE"), index=True
    )
    e164: Mapped[str] = mapped_column(String(32))


class CompanyEmail(TenantScoped, Base):
    """One lower-cased address of a company; unique per tenant."""

    __tablename__ = "crm_company_emails"
    tenant_id_indexed = False  # uq_crm_company_emails_address leads with it
    __table_args__ = (
        UniqueConstraint("tenant_id", "address", name="uq_crm_company_emails_address"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    company_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("crm_companies.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(320))


class Contact(TenantScoped, Timestamped, Base):
    """A person the tenant talks to; phones and emails live in indexed child tables."""

    __tablename__ = "crm_contacts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    company_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("crm_companies.id", ondelete="SET NULL"), default=None
    )
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    phones: Mapped[list[ContactPhone]] = relationship(
        lazy="selectin", order_by="ContactPhone.id", cascade="all, delete-orphan"
    )
    emails: Mapped[list[ContactEmail]] = relationship(
        lazy="selectin", order_by="ContactEmail.id", cascade="all, delete-orphan"
    )


class ContactAlias(TenantScoped, Base):
    """The id of a contact merged away, pointing at the one it was folded into, so events
    from other packages still naming the old id (erp orders) reach the kept contact."""

    __tablename__ = "crm_contact_aliases"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="CASCADE"), index=True
    )


class ContactPhone(TenantScoped, Base):
    """One E.164 number of a contact; unique per tenant so a lookup finds one contact."""

    __tablename__ = "crm_contact_phones"
    __table_args__ = (UniqueConstraint("tenant_id", "e164", name="uq_crm_contact_phones_e164"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="CASCADE"), index=True
    )
    e164: Mapped[str] = mapped_column(String(32))


class ContactEmail(TenantScoped, Base):
    """One lower-cased address of a contact; unique per tenant."""

    __tablename__ = "crm_contact_emails"
    __table_args__ = (
        UniqueConstraint("tenant_id", "address", name="uq_crm_contact_emails_address"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(320))


class TimelineEntry(TenantScoped, Base):
    """One thing that happened with a contact (message, call, ticket...), keyed by its source."""

    __tablename__ = "crm_timeline_entries"
    tenant_id_indexed = False  # uq_crm_timeline_entries_ref leads with it
    __table_args__ = (UniqueConstraint("tenant_id", "ref", name="uq_crm_timeline_entries_ref"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # sms, email, call, ticket, order, survey
    direction: Mapped[str | None] = mapped_column(String(16), default=None)
    ref: Mapped[str] = mapped_column(String(120))  # e.g. "message:<uuid>", "ticket:<uuid>"
    status: Mapped[str | None] = mapped_column(String(32), default=None)
    summary: Mapped[str] = mapped_column(Text, default="")
    duration_seconds: Mapped[int | None] = mapped_column(default=None)  # calls: billable
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
