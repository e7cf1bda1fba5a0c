"""Request and response shapes for approval chains, requests and decisions."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from comms.auth.models import Role
from erp.approvals.models import (
    ApprovalKind,
    Decision,
    DecisionChannel,
    RequestStatus,
    StepStatus,
)


class ChainStepIn(BaseModel):
    """A step applies when the amount is at least `min_amount` (fen); name a role (every
    active user of it may decide) or one user."""

    model_config = ConfigDict(extra="forbid")

    min_amount: int = Field(0, ge=0)
    role: Role | None = None
    user_id: uuid.UUID | None = None


class ChainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ApprovalKind
    steps: list[ChainStepIn] = Field(max_length=10)


class ChainStepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    min_amount: int
    role: str | None
    user_id: uuid.UUID | None


class ChainOut(BaseModel):
    kind: ApprovalKind
    steps: list[ChainStepOut]


class RequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ApprovalKind
    amount: int = Field(gt=0, description="fen")
    reason: str = Field(min_length=1, max_length=500)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Decision
    note: str = Field("", max_length=500)


class StepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    role: str | None
    user_id: uuid.UUID | None
    status: StepStatus
    started_at: datetime | None
    decided_at: datetime | None


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    approver_id: uuid.UUID
    decision: Decision
    channel: DecisionChannel
    note: str
    at: datetime


class RequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: ApprovalKind
    amount: int
    reason: str
    requester_id: uuid.UUID
    requester_name: str
    status: RequestStatus
    created_at: datetime
    decided_at: datetime | None
    steps: list[StepOut]
    decisions: list[DecisionOut]


class RequestPage(BaseModel):
    items: list[RequestOut]
    next_cursor: str | None = None
