"""A tenant's default SLA policy sets new tickets' deadlines; bad calendars are 422s."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx

from crm_testkit import make_contact
from hubtest import TenantCtx


def first_eligible_monday(now: datetime) -> date:
    """The Monday whose morning a ticket opened now would otherwise fall on."""
    if now.weekday() == 0 and now.hour < 12:
        return now.date()
    return now.date() + timedelta(days=(7 - now.weekday()) % 7 or 7)


async def test_default_policy_counts_its_own_hours_and_holidays(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    holiday = first_eligible_monday(datetime.now(UTC))
    policy = {
        "name": "support",
        "timezone": "UTC",
        "hours": {"0": ["08:00", "12:00"]},  # Mondays only, mornings
        "holidays": [holiday.isoformat()],
        "targets": {"normal": {"first_response": 60, "resolution": 300}},
        "is_default": True,
    }
    r = await client.post("/api/v1/crm/sla-policies", headers=tenant.auth, json=policy)
    assert r.status_code == 201, r.text
    c = await make_contact(client, tenant, phones=["13800138000"])
    t = await client.post(
        "/api/v1/crm/tickets", headers=tenant.auth, json={"subject": "s", "contact_id": c["id"]}
    )
    assert t.status_code == 201, t.text
    body = t.json()
    assert body["sla_policy_id"] == r.json()["id"]
    first = datetime.fromisoformat(body["first_response_due"])
    resolution = datetime.fromisoformat(body["resolution_due"])
    assert first.weekday() == 0 and first.astimezone(UTC).hour in range(8, 13)
    assert first.date() > holiday  # the holiday Monday is skipped
    assert (resolution - first).days >= 7  # 5 hours need two Monday mornings


async def test_bad_hours_or_zone_are_a_422_on_hours(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    for hours, tz in (({"0": ["18:00", "09:00"]}, "UTC"), ({"0": ["09:00", "18:00"]}, "Mars/Base")):
        r = await client.post(
            "/api/v1/crm/sla-policies",
            headers=tenant.auth,
            json={"name": "x", "timezone": tz, "hours": hours},
        )
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "hours"
