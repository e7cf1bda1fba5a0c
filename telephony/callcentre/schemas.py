"""Call-centre request and response bodies; validation errors name the field."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from telephony.callcentre.models import Overflow, Strategy
from telephony.callcentre.state import AgentState, EntryState

SkillMap = dict[str, int]


class QueueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    strategy: Strategy = Strategy.LONGEST_IDLE
    skills: dict[str, int] = Field(default_factory=dict)
    skill_fallback_seconds: int | None = Field(None, ge=0)
    ring_timeout: int = Field(15, ge=1, le=300)
    wrapup_seconds: int = Field(10, ge=0, le=3600)
    max_length: int | None = Field(None, ge=1)
    max_wait: int | None = Field(None, ge=1)
    overflow: Overflow = Overflow.NONE
    overflow_queue_id: uuid.UUID | None = None
    overflow_mailbox: str | None = Field(None, max_length=100)
    moh_class: str = Field("default", min_length=1, max_length=80)
    announce_interval: int | None = Field(None, ge=5)
    service_level_seconds: int = Field(20, ge=1)
    record: bool = False
    priority_segment: str | None = Field(None, max_length=100)
    dids: list[str] = Field(default_factory=list)


class QueueUpdate(BaseModel):
    """Partial update: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100)
    strategy: Strategy | None = None
    skills: dict[str, int] | None = None
    skill_fallback_seconds: int | None = Field(None, ge=0)
    ring_timeout: int | None = Field(None, ge=1, le=300)
    wrapup_seconds: int | None = Field(None, ge=0, le=3600)
    max_length: int | None = Field(None, ge=1)
    max_wait: int | None = Field(None, ge=1)
    overflow: Overflow | None = None
    overflow_queue_id: uuid.UUID | None = None
    overflow_mailbox: str | None = Field(None, max_length=100)
    moh_class: str | None = Field(None, min_length=1, max_length=80)
    announce_interval: int | None = Field(None, ge=5)
    service_level_seconds: int | None = Field(None, ge=1)
    record: bool | None = None
    priority_segment: str | None = Field(None, max_length=100)
    dids: list[str] | None = None


class QueueOut(QueueIn):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    endpoint: str = Field(min_length=1, max_length=200, examples=["PJSIP/1001"])
    skills: dict[str, int] = Field(default_factory=dict)
    queue_ids: list[uuid.UUID] = Field(default_factory=list)
    webrtc: WebRtcIn | None = None


class WebRtcIn(BaseModel):
    """Browser audio for the agent console; the password is never read back."""

    model_config = ConfigDict(extra="forbid")

    wss_url: str = Field(
        min_length=6, max_length=300, pattern=r"^wss?://", examples=["wss://pbx.example.cn:8089/ws"]
    )
    sip_uri: str = Field(
        min_length=5, max_length=200, pattern=r"^sips?:", examples=["sip:1001@pbx.example.cn"]
    )
    password: str = Field(min_length=1, max_length=200)


class AgentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    endpoint: str | None = Field(None, min_length=1, max_length=200)
    skills: dict[str, int] | None = None
    queue_ids: list[uuid.UUID] | None = None
    webrtc: WebRtcIn | None = None


class AgentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    endpoint: str
    state: AgentState
    reason: str | None
    state_since: datetime
    idle_since: datetime | None
    skills: dict[str, int]
    queue_ids: list[uuid.UUID] = Field(default_factory=list)
    current_call_id: uuid.UUID | None
    calls_taken: int
    webrtc_sip_uri: str | None = None


class StateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["available", "paused", "logged_out"]
    reason: str | None = Field(None, min_length=1, max_length=80)

    @model_validator(mode="after")
    def _pause_needs_reason(self) -> StateIn:
        if self.state == "paused" and not self.reason:
            raise ValueError("reason is required to pause")
        return self


class WrapupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=80)
    notes: str = Field("", max_length=2000)


class TransitionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_state: AgentState
    to_state: AgentState
    reason: str
    at: datetime


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    call_id: uuid.UUID | None
    channel_id: str
    caller: str
    priority: int
    entered_at: datetime
    position: int = 0
    state: EntryState
    agent_id: uuid.UUID | None


class QueueCallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    queue_id: uuid.UUID
    call_id: uuid.UUID | None
    caller: str
    state: EntryState
    agent_id: uuid.UUID | None
    entered_at: datetime
    offered_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    abandoned_at: datetime | None
    overflowed_at: datetime | None
    transferred_at: datetime | None
    overflow_target: str | None
    wait_seconds: int | None
    handle_seconds: int | None
    wrapup_code: str | None
    notes: str
    recording: str | None


class StatsOut(BaseModel):
    queue_id: uuid.UUID
    waiting: int
    longest_wait_seconds: int
    agents: dict[str, int]
    offered: int
    answered: int
    abandoned: int
    overflowed: int
    service_level: float | None
    abandon_rate: float | None
    average_handle_seconds: float | None
    since: datetime


class IntervalOut(BaseModel):
    start: datetime
    end: datetime
    offered: int
    answered: int
    abandoned: int
    overflowed: int
    service_level: float | None
    abandon_rate: float | None
    average_wait_seconds: float | None
    average_handle_seconds: float | None


class TransferIn(BaseModel):
    """Exactly one target; attended consults it first (complete or cancel next)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["blind", "attended"] = "blind"
    queue_id: uuid.UUID | None = None
    agent_id: uuid.UUID | None = None
    number: str | None = Field(None, min_length=2, max_length=32, pattern=r"^\+?[0-9]+$")

    @model_validator(mode="after")
    def _one_target(self) -> TransferIn:
        if sum(x is not None for x in (self.queue_id, self.agent_id, self.number)) != 1:
            raise ValueError("give exactly one of queue_id, agent_id or number")
        return self


class MonitorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["listen", "whisper", "barge"]
    endpoint: str = Field(min_length=1, max_length=200, examples=["PJSIP/sup1"])


class MonitorOut(BaseModel):
    mode: str
    queue_call_id: uuid.UUID
    channel_id: str
    bridge_id: str
    snoop_id: str | None


class DialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=2, max_length=32, pattern=r"^\+?[0-9]+$")


class DialOut(BaseModel):
    call_id: uuid.UUID
