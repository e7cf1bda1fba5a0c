"""API shapes of recipient groups and SMS campaigns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from comms.campaigns.models import CampaignKind, CampaignStatus, GroupKind

MAX_RECIPIENTS = 100_000


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str = Field(max_length=32)
    name: str | None = Field(None, max_length=200)
    department: str | None = Field(None, max_length=200)
    variables: dict[str, Any] = Field(default_factory=dict)


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: GroupKind = GroupKind.LIST
    members: list[MemberIn] = Field(default_factory=list)


class MembersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    members: list[MemberIn] = Field(min_length=1, max_length=100_000)


class GroupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: GroupKind
    created_at: datetime
    member_count: int = 0


class CampaignCreate(BaseModel):
    """A template to a group or an inline list; {{name}}, {{phone}}, {{department}} built in."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: CampaignKind = CampaignKind.NOTICE
    body: str = Field(min_length=1)
    group_id: uuid.UUID | None = None
    recipients: list[MemberIn] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    segment: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="a CRM segment name; its members (crm.segment_members) at create time",
    )
    scheduled_at: datetime | None = Field(
        None, description="without an offset: the tenant's local time"
    )
    reply_options: dict[str, str] = Field(
        default_factory=dict, description='reply code to meaning, e.g. {"1": "attend"}'
    )


class CampaignCounts(BaseModel):
    recipients: int = 0
    pending: int = 0
    suppressed: int = 0
    skipped: int = 0
    queued: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    replied: int = 0
    replies: dict[str, int] = Field(default_factory=dict)
    segments: int = 0
    estimated_cost: str = "0.00"
    currency: str = "CNY"


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: CampaignKind
    body: str
    group_id: uuid.UUID | None
    segment: str | None = None
    status: CampaignStatus
    scheduled_at: datetime | None
    reply_options: dict[str, str] | None
    created_at: datetime
    queued_at: datetime | None
    dispatched_at: datetime | None
    counts: CampaignCounts = Field(default_factory=CampaignCounts)
