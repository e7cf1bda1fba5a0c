"""Call responses: the call with its legs and recorded state transitions."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

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
