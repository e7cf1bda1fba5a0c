"""CSAT by agent, team and month: responses, average, share of 4-5 scores, response rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from comms.db.base import utcnow
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from crm.surveys.models import Survey
from crm_testkit import make_contact, make_ticket, receive_sms, set_status, use_inbound_number
from hubtest import TenantCtx

AMY = "7d5a1c2e-0000-4000-8000-0000000000a1"
BEN = "7d5a1c2e-0000-4000-8000-0000000000b2"


async def scored(
    hub: Hub,
    client: httpx.AsyncClient,
    t: TenantCtx,
    n: int,
    agent: str,
    team: str,
    score: str | None,
) -> None:
    phone = f"+86138001380{n:02d}"
    c = await make_contact(client, t, f"c{n}", phones=[phone])
    ticket = await make_ticket(client, t, c["id"], f"issue {n}", assignee_id=agent, team=team)
    await set_status(client, t, ticket["id"], "resolved")
    if score is not None:
        await receive_sms(hub, phone, score, f"p-{n}")


async def test_csat_groups_by_agent_team_and_month(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await use_inbound_number(client, tenant)
    await scored(hub, client, tenant, 1, AMY, "noc", "5")
    await scored(hub, client, tenant, 2, AMY, "noc", "4")
    await scored(hub, client, tenant, 3, AMY, "noc", None)  # never answered
    await scored(hub, client, tenant, 4, BEN, "billing", "2")

    async def report(**params: str) -> dict[str, object]:
        r = await client.get("/api/v1/crm/surveys/csat", headers=tenant.auth, params=params)
        assert r.status_code == 200, r.text
        body: dict[str, object] = r.json()
        return body

    amy = {"sent": 3, "responses": 2, "average": 4.5, "csat": 100.0, "response_rate": 66.7}
    ben = {"sent": 1, "responses": 1, "average": 2.0, "csat": 0.0, "response_rate": 100.0}
    all4 = {"sent": 4, "responses": 3, "average": 3.67, "csat": 66.7, "response_rate": 75.0}
    by_agent = await report(group_by="agent")
    assert sorted(by_agent["items"], key=lambda r: r["key"]) == [  # type: ignore[arg-type,index]
        {"key": AMY, **amy},
        {"key": BEN, **ben},
    ]
    assert by_agent["total"] == {"key": None, **all4}
    by_team = await report(group_by="team")
    assert by_team["items"] == [{"key": "billing", **ben}, {"key": "noc", **amy}]
    month = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    assert (await report(group_by="month"))["items"] == [{"key": month, **all4}]
    tomorrow = (utcnow() + timedelta(days=1)).isoformat()
    later = await report(group_by="agent", **{"from": tomorrow})
    assert later["items"] == [] and later["total"]["sent"] == 0  # type: ignore[index]
    earlier = await report(group_by="team", to=tomorrow)
    assert earlier["total"] == {"key": None, **all4}
    bad = await client.get(
        "/api/v1/crm/surveys/csat", headers=tenant.auth, params={"group_by": "week"}
    )
    assert bad.status_code == 422


async def test_months_are_the_tenants_local_months(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    """20:00 UTC on 31 October is 04:00 on 1 November in Shanghai: a November survey."""
    await use_inbound_number(client, tenant)
    await scored(hub, client, tenant, 1, AMY, "noc", "5")
    await scored(hub, client, tenant, 2, AMY, "noc", "3")
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        first, second = list(await s.scalars(select(Survey).order_by(Survey.sent_at)))
        first.sent_at = datetime(2026, 10, 31, 20, 0, tzinfo=UTC)
        second.sent_at = datetime(2026, 10, 31, 15, 59, tzinfo=UTC)  # 23:59 local
        await s.commit()
    r = await client.get(
        "/api/v1/crm/surveys/csat", headers=tenant.auth, params={"group_by": "month"}
    )
    assert [(x["key"], x["average"]) for x in r.json()["items"]] == [
        ("2026-10", 3.0),
        ("2026-11", 5.0),
    ]
    local = await client.get(
        "/api/v1/crm/surveys/csat",
        headers=tenant.auth,
        params={"group_by": "month", "from": "2026-11-01T00:00:00"},  # Shanghai midnight
    )
    assert [x["key"] for x in local.json()["items"]] == ["2026-11"]
