"""API shapes of rules, templates, preferences and notifications."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from notifications.models import NoticeChannel, NotificationStatus, Urgency

Op = Literal["eq", "ne", "in", "gt", "lt", "contains"]
RecipientKind = Literal[
    "user", "role", "department", "contact", "payload_user", "payload_role", "address"
]


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(min_length=1, max_length=200, description="dotted path in the payload")
    op: Op
    value: Any = None


class RecipientIn(BaseModel):
    """`contact` needs no value (the event's contact_phone/contact_email)."""

    model_config = ConfigDict(extra="forbid")

    kind: RecipientKind
    value: str | None = Field(None, max_length=320)


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    topic: str = Field(min_length=1, max_length=200, description="exact name, `erp.*` or `*`")
    conditions: list[Condition] = Field(default_factory=list)
    recipients: list[RecipientIn] = Field(min_length=1)
    channels: list[NoticeChannel] = Field(min_length=1)
    escalate_after_minutes: int = Field(10, ge=0, le=7 * 24 * 60)
    urgency: Urgency = Urgency.NORMAL
    dedupe_field: str | None = Field(None, max_length=200)
    dedupe_minutes: int = Field(0, ge=0, le=7 * 24 * 60)
    enabled: bool = True


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    topic: str
    conditions: list[dict[str, Any]]
    recipients: list[dict[str, Any]]
    channels: list[str]
    escalate_after_minutes: int
    urgency: Urgency
    dedupe_field: str | None
    dedupe_minutes: int
    enabled: bool
    created_at: datetime
    updated_at: datetime


class RulePage(BaseModel):
    items: list[RuleOut]


class DefaultText(BaseModel):
    subject: str
    body: str


class DefaultRuleOut(BaseModel):
    """A built-in rule (notifications/defaults.py) as it stands for the tenant."""

    topic: str
    recipients: list[dict[str, Any]]
    channels: list[str]
    escalate_after_minutes: int
    urgency: Urgency
    texts: dict[str, DefaultText]  # by locale, used while the tenant has no template
    active: bool  # False once the tenant has a rule of its own on exactly this topic
    replaced_by: list[uuid.UUID]  # those rules (a disabled one switches the default off)


class DefaultRulePage(BaseModel):
    items: list[DefaultRuleOut]


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: str = Field(min_length=1, max_length=200)
    channel: NoticeChannel
    locale: Literal["zh-CN", "en"]
    subject: str = Field("", max_length=500)
    body: str = Field(min_length=1, max_length=20000)


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    topic: str
    channel: NoticeChannel
    locale: str
    subject: str
    body: str
    created_at: datetime
    updated_at: datetime
    warnings: list[str] = Field(default_factory=list)


class TemplatePage(BaseModel):
    items: list[TemplateOut]


class TopicPrefIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: str = Field(min_length=1, max_length=200)
    channels: list[NoticeChannel] | None = None
    unsubscribed: bool = False


class PreferencesIn(BaseModel):
    """The caller's whole preference set (replaces what was there)."""

    model_config = ConfigDict(extra="forbid")

    quiet_start: str | None = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    quiet_end: str | None = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    locale: Literal["zh-CN", "en"] = "zh-CN"
    digest_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    topics: list[TopicPrefIn] = Field(default_factory=list)


class PreferencesOut(PreferencesIn):
    model_config = ConfigDict(extra="forbid")


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    channel: NoticeChannel
    address: str | None
    message_id: uuid.UUID | None
    status: str
    error: str | None
    at: datetime
    updated_at: datetime


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    rule_id: uuid.UUID | None
    event_id: int | None
    topic: str
    user_id: uuid.UUID | None
    phone: str | None
    email: str | None
    urgency: Urgency
    channels: list[str]
    channel_index: int
    status: NotificationStatus
    title: str
    body: str
    digest_id: uuid.UUID | None
    read_at: datetime | None
    created_at: datetime


class NotificationDetail(NotificationOut):
    """A notice with its delivery attempts, oldest first (one and in the list)."""

    attempts: list[AttemptOut]


class NotificationPage(BaseModel):
    items: list[NotificationDetail]
    next_cursor: str | None
