"""A queue call end to end, in two browsers: a caller dials the queue's number (ARI
simulator), the supervisor's wallboard shows them waiting, the agent goes available and gets
the screen pop with the caller's CRM record, picks up, the caller hangs up, the agent writes
the wrap-up; the wallboard follows every step."""

from __future__ import annotations

import asyncio

import httpx
from browser_kit import chromium, collect_errors, need_browser, shoot, sign_in
from console_testkit import make_contact, make_person

from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari.sim_state import EndpointBehaviour
from telephony.ari.simulator import AriSimulator
from telephony.stasis.app import StasisApp

DID = "+861088880000"
CALLER = "+8613800138000"
DESK = "PJSIP/li-desk"


async def agent_leg(sim: AriSimulator) -> str:
    """The channel the ACD rang at the agent's desk phone, once it rings."""

    def found() -> str | None:
        return next((c.id for c in sim.channels.values() if c.endpoint == DESK), None)

    async with asyncio.timeout(10):
        await sim.wait_until(lambda: found() is not None)
    leg = found()
    assert leg is not None
    async with asyncio.timeout(5):
        await sim.wait_until(lambda: sim.channels[leg].state == "Ringing")
    return leg


async def test_a_queue_call_from_ring_to_wrap_up_in_the_agent_and_supervisor_consoles(
    hub: Hub,
    sim: AriSimulator,
    stasis: StasisApp,
    bus_pump: None,
    base_url: str,
    client: httpx.AsyncClient,
    tenant: TenantCtx,
) -> None:
    need_browser()
    admin = tenant.auth
    contact = await make_contact(client, tenant, "Han Meimei", phones=[CALLER], tags=["vip"])
    r = await client.post(
        "/api/v1/crm/tickets",
        headers=admin,
        json={"subject": "Router keeps rebooting", "contact_id": contact["id"]},
    )
    assert r.status_code == 201, r.text
    queue = await client.post(
        "/api/v1/callcentre/queues",
        headers=admin,
        json={"name": "support", "dids": [DID], "ring_timeout": 300, "wrapup_seconds": 3600},
    )
    assert queue.status_code == 201, queue.text
    queue_id = queue.json()["id"]
    agent = await make_person(client, tenant, "agent", "li")
    profile = await client.post(
        "/api/v1/callcentre/agents",
        headers=admin,
        json={"user_id": agent.user_id, "name": "Li Na", "endpoint": DESK, "queue_ids": [queue_id]},
    )
    assert profile.status_code == 201, profile.text
    boss = await make_person(client, tenant, "supervisor", "wang")
    sim.endpoints[DESK] = EndpointBehaviour(outcome="ring")

    async with chromium() as browser:
        ap, sp = await browser.new_page(), await browser.new_page()
        errors = collect_errors(ap) + collect_errors(sp)
        await sign_in(ap, base_url, agent.email, agent.password)
        await sign_in(sp, base_url, boss.email, boss.password)
        await ap.wait_for_selector("#agent-state:text('logged_out')")
        await sp.click("button[data-tab=wallboard]")
        await sp.wait_for_selector(f".tile[data-queue='{queue_id}']")
        await sp.wait_for_selector("tr[data-agent] .state-pill:text('logged_out')")

        # A customer calls while nobody is available: the wallboard shows them waiting.
        caller = sim.inbound_call(caller_number=CALLER, exten=DID, args=[f"tenant={tenant.id}"])
        await sp.wait_for_selector(
            f".tile[data-queue='{queue_id}'] [data-stat=waiting]:text-is('1')"
        )
        await shoot(sp, "10-wallboard-waiting")

        # The agent goes available; the call is offered at once, with the screen pop.
        await ap.select_option("#state-select", "available")
        await ap.wait_for_selector("#call-card.ringing", timeout=10000)
        assert await ap.text_content("#pop-caller") == CALLER
        assert "Han Meimei" in (await ap.text_content("#pop-contact") or "")
        assert "Router keeps rebooting" in (await ap.text_content("#pop-tickets") or "")
        assert await ap.is_visible("#pick-up")
        await shoot(ap, "11-agent-screen-pop")
        await sp.wait_for_selector("tr[data-agent] .state-pill:text('ringing')")

        # The agent picks up the desk phone: the card turns into the call controls.
        sim.remote_answer(await agent_leg(sim))
        await ap.wait_for_selector("#call-card.active #btn-hangup", timeout=10000)
        await sp.wait_for_selector("tr[data-agent] .state-pill:text('on_call')")
        await sp.wait_for_selector(
            f".tile[data-queue='{queue_id}'] [data-stat=waiting]:text-is('0')"
        )
        await shoot(ap, "12-agent-on-call")
        await shoot(sp, "13-wallboard-on-call")

        # A ticket from the call, pre-filled with the caller.
        await ap.click("#btn-ticket")
        assert await ap.input_value("#ticket-subject") == "Call from Han Meimei"
        await ap.select_option("#ticket-priority", "high")
        await ap.click("#ticket-form button[type=submit]")
        await ap.wait_for_selector("#pop-tickets :text('Call from Han Meimei')")

        # The caller hangs up: wrap-up.
        sim.remote_hangup(caller)
        await ap.wait_for_selector("#wrapup:not([hidden])", timeout=10000)
        await ap.wait_for_selector("#agent-state:text('wrap_up')")
        await ap.click("#wrapup-form button[type=submit]")  # no code chosen: the form refuses
        assert await ap.is_visible("#wrapup-code:invalid")
        await ap.select_option("#wrapup-code", "resolved")
        await ap.fill("#wrapup-notes", "Rebooted the router remotely")
        await ap.click("#wrapup-form button[type=submit]")
        await ap.wait_for_selector("#wrapup", state="hidden")
        await shoot(ap, "14-agent-after-wrap-up")
        assert errors == []

    tickets = (await client.get("/api/v1/crm/tickets", headers=admin)).json()["items"]
    made = [x for x in tickets if x["subject"] == "Call from Han Meimei"]
    assert [(x["contact_id"], x["channel"], x["priority"]) for x in made] == [
        (contact["id"], "phone", "high")
    ]
    calls = await client.get("/api/v1/callcentre/queue-calls", headers=admin)
    [record] = calls.json()
    assert (record["wrapup_code"], record["notes"]) == ("resolved", "Rebooted the router remotely")
    assert record["caller"] == CALLER
