"""Approval requests walk their chain: each step's approvers are told by SMS and email, an
approval advances, a rejection ends; decisions are recorded with channel and actor."""

from __future__ import annotations

import httpx

from approval_kit import (
    FIN_MOBILE,
    REQ_MOBILE,
    SUP_MOBILE,
    ask,
    mailed_links,
    outbound,
    sms_code,
    staff,
    two_step_chain,
)
from comms.hub import Hub
from erp_testkit import API, make_user, published
from hubtest import TenantCtx


async def decide(
    client: httpx.AsyncClient, auth: dict[str, str], request_id: str, decision: str
) -> httpx.Response:
    return await client.post(
        f"{API}/approvals/{request_id}/decision", headers=auth, json={"decision": decision}
    )


async def test_two_steps_approved_in_turn_each_notified_then_the_requester(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    people = await staff(client, tenant)
    await two_step_chain(client, tenant, people)
    r = await ask(client, people, 250000)
    assert [(s["position"], s["status"]) for s in r["steps"]] == [(0, "pending"), (1, "waiting")]
    assert r["requester_id"] == people.requester
    sup_code = await sms_code(hub, tenant, SUP_MOBILE)
    sup_email = (await client.get(f"/api/v1/users/{people.supervisor}", headers=tenant.auth)).json()
    assert set(await mailed_links(hub, tenant, sup_email["email"])) == {"approve", "reject"}
    assert await outbound(hub, tenant, FIN_MOBILE) == []  # not their turn yet
    [req1] = await published(hub, "erp.approval.requested")
    assert (req1["step"], req1["steps"], req1["approver_ids"]) == (1, 2, [people.supervisor])
    assert "2,500.00 CNY" in req1["summary"]

    # The finance user is not an approver of step 1.
    assert (await decide(client, people.finance_auth, r["id"], "approve")).status_code == 403
    ok = await decide(client, people.supervisor_auth, r["id"], "approve")
    assert ok.status_code == 200, ok.text
    assert [s["status"] for s in ok.json()["steps"]] == ["approved", "pending"]
    assert ok.json()["status"] == "pending"
    fin_code = await sms_code(hub, tenant, FIN_MOBILE)
    assert fin_code.isdigit() and len(fin_code) == 4 and sup_code.isdigit()
    assert [e["step"] for e in await published(hub, "erp.approval.requested")] == [1, 2]

    done = await decide(client, people.finance_auth, r["id"], "approve")
    assert done.json()["status"] == "approved" and done.json()["decided_at"]
    assert [(d["position"], d["approver_id"], d["channel"]) for d in done.json()["decisions"]] == [
        (0, people.supervisor, "api"),
        (1, people.finance, "api"),
    ]
    decided = await published(hub, "erp.approval.decided")
    assert [(e["step"], e["final"], e["status"], e["channel"]) for e in decided] == [
        (1, False, "pending", "api"),
        (2, True, "approved", "api"),
    ]
    assert decided[1]["requester_id"] == people.requester
    texts = [m.body for m in await outbound(hub, tenant, REQ_MOBILE)]
    assert any("is approved" in t for t in texts)
    # A decided request takes no further decision.
    again = await decide(client, people.finance_auth, r["id"], "reject")
    assert again.status_code == 409 and again.json()["field"] == "decision"


async def test_a_rejection_ends_the_request_and_skips_later_steps(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    people = await staff(client, tenant)
    await two_step_chain(client, tenant, people)
    r = await ask(client, people, 250000)
    no = await decide(client, people.supervisor_auth, r["id"], "reject")
    assert no.status_code == 200
    assert no.json()["status"] == "rejected"
    assert [s["status"] for s in no.json()["steps"]] == ["rejected", "skipped"]
    assert await outbound(hub, tenant, FIN_MOBILE) == []
    [ev] = await published(hub, "erp.approval.decided")
    assert (ev["decision"], ev["final"], ev["status"]) == ("reject", True, "rejected")
    assert any("is rejected" in (m.body or "") for m in await outbound(hub, tenant, REQ_MOBILE))


async def test_amount_thresholds_pick_the_steps(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    people = await staff(client, tenant)
    await two_step_chain(client, tenant, people)
    small = await ask(client, people, 99999)
    assert [s["role"] for s in small["steps"]] == ["supervisor"]
    body = {"kind": "expense", "steps": [{"min_amount": 50000, "role": "admin"}]}
    assert (
        await client.post(f"{API}/approval-chains", headers=tenant.auth, json=body)
    ).status_code == 200
    auto = await ask(client, people, 100, kind="expense")
    assert (auto["status"], auto["steps"]) == ("approved", [])
    decided = [e for e in await published(hub, "erp.approval.decided") if e["channel"] == "auto"]
    assert len(decided) == 1 and decided[0]["final"]


async def test_a_role_step_notifies_every_active_user_of_the_role(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    people = await staff(client, tenant)
    second, auth2 = await make_user(client, tenant, "sup2@acme.cn", "supervisor", "+8613900139009")
    await two_step_chain(client, tenant, people)
    r = await ask(client, people, 5000)
    [ev] = await published(hub, "erp.approval.requested")
    assert sorted(ev["approver_ids"]) == sorted([people.supervisor, second])
    await sms_code(hub, tenant, "+8613900139009")
    ok = await decide(client, auth2, r["id"], "approve")
    assert ok.json()["status"] == "approved"
    assert (await decide(client, people.supervisor_auth, r["id"], "approve")).status_code == 409


async def test_guards_answer_clear_errors(client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    people = await staff(client, tenant)
    body = {"kind": "discount", "amount": 100, "reason": "loyal customer"}
    r = await client.post(f"{API}/approvals", headers=people.requester_auth, json=body)
    assert r.status_code == 422 and r.json()["field"] == "kind"  # no chain for discounts
    r = await client.post(f"{API}/approvals", headers=tenant.auth, json=body)
    assert r.status_code == 403  # an API key is nobody to approve for
    bad = {"kind": "discount", "steps": [{"min_amount": 0}]}
    r = await client.post(f"{API}/approval-chains", headers=tenant.auth, json=bad)
    assert r.status_code == 422 and r.json()["field"] == "steps[0]"
    bad = {
        "kind": "discount",
        "steps": [{"role": "admin"}, {"user_id": people.requester, "role": "admin"}],
    }
    r = await client.post(f"{API}/approval-chains", headers=tenant.auth, json=bad)
    assert r.status_code == 422 and r.json()["field"] == "steps[1]"
    r = await client.post(
        f"{API}/approval-chains",
        headers=people.supervisor_auth,
        json={"kind": "discount", "steps": []},
    )
    assert r.status_code == 403  # chains are an admin's business
    await two_step_chain(client, tenant, people)
    made = await ask(client, people, 100)
    assert (await decide(client, tenant.auth, made["id"], "approve")).status_code == 403
    chains = (await client.get(f"{API}/approval-chains", headers=tenant.auth)).json()
    assert [c["kind"] for c in chains] == ["purchase"]
