"""Request and response shapes for survey settings, surveys and the CSAT report."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crm.surveys.models import SurveyStatus


class SurveySettingsIn(BaseModel):
    """`template` may use {{subject}} and {{ticket}}; omit it for the locale's default text."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    locale: Literal["zh-CN", "en"] = "zh-CN"
    template: str | None = Field(None, max_length=500)


class SurveySettingsOut(BaseModel):
    enabled: bool
    locale: str
    template: str | None
    text: str  # what is sent: the template or the locale's default


class SurveyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    ticket_id: uuid.UUID
    contact_id: uuid.UUID | None
    phone: str
    status: SurveyStatus
    message_id: uuid.UUID | None
    agent_id: uuid.UUID | None
    team: str | None
    sent_at: datetime
    expires_at: datetime
    score: int | None
    answered_at: datetime | None
    skip_reason: str | None


class SurveyPage(BaseModel):
    items: list[SurveyOut]


class CsatRow(BaseModel):
    key: str | None  # agent id, team or YYYY-MM; None = no agent / no team
    sent: int
    responses: int
    average: float | None
    csat: float | None  # % of responses scoring 4 or 5
    response_rate: float | None  # % of sent surveys answered


class CsatReport(BaseModel):
    group_by: str
    items: list[CsatRow]
    total: CsatRow
