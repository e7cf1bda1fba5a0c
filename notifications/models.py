"""Rules, templates, preferences, notifications and their delivery attempts."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from comms.bus.models import BigId
from comms.db.base import Base, TenantScoped, new_id, utcnow


class Urgency(enum.StrEnum):
    LOW = "low"  # batched into digests
    NORMAL = "normal"  # waits out quiet hours
    URGENT = "urgent"  # goes through quiet hours


class NoticeChannel(enum.StrEnum):
    CONSOLE = "console"
    SMS = "sms"
    EMAIL = "email"


class NotificationStatus(enum.StrEnum):
    HELD = "held"  # quiet hours: waits until hold_until
    DIGEST = "digest"  # low urgency: waits for the user's next digest
    SENDING = "sending"  # the current channel's attempt is under way
    SENT = "sent"  # accepted by the provider; a later undelivered receipt still falls back
    DELIVERED = "delivered"
    READ = "read"  # console notice read
    DIGESTED = "digested"  # went out inside a digest notification (digest_id)
    SUPPRESSED = "suppressed"  # duplicate within the rule's dedupe window
    FAILED = "failed"  # every channel tried and failed


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class NotificationRule(TenantScoped, Base):
    """When an event of `topic` matches `conditions`, notify `recipients` over `channels`."""

    __tablename__ = "notification_rules"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(200), index=True)  # exact name or `prefix.*`
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    recipients: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    escalate_after_minutes: Mapped[int] = mapped_column(default=10)
    urgency: Mapped[Urgency] = mapped_column(_enum(Urgency), default=Urgency.NORMAL)
    dedupe_field: Mapped[str | None] = mapped_column(String(200), default=None)
    dedupe_minutes: Mapped[int] = mapped_column(default=0)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationTemplate(TenantScoped, Base):
    """Jinja2 text for one (topic, channel, locale); checked against the payload at save."""

    __tablename__ = "notification_templates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "topic", "channel", "locale", name="uq_notification_tpl"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    topic: Mapped[str] = mapped_column(String(200))
    channel: Mapped[NoticeChannel] = mapped_column(_enum(NoticeChannel))
    locale: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationSettings(TenantScoped, Base):
    """A user's own notice settings: quiet hours (tenant time zone) and locale."""

    __tablename__ = "notification_user_settings"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", name="uq_notification_user"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    quiet_start: Mapped[str | None] = mapped_column(String(5), default=None)  # "22:00"
    quiet_end: Mapped[str | None] = mapped_column(String(5), default=None)  # "08:00"
    locale: Mapped[str] = mapped_column(String(16), default="zh-CN")
    digest_minutes: Mapped[int] = mapped_column(default=60)


class TopicPreference(TenantScoped, Base):
    """A user's channels for one topic (or pattern), or an unsubscribe from it."""

    __tablename__ = "notification_topic_prefs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "topic", name="uq_notification_topic_pref"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(200))
    channels: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    unsubscribed: Mapped[bool] = mapped_column(default=False)


# Room on each page for a notice's status updates to stay HOT (on the same page).
NOTIFICATIONS_FILLFACTOR = 80


class Notification(TenantScoped, Base):
    """One notice to one recipient, from one event and rule; `status` moves via state.py."""

    __tablename__ = "notifications"
    tenant_id_indexed = False  # uq_notification_once leads with it
    __table_args__ = (
        # The same event, rule and recipient make one notice, however often it is delivered.
        UniqueConstraint(
            "tenant_id", "event_id", "rule_id", "recipient_key", name="uq_notification_once"
        ),
        # The sweep's scan. Neither index names `status`, so a notice's moves (sending -> sent
        # -> delivered) are HOT updates: no new entry in any of the table's indexes.
        Index(
            "ix_notifications_due",
            "due_at",
            postgresql_where=text("due_at IS NOT NULL"),
            sqlite_where=text("due_at IS NOT NULL"),
        ),
        Index(
            "ix_notifications_dedupe",
            "tenant_id",
            "rule_id",
            "recipient_key",
            "dedupe_key",
            postgresql_where=text("dedupe_key IS NOT NULL"),
            sqlite_where=text("dedupe_key IS NOT NULL"),
        ),
        {"postgresql_with": {"fillfactor": NOTIFICATIONS_FILLFACTOR}},
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    rule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("notification_rules.id", ondelete="SET NULL"), default=None
    )
    event_id: Mapped[int | None] = mapped_column(BigId, default=None)
    topic: Mapped[str] = mapped_column(String(200), index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None, index=True)
    recipient_key: Mapped[str] = mapped_column(String(400))  # "user:<id>" or "addr:<address>"
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    locale: Mapped[str] = mapped_column(String(16), default="zh-CN")
    urgency: Mapped[Urgency] = mapped_column(_enum(Urgency))
    channels: Mapped[list[str]] = mapped_column(JSON)
    channel_index: Mapped[int] = mapped_column(default=0)
    escalate_after_minutes: Mapped[int] = mapped_column(default=10)
    status: Mapped[NotificationStatus] = mapped_column(_enum(NotificationStatus))
    title: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(400), default=None)
    # When the periodic sweep must act: end of quiet hours, or console escalation.
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    digest_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DeliveryAttempt(TenantScoped, Base):
    """One try on one channel; `message_id` links SMS/email to comms' message row."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[NoticeChannel] = mapped_column(_enum(NoticeChannel))
    address: Mapped[str | None] = mapped_column(String(320), default=None)
    message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None, index=True)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
