"""Request and response shapes for tickets and SLA policies."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crm.tickets.models import Priority, TicketChannel, TicketStatus


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=300)
    channel: TicketChannel = TicketChannel.API
    priority: Priority = Priority.NORMAL
    contact_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    team: str | None = Field(None, max_length=120)
    sla_policy_id: uuid.UUID | None = None


class TicketPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: TicketStatus | None = None
    priority: Priority | None = None
    subject: str | None = Field(None, min_length=1, max_length=300)
    assignee_id: uuid.UUID | None = None
    team: str | None = Field(None, max_length=120)
    sla_policy_id: uuid.UUID | None = Field(
        None, description="null: the tenant's default policy; deadlines are recomputed"
    )


class TicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    contact_id: uuid.UUID | None
    channel: TicketChannel
    subject: str
    priority: Priority
    status: TicketStatus
    assignee_id: uuid.UUID | None
    team: str | None
    sla_policy_id: uuid.UUID | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_responded_at: datetime | None
    resolved_at: datetime | None
    escalated_at: datetime | None
    extra: dict[str, Any]  # callback number, attached voicemails (recording references)
    created_at: datetime
    updated_at: datetime


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None = None


class SlaPolicyIn(BaseModel):
    """Hours per weekday (Monday "0") as ["09:00", "18:00"]; targets in business minutes."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    timezone: str = "Asia/Shanghai"
    hours: dict[str, list[str]]
    holidays: list[str] = Field(default_factory=list)
    targets: dict[Priority, dict[str, int]] = Field(default_factory=dict)
    is_default: bool = False

    @field_validator("targets")
    @classmethod
    def _targets(cls, v: dict[Priority, dict[str, int]]) -> dict[Priority, dict[str, int]]:
        _check_targets(v)
        return v


def _check_targets(v: Mapping[Priority, Mapping[str, int] | None]) -> None:
    for p, t in v.items():
        if t is None:
            continue
        if set(t) != {"first_response", "resolution"} or min(t.values()) <= 0:
            raise ValueError(f"{p.value}: give positive first_response and resolution")


class SlaPolicyPatch(BaseModel):
    """The fields given replace the policy's; `targets` merge per priority, a priority set
    to null goes back to the built-in targets."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=120)
    timezone: str | None = Field(None, min_length=1, max_length=64)
    hours: dict[str, list[str]] | None = None
    holidays: list[str] | None = None
    targets: dict[Priority, dict[str, int] | None] | None = None
    is_default: bool | None = None

    @field_validator("targets")
    @classmethod
    def _targets(
        cls, v: dict[Priority, dict[str, int] | None] | None
    ) -> dict[Priority, dict[str, int] | None] | None:
        if v is not None:
            _check_targets(v)
        return v


class SlaPolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    timezone: str
    hours: dict[str, list[str]]
    holidays: list[str]
    targets: dict[str, dict[str, int]]
    is_default: bool


class ReplyIn(BaseModel):
    """An agent's answer to the customer; attached articles are appended as title + link."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=20_000)
    channel: Literal["sms", "email"]
    subject: str | None = Field(None, max_length=300, description="email only; default Re: …")
    article_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10)


class ReplyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: uuid.UUID
    message_id: uuid.UUID
    channel: str
    author_id: uuid.UUID | None
    article_ids: list[str]
    at: datetime


class ReplyPage(BaseModel):
    items: list[ReplyOut]
