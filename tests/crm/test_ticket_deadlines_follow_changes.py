"""A ticket's SLA deadlines follow a change of its priority or policy, counted from its
creation; a first response already made stays met, and an escalated ticket is not escalated
again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from crm.tickets.models import Priority
from crm.tickets.schemas import TicketIn
from crm.tickets.service import create_ticket, escalate_overdue
from crm.tickets.sla import DEFAULT_TARGETS, BusinessCalendar, add_business_minutes
from crm_testkit import published
from hubtest import TenantCtx

POLICIES = "/api/v1/crm/sla-policies"
TICKETS = "/api/v1/crm/tickets"
MONDAY_10 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
WEEKDAYS = {str(d): ["09:00", "18:00"] for d in range(5)}
TARGETS = {
    "normal": {"first_response": 240, "resolution": 1200},
    "high": {"first_response": 60, "resolution": 480},
    "urgent": {"first_response": 15, "resolution": 120},
}


async def make_policy(client: httpx.AsyncClient, t: TenantCtx, **fields: Any) -> dict[str, Any]:
    body = {"name": "support", "timezone": "Asia/Shanghai", "hours": WEEKDAYS, **fields}
    r = await client.post(POLICIES, headers=t.auth, json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def ticket_at(hub: Hub, t: TenantCtx, at: datetime, **fields: Any) -> str:
    """A ticket created at `at` (the service takes the clock; the API would take now)."""
    async with hub.db.session() as s:
        scoped_to(s, t.id)
        ticket = await create_ticket(s, TicketIn(subject="no signal", **fields), now=at)
        await s.commit()
        return str(ticket.id)


async def patch(client: httpx.AsyncClient, t: TenantCtx, ticket_id: str, **body: Any) -> Any:
    r = await client.patch(f"{TICKETS}/{ticket_id}", headers=t.auth, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def due(policy: dict[str, Any] | None, start: datetime, minutes: int) -> datetime:
    if policy is None:
        cal = BusinessCalendar.parse("Asia/Shanghai", WEEKDAYS)
    else:
        cal = BusinessCalendar.parse(policy["timezone"], policy["hours"], policy["holidays"])
    return add_business_minutes(start, minutes, cal)


def deadlines(ticket: dict[str, Any]) -> tuple[datetime, datetime]:
    return (
        datetime.fromisoformat(ticket["first_response_due"]),
        datetime.fromisoformat(ticket["resolution_due"]),
    )


async def test_a_priority_change_recomputes_both_deadlines_from_creation(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    p = await make_policy(client, tenant, targets=TARGETS, is_default=True)
    tid = await ticket_at(hub, tenant, MONDAY_10)
    for prio in ("high", "urgent", "normal"):
        got = await patch(client, tenant, tid, priority=prio)
        assert deadlines(got) == (
            due(p, MONDAY_10, TARGETS[prio]["first_response"]),
            due(p, MONDAY_10, TARGETS[prio]["resolution"]),
        ), prio
    # No custom target for low: the built-in one, still on the policy's calendar.
    got = await patch(client, tenant, tid, priority="low")
    assert deadlines(got) == (
        due(p, MONDAY_10, DEFAULT_TARGETS["low"]["first_response"]),
        due(p, MONDAY_10, DEFAULT_TARGETS["low"]["resolution"]),
    )
    [*_, last] = await published(hub, "crm.ticket.updated")
    assert last["changes"] == ["priority"] and last["priority"] == "low"


async def test_a_first_response_already_made_keeps_its_deadline(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    p = await make_policy(client, tenant, targets=TARGETS, is_default=True)
    tid = await ticket_at(hub, tenant, MONDAY_10)
    opened = await patch(client, tenant, tid, status="open")  # the first response
    got = await patch(client, tenant, tid, priority="urgent")
    assert got["first_response_due"] == opened["first_response_due"]
    assert deadlines(got)[1] == due(p, MONDAY_10, TARGETS["urgent"]["resolution"])


async def test_moving_a_ticket_to_another_policy_recomputes_with_its_targets(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    default = await make_policy(client, tenant, targets=TARGETS, is_default=True)
    vip = await make_policy(
        client,
        tenant,
        name="vip",
        timezone="UTC",
        hours={str(d): ["00:00", "23:59"] for d in range(7)},
        targets={"high": {"first_response": 10, "resolution": 30}},
    )
    tid = await ticket_at(hub, tenant, MONDAY_10, priority=Priority.HIGH)
    got = await patch(client, tenant, tid, sla_policy_id=vip["id"])
    assert got["sla_policy_id"] == vip["id"]
    assert deadlines(got) == (due(vip, MONDAY_10, 10), due(vip, MONDAY_10, 30))

    got = await patch(client, tenant, tid, sla_policy_id=None)  # back to the default
    assert got["sla_policy_id"] == default["id"]
    assert deadlines(got) == (due(default, MONDAY_10, 60), due(default, MONDAY_10, 480))

    r = await client.patch(
        f"{TICKETS}/{tid}", headers=tenant.auth, json={"sla_policy_id": str(uuid.uuid4())}
    )
    assert r.status_code == 422 and r.json()["field"] == "sla_policy_id"


async def test_an_escalated_ticket_is_not_escalated_again_after_its_priority_changes(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await make_policy(client, tenant, targets=TARGETS, is_default=True)
    tid = await ticket_at(hub, tenant, MONDAY_10)
    first_check = MONDAY_10 + timedelta(days=1)
    async with hub.db.session() as s:
        unscoped(s)
        assert len(await escalate_overdue(s, first_check)) == 1  # normal -> high
        await s.commit()
    # An agent sets it back to normal, then urgent: new deadlines, both long past.
    await patch(client, tenant, tid, priority="normal")
    got = await patch(client, tenant, tid, priority="urgent")
    assert deadlines(got)[0] < first_check
    assert datetime.fromisoformat(got["escalated_at"]) == first_check
    async with hub.db.session() as s:
        unscoped(s)
        assert await escalate_overdue(s, first_check + timedelta(days=30)) == []
        await s.commit()
    assert len(await published(hub, "crm.ticket.escalated")) == 1


async def test_a_raised_priority_whose_target_has_passed_is_escalated_once(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    p = await make_policy(client, tenant, targets=TARGETS, is_default=True)
    tid = await ticket_at(hub, tenant, MONDAY_10)
    check = MONDAY_10 + timedelta(hours=1)  # normal's first response is due at 14:00
    async with hub.db.session() as s:
        unscoped(s)
        assert await escalate_overdue(s, check) == []
        await s.commit()
    await patch(client, tenant, tid, priority="high")  # its first response was due at 11:00
    for _ in range(2):
        async with hub.db.session() as s:
            unscoped(s)
            await escalate_overdue(s, check + timedelta(minutes=1))
            await s.commit()
    [e] = await published(hub, "crm.ticket.escalated")
    assert (e["reason"], e["previous_priority"], e["priority"]) == (
        "first_response",
        "high",
        "urgent",
    )
    assert datetime.fromisoformat(e["due"]) == due(p, MONDAY_10, 60)
