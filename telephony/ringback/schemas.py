"""Ringback request and response bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from pydantic import BaseModel, ConfigDict, Field, model_validator

from telephony.ringback.rules import Scope


class ToneOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    duration: float
    original_format: str
    size: int
    media: str
    created_at: datetime


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tone_id: uuid.UUID
    name: str = Field("", max_length=200)
    scope: Scope
    department: str | None = Field(None, max_length=200)
    member_id: uuid.UUID | None = None
    weekdays: list[int] = Field(default_factory=list, description="Monday = 0 … Sunday = 6")
    start_time: time | None = None
    end_time: time | None = None
    start_date: date | None = None
    end_date: date | None = None
    priority: int = Field(0, ge=-1000, le=1000)

    @model_validator(mode="after")
    def _coherent(self) -> RuleIn:
        if self.scope is Scope.DEPARTMENT and not self.department:
            raise ValueError("a department rule needs department")
        if self.scope is Scope.MEMBER and self.member_id is None:
            raise ValueError("a member rule needs member_id")
        if any(not 0 <= d <= 6 for d in self.weekdays):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        self.weekdays = sorted(set(self.weekdays))
        if (self.start_time is None) != (self.end_time is None):
            raise ValueError("give both start_time and end_time, or neither")
        if self.start_time is not None and self.start_time == self.end_time:
            raise ValueError("start_time and end_time are equal: an empty window")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class RuleOut(RuleIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: uuid.UUID
    created_at: datetime


class ResolveOut(BaseModel):
    callee: str
    member_id: uuid.UUID | None
    department: str | None
    at: datetime
    local_time: datetime
    tone: ToneOut | None
    rule_id: uuid.UUID | None
