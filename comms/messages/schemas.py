"""API shapes of messages, conversations and messaging settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Base64Bytes, BaseModel, ConfigDict, Field

from comms.messages.models import Channel, Direction
from comms.messages.state import MessageStatus


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field("application/octet-stream", max_length=255)
    content_base64: Base64Bytes


class MessageCreate(BaseModel):
    """One message to send; shape only here, the rules (422 per field) are the service's."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    channel: Channel
    to: str = Field(max_length=320)
    sender: str | None = Field(None, alias="from", max_length=320)
    body: str = ""
    subject: str | None = Field(None, max_length=998)
    html: str | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list)
    template: str | None = Field(None, max_length=200)
    variables: dict[str, Any] = Field(default_factory=dict)


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    filename: str
    content_type: str
    size: int


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: uuid.UUID
    conversation_id: uuid.UUID
    channel: Channel
    direction: Direction
    status: MessageStatus
    sender: str | None = Field(serialization_alias="from")
    to: str = Field(validation_alias="recipient")
    subject: str | None
    body: str
    template: str | None
    segments: int | None
    encoding: str | None
    provider: str | None
    provider_message_id: str | None
    rfc_message_id: str | None
    error_code: str | None
    error_text: str | None
    attempts: int
    created_at: datetime
    queued_at: datetime | None
    sending_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    undelivered_at: datetime | None
    failed_at: datetime | None
    received_at: datetime | None


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None


class ConversationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel: Channel
    address: str
    message_count: int
    last_message_at: datetime
    created_at: datetime


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None


class MessagingSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sms_signature: str | None = Field(
        None, max_length=40, description="e.g. 【某某公司】; carriers require it on every SMS"
    )
    sms_daily_quota: int | None = Field(None, ge=0, description="None: the hub default")
    sms_recipient_daily_cap: int | None = Field(None, ge=0, description="None: hub default")
    email_from: str | None = Field(None, max_length=320)
    inbound_sms_numbers: list[str] = Field(
        default_factory=list, description="Numbers or service-code prefixes routed here"
    )
    inbound_email_domains: list[str] = Field(
        default_factory=list, description="Mail domains whose mail `huitong smtp-in` accepts"
    )


class MessagingSettingsOut(MessagingSettingsIn):
    model_config = ConfigDict(extra="ignore")
