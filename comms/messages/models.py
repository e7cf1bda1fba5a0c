"""Messages, conversations, per-segment provider ids, and a tenant's messaging settings."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from comms.bus.models import BigId
from comms.db.base import Base, TenantScoped, Timestamped, new_id, utcnow
from comms.messages.state import MessageStatus


class Channel(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"


class Direction(enum.StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


def _enum(cls: type[enum.Enum], length: int = 16) -> Enum:
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class Conversation(TenantScoped, Timestamped, Base):
    """One thread per tenant, channel and counterpart address, both directions."""

    __tablename__ = "conversations"
    tenant_id_indexed = False  # uq_conversations_address leads with it

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    address: Mapped[str] = mapped_column(String(320))  # E.164 or lower-cased email address
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    message_count: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        UniqueConstraint("tenant_id", "channel", "address", name="uq_conversations_address"),
        Index("ix_conversations_recent", "tenant_id", "last_message_at", "id"),
    )


# Outbound messages not sent (nor failed) yet: queued or sending. The same SQL text in the
# partial index and in the sweep's queries, so that the planner sees the one imply the other.
UNSENT = "direction = 'outbound' AND sent_at IS NULL AND failed_at IS NULL"
MESSAGES_FILLFACTOR = 75
PARTS_FILLFACTOR = 60


class Message(TenantScoped, Base):
    __tablename__ = "messages"
    tenant_id_indexed = False  # ix_messages_listing leads with it

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # ix_messages_thread leads with it: no index of its own to write on every insert.
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    direction: Mapped[Direction] = mapped_column(_enum(Direction))
    status: Mapped[MessageStatus] = mapped_column(_enum(MessageStatus))
    sender: Mapped[str | None] = mapped_column(String(320), default=None)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(998), default=None)
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text, default=None)
    template: Mapped[str | None] = mapped_column(String(200), default=None)
    variables: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    segments: Mapped[int | None] = mapped_column(default=None)
    encoding: Mapped[str | None] = mapped_column(String(8), default=None)
    provider: Mapped[str | None] = mapped_column(String(40), default=None)
    provider_message_id: Mapped[str | None] = mapped_column(String(200), default=None)
    # RFC 5322 threading of email; rfc_message_id is ours on outbound, the sender's inbound.
    rfc_message_id: Mapped[str | None] = mapped_column(String(998), default=None)
    in_reply_to: Mapped[str | None] = mapped_column(String(998), default=None)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_text: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    # Set while a queued message waits for a scheduled retry; None: a send event is in flight.
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    request_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(default=None)
    sending_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    undelivered_at: Mapped[datetime | None] = mapped_column(default=None)
    failed_at: Mapped[datetime | None] = mapped_column(default=None)
    received_at: Mapped[datetime | None] = mapped_column(default=None)

    # No index names `status` or a column a receipt sets, so the last update of a message
    # (sent -> delivered) is HOT: no index entries, and its old version is pruned from the
    # page without a VACUUM. The fill factor leaves each page room for those new versions.
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_messages_idempotency_key"),
        Index("ix_messages_listing", "tenant_id", "created_at", "id"),
        Index("ix_messages_recipient", "tenant_id", "channel", "recipient", "created_at"),
        Index("ix_messages_thread", "conversation_id", "created_at", "id"),
        # Email only: SMS rows (NULL) take no entry.
        Index(
            "ix_messages_rfc_message_id",
            "rfc_message_id",
            postgresql_where=text("rfc_message_id IS NOT NULL"),
            sqlite_where=text("rfc_message_id IS NOT NULL"),
        ),
        # The sweep's scans, over the few rows still owed a send or a retry.
        Index(
            "ix_messages_unsent",
            "claimed_at",
            postgresql_where=text(UNSENT),
            sqlite_where=text(UNSENT),
        ),
        Index(
            "ix_messages_retry_due",
            "next_attempt_at",
            postgresql_where=text("next_attempt_at IS NOT NULL"),
            sqlite_where=text("next_attempt_at IS NOT NULL"),
        ),
        {"postgresql_with": {"fillfactor": MESSAGES_FILLFACTOR}},
    )


class MessagePart(TenantScoped, Base):
    """One provider id of a message (an SMSC gives one per segment); receipts roll up."""

    __tablename__ = "message_parts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(40))
    provider_message_id: Mapped[str] = mapped_column(String(200))
    state: Mapped[str | None] = mapped_column(String(16), default=None)  # a ReceiptState
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    done_at: Mapped[datetime | None] = mapped_column(default=None)

    # A receipt's update of `state` is HOT (no index names it) where the page has room.
    __table_args__ = (
        UniqueConstraint("provider", "provider_message_id", name="uq_message_parts_provider_id"),
        {"postgresql_with": {"fillfactor": PARTS_FILLFACTOR}},
    )


class PendingReceipt(Base):
    """A receipt that arrived before its submission was recorded (fast SMSCs race us)."""

    __tablename__ = "message_pending_receipts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(40))
    provider_message_id: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_message_pending_receipts_id", "provider", "provider_message_id"),)


class UnroutedInbound(Base):
    """An inbound SMS to a number no tenant owns: kept for operators, not dropped."""

    __tablename__ = "message_unrouted_inbound"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(40))
    provider_message_id: Mapped[str | None] = mapped_column(String(200), default=None)
    sender: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(String(320))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_message_unrouted_inbound_id", "provider", "provider_message_id"),
        Index("ix_message_unrouted_inbound_recipient", "recipient", "created_at"),
    )


class InboundSmsPart(Base):
    """A part of a multipart inbound SMS, kept until its message is whole (or waited too long).

    Not tenant-scoped: the message is routed to a tenant only when it is assembled."""

    __tablename__ = "message_inbound_parts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(40))
    sender: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(String(320))
    reference: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    data_coding: Mapped[int] = mapped_column(Integer)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column()
    deliver_by: Mapped[datetime] = mapped_column()  # first part's arrival + the wait

    __table_args__ = (
        # A carrier re-sends a part whose deliver_sm_resp it missed: the first copy wins.
        UniqueConstraint(
            "provider",
            "sender",
            "recipient",
            "reference",
            "total",
            "seq",
            name="uq_message_inbound_parts_part",
        ),
        Index("ix_message_inbound_parts_deliver_by", "deliver_by"),
    )


class MessageAttachment(TenantScoped, Base):
    __tablename__ = "message_attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class MessagingSettings(TenantScoped, Base):
    """A tenant's messaging rules; absent row = the hub defaults."""

    __tablename__ = "messaging_settings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sms_signature: Mapped[str | None] = mapped_column(String(40), default=None)
    sms_daily_quota: Mapped[int | None] = mapped_column(default=None)
    sms_recipient_daily_cap: Mapped[int | None] = mapped_column(default=None)
    email_from: Mapped[str | None] = mapped_column(String(320), default=None)

    __table_args__ = (UniqueConstraint("tenant_id", name="uq_messaging_settings_tenant"),)


class InboundAddress(TenantScoped, Base):
    """Where inbound traffic is routed: an SMS number / service-code prefix or a mail domain."""

    __tablename__ = "messaging_inbound_addresses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    address: Mapped[str] = mapped_column(String(255))

    __table_args__ = (
        UniqueConstraint("channel", "address", name="uq_messaging_inbound_addresses_address"),
    )
