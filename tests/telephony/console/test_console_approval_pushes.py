"""Approval pushes: the approvers of a step that starts are told, and every console of the
tenant hears (by id only) that a request was decided, so lists that showed it re-read."""

from __future__ import annotations

import httpx
from approval_desk import API, approval_desk, ask
from console_testkit import console, recv_type, silent

from comms.hub import Hub
from hubtest import TenantCtx, drain


async def test_a_starting_step_reaches_its_approvers_and_a_decision_reaches_the_tenant(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, base_url: str
) -> None:
    desk = await approval_desk(client, tenant)
    async with (
        console(base_url, desk.supervisor) as sup,
        console(base_url, desk.finance) as fin,
        console(base_url, desk.requester) as req,
    ):
        made = await ask(client, desk.requester, 250000)
        await drain(hub)
        push = await recv_type(sup, "approval")
        assert (push["event"], push["request_id"], push["step"]) == ("requested", made["id"], 1)
        assert "2,500.00 CNY" in push["summary"]
        assert await silent(fin) and await silent(req)  # not their step

        r = await client.post(
            f"{API}/approvals/{made['id']}/decision",
            headers=desk.supervisor.auth,
            json={"decision": "approve"},
        )
        assert r.status_code == 200, r.text
        await drain(hub)
        decided = await recv_type(req, "approval")
        assert decided == {
            "type": "approval",
            "event": "decided",
            "event_id": decided["event_id"],
            "request_id": made["id"],
            "status": "pending",
            "final": False,
        }
        assert (await recv_type(sup, "approval"))["event"] == "decided"
        got = [await recv_type(fin, "approval"), await recv_type(fin, "approval")]
        assert sorted(p["event"] for p in got) == ["decided", "requested"]
        assert next(p for p in got if p["event"] == "requested")["step"] == 2
