"""`GET /approvals?awaiting=me`: what an approver may decide now, and nothing else — not a
later step, not a decided request, not another tenant's — newest first, paged by cursor."""

from __future__ import annotations

from typing import Any

import httpx

from approval_kit import ask, staff, two_step_chain
from erp_testkit import API, make_user
from hubtest import TenantCtx


async def awaiting(
    client: httpx.AsyncClient, auth: dict[str, str], **params: Any
) -> dict[str, Any]:
    r = await client.get(f"{API}/approvals", headers=auth, params={"awaiting": "me", **params})
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


def ids(page: dict[str, Any]) -> list[str]:
    return [r["id"] for r in page["items"]]


async def test_awaiting_me_lists_exactly_the_requests_whose_current_step_the_caller_decides(
    client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    people = await staff(client, tenant)
    _, sup2_auth = await make_user(client, tenant, "sup2@acme.cn", "supervisor")
    await two_step_chain(client, tenant, people)
    big = await ask(client, people, 250000)  # step 1 (supervisors) now, finance later
    passed = await ask(client, people, 300000)  # supervisors approved: finance's turn
    ok = await client.post(
        f"{API}/approvals/{passed['id']}/decision",
        headers=people.supervisor_auth,
        json={"decision": "approve"},
    )
    assert ok.status_code == 200, ok.text
    refused = await ask(client, people, 5000)
    no = await client.post(
        f"{API}/approvals/{refused['id']}/decision",
        headers=sup2_auth,
        json={"decision": "reject"},
    )
    assert no.status_code == 200, no.text
    small = await ask(client, people, 5000)  # one step, supervisors

    # Another tenant's supervisor-step request is nobody's business here.
    theirs = await staff(client, other_tenant)
    await two_step_chain(client, other_tenant, theirs)
    foreign = await ask(client, theirs, 5000)

    # Supervisors by role, newest first; not the decided ones nor the one past their step.
    assert ids(await awaiting(client, people.supervisor_auth)) == [small["id"], big["id"]]
    assert ids(await awaiting(client, sup2_auth)) == [small["id"], big["id"]]
    # The finance user by name, only where their step is the current one.
    finance = await awaiting(client, people.finance_auth)
    assert ids(finance) == [passed["id"]]
    assert finance["items"][0]["requester_name"].startswith("req-")
    assert finance["next_cursor"] is None
    # The requester (an agent, a role no step names) decides nothing.
    assert ids(await awaiting(client, people.requester_auth)) == []
    assert ids(await awaiting(client, theirs.supervisor_auth)) == [foreign["id"]]
    # Without the filter, the tenant's list holds all four.
    everything = await client.get(f"{API}/approvals", headers=people.supervisor_auth)
    assert len(everything.json()["items"]) == 4


async def test_awaiting_me_pages_by_cursor(client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    people = await staff(client, tenant)
    await two_step_chain(client, tenant, people)
    made = [await ask(client, people, 5000) for _ in range(3)]
    first = await awaiting(client, people.supervisor_auth, limit=2)
    assert ids(first) == [made[2]["id"], made[1]["id"]] and first["next_cursor"]
    rest = await awaiting(client, people.supervisor_auth, limit=2, cursor=first["next_cursor"])
    assert ids(rest) == [made[0]["id"]] and rest["next_cursor"] is None


async def test_awaiting_names_the_field_when_it_cannot_answer(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.get(f"{API}/approvals", headers=tenant.auth, params={"awaiting": "me"})
    assert r.status_code == 422 and r.json()["field"] == "awaiting"  # an API key is nobody
    people = await staff(client, tenant)
    r = await client.get(
        f"{API}/approvals", headers=people.supervisor_auth, params={"awaiting": "you"}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "awaiting"
    r = await client.get(
        f"{API}/approvals", headers=people.supervisor_auth, params={"cursor": "nonsense"}
    )
    assert r.status_code == 422 and r.json()["field"] == "cursor"
