"""CSAT figures by agent, team or month, counted in SQL (GROUP BY)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.base import utcnow
from comms.db.tenancy import current_tenant
from comms.tenants.models import Tenant
from crm.surveys.models import Survey, SurveyStatus
from crm.surveys.schemas import CsatReport, CsatRow

GroupBy = Literal["agent", "team", "month"]


async def _zone(s: AsyncSession) -> ZoneInfo:
    tid = current_tenant(s)
    tenant = await s.get(Tenant, tid) if tid else None
    return ZoneInfo(tenant.timezone if tenant else "Asia/Shanghai")


async def _month(s: AsyncSession) -> ColumnElement[Any]:
    """YYYY-MM of sent_at in the tenant's zone: exact on PostgreSQL (AT TIME ZONE); SQLite
    knows no zones, so there the zone's current UTC offset is used (no DST in China)."""
    zone = await _zone(s)
    if s.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(zone.key, Survey.sent_at), "YYYY-MM")
    delta = utcnow().astimezone(zone).utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta else 0
    return func.strftime("%Y-%m", Survey.sent_at, f"{minutes:+d} minutes")


def _row(key: str | None, sent: int, responses: int, total: int, happy: int) -> CsatRow:
    return CsatRow(
        key=key,
        sent=sent,
        responses=responses,
        average=round(total / responses, 2) if responses else None,
        csat=round(100 * happy / responses, 1) if responses else None,
        response_rate=round(100 * responses / sent, 1) if sent else None,
    )


async def csat(
    s: AsyncSession,
    group_by: GroupBy,
    since: datetime | None = None,
    until: datetime | None = None,
) -> CsatReport:
    """Surveys sent in [since, until), grouped; skipped surveys (never sent) do not count.

    `since`/`until` without an offset are read in the tenant's time zone."""
    zone = await _zone(s)
    since, until = (d if d is None or d.tzinfo else d.replace(tzinfo=zone) for d in (since, until))
    key: ColumnElement[Any]
    if group_by == "agent":
        key = Survey.agent_id.expression
    elif group_by == "team":
        key = Survey.team.expression
    else:
        key = await _month(s)
    answered = Survey.status == SurveyStatus.ANSWERED
    q = (
        select(
            key.label("key"),
            func.count().label("sent"),
            func.sum(case((answered, 1), else_=0)).label("responses"),
            func.sum(case((answered, Survey.score), else_=0)).label("total"),
            func.sum(case((Survey.score >= 4, 1), else_=0)).label("happy"),
        )
        .where(Survey.status != SurveyStatus.SKIPPED)
        .group_by(key)
        .order_by(key)
    )
    if since is not None:
        q = q.where(Survey.sent_at >= since)
    if until is not None:
        q = q.where(Survey.sent_at < until)
    items: list[CsatRow] = []
    sums = [0, 0, 0, 0]
    for k, sent, responses, total, happy in await s.execute(q):
        counts = [int(sent), int(responses or 0), int(total or 0), int(happy or 0)]
        sums = [a + b for a, b in zip(sums, counts, strict=True)]
        items.append(_row(None if k is None else str(k), *counts))
    return CsatReport(group_by=group_by, items=items, total=_row(None, *sums))
