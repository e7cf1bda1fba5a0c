"""A tenant's default SLA policy sets new tickets' deadlines; bad calendars are 422s."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from crm.tickets.sla import BusinessCalendar, add_business_minutes
from crm_testkit import make_contact, make_ticket, set_status
from hubtest import TenantCtx

POLICIES = "/api/v1/crm/sla-policies"
ALL_DAY = {str(d): ["00:00", "23:59"] for d in range(7)}


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


async def test_bad_hours_zone_or_holiday_are_a_422_naming_the_field(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    for hours, tz, holidays, field in (
        ({"0": ["18:00", "09:00"]}, "UTC", [], "hours"),
        ({}, "UTC", [], "hours"),  # no working time at all: deadlines could never be set
        ({"0": ["09:00", "18:00"]}, "Mars/Base", [], "timezone"),
        ({"0": ["09:00", "18:00"]}, "UTC", ["2026-10-01", "1 Oct"], "holidays[1]"),
    ):
        r = await client.post(
            POLICIES,
            headers=tenant.auth,
            json={"name": "x", "timezone": tz, "hours": hours, "holidays": holidays},
        )
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field


async def make_policy(client: httpx.AsyncClient, t: TenantCtx, **fields: Any) -> dict[str, Any]:
    body = {"name": "round the clock", "timezone": "UTC", "hours": ALL_DAY, **fields}
    r = await client.post(POLICIES, headers=t.auth, json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def due_after(ticket: dict[str, Any], minutes: int, policy: dict[str, Any]) -> datetime:
    """What `minutes` of the policy's business time after the ticket's creation is."""
    cal = BusinessCalendar.parse(policy["timezone"], policy["hours"], policy["holidays"])
    return add_business_minutes(datetime.fromisoformat(ticket["created_at"]), minutes, cal)


async def test_a_policy_reads_back_by_id(client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    p = await make_policy(client, tenant, targets={"high": {"first_response": 5, "resolution": 9}})
    r = await client.get(f"{POLICIES}/{p['id']}", headers=tenant.auth)
    assert r.status_code == 200, r.text
    assert r.json() == p
    r = await client.get(f"{POLICIES}/{uuid.uuid4()}", headers=tenant.auth)
    assert r.status_code == 404


async def test_patched_targets_merge_per_priority_and_set_new_tickets_deadlines(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    p = await make_policy(
        client,
        tenant,
        is_default=True,
        targets={
            "high": {"first_response": 20, "resolution": 200},
            "low": {"first_response": 90, "resolution": 900},
        },
    )
    before = await make_ticket(client, tenant, None, priority="high")
    r = await client.patch(
        f"{POLICIES}/{p['id']}",
        headers=tenant.auth,
        json={
            "name": "24/7",
            "targets": {"urgent": {"first_response": 5, "resolution": 60}, "low": None},
            "holidays": ["2026-10-01"],
        },
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["name"] == "24/7" and got["holidays"] == ["2026-10-01"]
    assert got["targets"] == {
        "high": {"first_response": 20, "resolution": 200},  # kept
        "urgent": {"first_response": 5, "resolution": 60},  # added
    }  # low: back to the built-in targets
    assert (await client.get(f"{POLICIES}/{p['id']}", headers=tenant.auth)).json() == got

    urgent = await make_ticket(client, tenant, None, priority="urgent")
    assert datetime.fromisoformat(urgent["first_response_due"]) == due_after(urgent, 5, got)
    assert datetime.fromisoformat(urgent["resolution_due"]) == due_after(urgent, 60, got)
    low = await make_ticket(client, tenant, None, priority="low")
    assert datetime.fromisoformat(low["first_response_due"]) == due_after(low, 960, got)
    # A ticket already under the policy keeps the deadlines it was given.
    r = await client.get(f"/api/v1/crm/tickets/{before['id']}", headers=tenant.auth)
    assert r.json()["resolution_due"] == before["resolution_due"]


async def test_patch_refuses_bad_fields_with_a_422_naming_them(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    p = await make_policy(client, tenant)
    url = f"{POLICIES}/{p['id']}"
    for body, field in (
        ({"timezone": "Nowhere/City"}, "timezone"),
        ({"hours": {"7": ["09:00", "18:00"]}}, "hours"),
        ({"hours": {"0": ["09:00"]}}, "hours"),
        ({"holidays": ["2026-13-01"]}, "holidays[0]"),
    ):
        r = await client.patch(url, headers=tenant.auth, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["field"] == field
    for body, loc in (
        ({"targets": {"high": {"first_response": 0, "resolution": 10}}}, "targets"),
        ({"targets": {"highest": {"first_response": 1, "resolution": 10}}}, "targets"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "colour"),
    ):
        r = await client.patch(url, headers=tenant.auth, json=body)
        assert r.status_code == 422, (body, r.text)
        assert loc in r.json()["detail"][0]["loc"], r.text
    assert (await client.get(url, headers=tenant.auth)).json() == p  # nothing half-applied


async def test_one_default_policy_at_a_time(client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    first = await make_policy(client, tenant, name="a", is_default=True)
    second = await make_policy(client, tenant, name="b")
    r = await client.patch(
        f"{POLICIES}/{second['id']}", headers=tenant.auth, json={"is_default": True}
    )
    assert r.status_code == 200, r.text
    listed = (await client.get(POLICIES, headers=tenant.auth)).json()
    assert [(x["id"], x["is_default"]) for x in listed] == [
        (first["id"], False),
        (second["id"], True),
    ]
    t = await make_ticket(client, tenant, None)
    assert t["sla_policy_id"] == second["id"]


async def test_a_policy_in_use_is_not_deleted_until_its_tickets_are_closed(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    p = await make_policy(client, tenant)
    done = await make_ticket(client, tenant, None, sla_policy_id=p["id"])
    await set_status(client, tenant, done["id"], "closed")
    active = await make_ticket(client, tenant, None, sla_policy_id=p["id"])
    await set_status(client, tenant, active["id"], "resolved")  # may still reopen

    r = await client.delete(f"{POLICIES}/{p['id']}", headers=tenant.auth)
    assert r.status_code == 409, r.text
    assert r.json()["field"] == "sla_policy_id" and "1 ticket(s)" in r.json()["detail"]
    assert (await client.get(f"{POLICIES}/{p['id']}", headers=tenant.auth)).status_code == 200

    await set_status(client, tenant, active["id"], "closed")
    r = await client.delete(f"{POLICIES}/{p['id']}", headers=tenant.auth)
    assert r.status_code == 204, r.text
    assert (await client.get(f"{POLICIES}/{p['id']}", headers=tenant.auth)).status_code == 404
    for t in (done, active):
        got = (await client.get(f"/api/v1/crm/tickets/{t['id']}", headers=tenant.auth)).json()
        assert got["sla_policy_id"] is None
        assert got["resolution_due"] == t["resolution_due"]  # its deadlines stay
