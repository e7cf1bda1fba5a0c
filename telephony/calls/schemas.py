"""Call responses: the call with its legs and recorded state transitions."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from telephony.calls.models import Direction, LegRole
from telephony.calls.state import CallState, LegState
from telephony.vpmn.models import Disposition


class LegOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    channel_id: str
    role: LegRole
    endpoint: str
    step: int
    state: LegState
    answered_at: datetime | None
    ended_at: datetime | None
    cause: int | None


class TransitionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_state: CallState
    to_state: CallState
    reason: str
    at: datetime


class CallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    direction: Direction
    state: CallState
    caller: str
    callee: str
    in_network: bool
    member_id: uuid.UUID | None
    queue: str | None
    agent: str | None
    bridge_id: str | None
    ringback_media: str | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    disposition: Disposition | None
    end_reason: str


class CallDetail(CallOut):
    legs: list[LegOut]
    transitions: list[TransitionOut]


class ClickToCallIn(BaseModel):
    """Ring the agent's phone, then the customer; exactly one of endpoint/member_id/user_id."""

    model_config = ConfigDict(extra="forbid")

    to: str = Field(
        min_length=1,
        max_length=100,
        description="the customer: a phone number (E.164 or national) or a member's short number",
    )
    endpoint: str | None = Field(
        None, min_length=1, max_length=200, description="the agent's endpoint, e.g. PJSIP/desk-12"
    )
    member_id: uuid.UUID | None = Field(None, description="a VPMN member: desk first")
    user_id: uuid.UUID | None = Field(None, description="a console user: their mobile")
