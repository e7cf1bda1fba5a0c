"""Routes for survey settings, surveys and the CSAT report: parse, call, serialise."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from comms.audit import service as audit
from comms.deps import AdminDep, SessionDep, ViewerDep
from crm.surveys import report, service
from crm.surveys.models import Survey, SurveyStatus
from crm.surveys.schemas import (
    CsatReport,
    SurveyOut,
    SurveyPage,
    SurveySettingsIn,
    SurveySettingsOut,
)

router = APIRouter(prefix="/api/v1/crm/surveys", tags=["crm"])


@router.get("/settings", response_model=SurveySettingsOut)
async def get_settings(_: ViewerDep, s: SessionDep) -> SurveySettingsOut:
    return service.settings_out(await service.settings_of(s))


@router.put("/settings", response_model=SurveySettingsOut)
async def put_settings(body: SurveySettingsIn, who: AdminDep, s: SessionDep) -> SurveySettingsOut:
    row = await service.put_settings(s, body)
    changes = body.model_dump(mode="json")
    audit.record(s, who, "crm.survey_settings.updated", "crm_survey_settings", row.id, changes)
    out = service.settings_out(row)
    await s.commit()
    return out


@router.get("", response_model=SurveyPage)
async def list_surveys(
    _: ViewerDep,
    s: SessionDep,
    ticket_id: uuid.UUID | None = None,
    status: SurveyStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> SurveyPage:
    q = select(Survey).order_by(Survey.sent_at.desc(), Survey.id).limit(limit)
    if ticket_id is not None:
        q = q.where(Survey.ticket_id == ticket_id)
    if status is not None:
        q = q.where(Survey.status == status)
    return SurveyPage(items=[SurveyOut.model_validate(x) for x in await s.scalars(q)])


@router.get("/csat", response_model=CsatReport)
async def csat(
    _: ViewerDep,
    s: SessionDep,
    group_by: report.GroupBy = "month",
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
) -> CsatReport:
    """Responses, average score, CSAT % (4s and 5s) and response rate per group."""
    return await report.csat(s, group_by, since, until)
