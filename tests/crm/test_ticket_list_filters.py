"""`GET /tickets` narrows by status, priority, assignee and team, and pages with a cursor."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from crm_testkit import make_ticket, set_status
from hubtest import TenantCtx

TICKETS = "/api/v1/crm/tickets"


async def subjects(client: httpx.AsyncClient, t: TenantCtx, **params: Any) -> list[str]:
    r = await client.get(TICKETS, headers=t.auth, params=params)
    assert r.status_code == 200, r.text
    return sorted(x["subject"] for x in r.json()["items"])


async def test_tickets_filter_by_assignee_team_priority_and_status(
    client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    wang, li = str(uuid.uuid4()), str(uuid.uuid4())
    await make_ticket(client, tenant, None, "a", assignee_id=wang, team="noc", priority="high")
    await make_ticket(client, tenant, None, "b", assignee_id=wang, team="billing")
    await make_ticket(client, tenant, None, "c", assignee_id=li, team="noc", priority="urgent")
    d = await make_ticket(client, tenant, None, "d", team="noc", priority="high")
    await set_status(client, tenant, d["id"], "pending")
    await make_ticket(client, other_tenant, None, "x", assignee_id=wang, team="noc")

    assert await subjects(client, tenant, assignee_id=wang) == ["a", "b"]
    assert await subjects(client, tenant, team="noc") == ["a", "c", "d"]
    assert await subjects(client, tenant, priority="high") == ["a", "d"]
    assert await subjects(client, tenant, priority=["high", "urgent"]) == ["a", "c", "d"]
    assert await subjects(client, tenant, status="pending") == ["d"]
    assert await subjects(client, tenant, status=["new", "pending"], team="noc") == ["a", "c", "d"]
    assert await subjects(client, tenant, team="noc", priority="high", status="new") == ["a"]
    assert await subjects(client, tenant, assignee_id=li, priority="high") == []
    assert await subjects(client, tenant, team="nobody") == []
    assert await subjects(client, tenant, unassigned="true") == ["d"]
    assert await subjects(client, tenant, unassigned="true", team="billing") == []

    r = await client.get(
        TICKETS, headers=tenant.auth, params={"unassigned": "true", "assignee_id": wang}
    )
    assert r.status_code == 422 and r.json()["field"] == "unassigned"

    r = await client.get(TICKETS, headers=tenant.auth, params={"priority": "highest"})
    assert r.status_code == 422 and "priority" in r.json()["detail"][0]["loc"]


async def test_a_filtered_list_pages_with_its_cursor(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    made = [await make_ticket(client, tenant, None, f"t{i}", team="noc") for i in range(5)]
    await make_ticket(client, tenant, None, "elsewhere", team="billing")
    seen: list[str] = []
    params: dict[str, Any] = {"team": "noc", "limit": 2}
    for _ in range(5):
        r = await client.get(TICKETS, headers=tenant.auth, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        seen += [x["id"] for x in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [t["id"] for t in sorted(made, key=lambda t: (t["created_at"], t["id"]))][::-1]

    r = await client.get(TICKETS, headers=tenant.auth, params={"cursor": "not-a-cursor"})
    assert r.status_code == 422 and r.json()["field"] == "cursor"
