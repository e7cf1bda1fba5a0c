"""A queue call end to end, in three browser tabs: a caller dials the queue's number (ARI
simulator), the supervisor's wallboard shows them waiting, an agent goes available and gets
the screen pop with the caller's CRM record, picks up, opens a ticket, the supervisor listens
in, the agent holds and resumes, then transfers (blind) to a colleague, whose console pops the
same caller; the colleague picks up, consults the first agent and completes an attended
transfer back to them, who consults an outside number and leaves the caller with it; both
write their wrap-ups; the first agent calls the customer back from their history (the call
centre's agent dial). The wallboard follows every step."""

from __future__ import annotations

import asyncio

import httpx
from browser_kit import chromium, collect_errors, need_browser, shoot, sign_in
from console_testkit import make_contact, make_person

from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari.sim_state import EndpointBehaviour
from telephony.ari.simulator import AriSimulator
from telephony.callcentre.control import ARI_SERVICE
from telephony.stasis.app import StasisApp

DID = "+861088880000"
CALLER = "+8613800138000"
DESK = "PJSIP/li-desk"
DESK_2 = "PJSIP/zhang-desk"


async def agent_leg(sim: AriSimulator, desk: str = DESK) -> str:
    """The channel the ACD rang at an agent's desk phone, once it rings."""

    def found() -> str | None:
        return next((c.id for c in sim.channels.values() if c.endpoint == desk), None)

    async with asyncio.timeout(10):
        await sim.wait_until(lambda: found() is not None)
    leg = found()
    assert leg is not None
    async with asyncio.timeout(5):
        await sim.wait_until(lambda: sim.channels[leg].state == "Ringing")
    return leg


async def agent_leg_any(sim: AriSimulator, desk: str) -> str:
    """The live channel at a desk phone, whatever its state."""
    async with asyncio.timeout(5):
        await sim.wait_until(lambda: any(c.endpoint == desk for c in sim.channels.values()))
    return next(c.id for c in sim.channels.values() if c.endpoint == desk)


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
    colleague = await make_person(client, tenant, "agent", "zhang")
    profile_2 = await client.post(
        "/api/v1/callcentre/agents",
        headers=admin,
        json={
            "user_id": colleague.user_id,
            "name": "Zhang Wei",
            "endpoint": DESK_2,
            "queue_ids": [queue_id],
        },
    )
    assert profile_2.status_code == 201, profile_2.text
    boss = await make_person(client, tenant, "supervisor", "wang")
    sim.endpoints[DESK] = EndpointBehaviour(outcome="ring")
    sim.endpoints[DESK_2] = EndpointBehaviour(outcome="ring")
    hub.services[ARI_SERVICE] = stasis.ari  # the API's call-control requests go to Asterisk

    async with chromium() as browser:
        ap, cp, sp = await browser.new_page(), await browser.new_page(), await browser.new_page()
        errors = collect_errors(ap) + collect_errors(cp) + collect_errors(sp)
        await sign_in(ap, base_url, agent.email, agent.password)
        await sign_in(cp, base_url, colleague.email, colleague.password)
        await sign_in(sp, base_url, boss.email, boss.password)
        await ap.wait_for_selector("#agent-state:text('logged_out')")
        await sp.click("button[data-tab=wallboard]")
        await sp.wait_for_selector(f".tile[data-queue='{queue_id}']")
        await sp.wait_for_selector("tr[data-agent] .state-pill:text('logged_out')")
        assert await sp.locator("tr[data-agent]").count() == 2

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
        li_row = f"tr[data-agent='{profile.json()['id']}']"
        zhang_row = f"tr[data-agent='{profile_2.json()['id']}']"
        await sp.wait_for_selector(f"{li_row} .state-pill:text('ringing')")

        # The agent picks up the desk phone: the card turns into the call controls.
        sim.remote_answer(await agent_leg(sim))
        await ap.wait_for_selector("#call-card.active #btn-hangup", timeout=10000)
        await sp.wait_for_selector(f"{li_row} button:text('listen')")

        # A reload mid-call loses nothing: the card comes back with the caller and controls.
        await ap.reload()
        await ap.wait_for_selector("#call-card.active #btn-hangup")
        assert await ap.text_content("#pop-caller") == CALLER
        assert "Han Meimei" in (await ap.text_content("#pop-contact") or "")
        await sp.wait_for_selector(f"{li_row} .state-pill:text('on_call')")
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

        # The supervisor listens in from the wallboard, on their own desk phone.
        sim.endpoints["PJSIP/wang-desk"] = EndpointBehaviour(outcome="ring")
        await sp.fill("#monitor-endpoint", "PJSIP/wang-desk")
        await sp.click(f"{li_row} button:text('listen')")
        await sp.locator(".toast", has_text="listen: Li Na").wait_for()
        leg = next(c.id for c in sim.channels.values() if c.endpoint == DESK)
        snoops = sim.requests_for(nickname="snoopChannel", channelId=leg)
        assert snoops and snoops[0].query["spy"] == "both"

        # Hold and resume from the console: the caller's channel follows.
        await ap.click("#btn-hold")
        await ap.wait_for_selector("#btn-hold:text('Resume')")
        async with asyncio.timeout(5):
            await sim.wait_until(lambda: sim.channels[caller].on_hold is True)
        await ap.click("#btn-hold")
        await ap.wait_for_selector("#btn-hold:text('Hold')")
        async with asyncio.timeout(5):
            await sim.wait_until(lambda: sim.channels[caller].on_hold is False)

        # The colleague becomes available; the agent transfers the caller to them.
        await cp.select_option("#state-select", "available")
        await sp.wait_for_selector(f"{zhang_row} .state-pill:text('available')")
        await ap.select_option("#transfer-kind", "agent")
        await ap.wait_for_selector(
            f"#transfer-target option[value='{profile_2.json()['id']}']", state="attached"
        )
        await ap.select_option("#transfer-target", profile_2.json()["id"])
        await ap.click("#btn-transfer")
        await ap.wait_for_selector("#wrapup:not([hidden])", timeout=10000)
        await ap.wait_for_selector("#call-card.idle")

        # The colleague's console pops the same caller, with the CRM record.
        await cp.wait_for_selector("#call-card.ringing", timeout=10000)
        assert await cp.text_content("#pop-caller") == CALLER
        assert "Han Meimei" in (await cp.text_content("#pop-contact") or "")
        await shoot(cp, "14-colleague-screen-pop-after-transfer")
        sim.remote_answer(await agent_leg(sim, DESK_2))
        await cp.wait_for_selector("#call-card.active #btn-hangup", timeout=10000)
        await sp.wait_for_selector(f"{zhang_row} .state-pill:text('on_call')")

        # The first agent's wrap-up: the form insists on a code.
        await ap.wait_for_selector("#agent-state:text('wrap_up')")
        await ap.click("#wrapup-form button[type=submit]")  # no code chosen: the form refuses
        assert await ap.is_visible("#wrapup-code:invalid")
        await ap.select_option("#wrapup-code", "resolved")
        await ap.fill("#wrapup-notes", "Rebooted the router remotely")
        await ap.click("#wrapup-form button[type=submit]")
        await ap.wait_for_selector("#wrapup", state="hidden")
        await ap.wait_for_selector("#stat-answered:text-is('1')")  # the agent's own figures
        await ap.wait_for_selector(f"#history button.tel:text-is('{CALLER}')")

        # The colleague consults the first agent (attended transfer), then hands the caller over.
        await ap.select_option("#state-select", "available")
        await sp.wait_for_selector(f"{li_row} .state-pill:text('available')")
        await cp.select_option("#transfer-kind", "consult")
        await cp.wait_for_selector(
            f"#transfer-target option[value='{profile.json()['id']}']", state="attached"
        )
        await cp.select_option("#transfer-target", profile.json()["id"])
        await cp.click("#btn-transfer")
        await cp.wait_for_selector("#consult #btn-transfer-complete")
        sim.remote_answer(await agent_leg(sim, DESK))
        await cp.click("#btn-transfer-complete")
        await cp.wait_for_selector("#wrapup:not([hidden])", timeout=10000)
        await ap.wait_for_selector("#call-card.active #btn-transfer", timeout=10000)
        assert await ap.text_content("#pop-caller") == CALLER
        await sp.wait_for_selector(f"{li_row} .state-pill:text('on_call')")
        await cp.select_option("#wrapup-code", "callback")
        await cp.fill("#wrapup-notes", "Handed back to Li Na")
        await cp.click("#wrapup-form button[type=submit]")
        await cp.wait_for_selector("#wrapup", state="hidden")

        # The first agent consults an outside number, then leaves the caller with it: the
        # caller hears music meanwhile; the agent goes to wrap-up.
        far_end = "PJSIP/+8613911112222@carrier"
        sim.endpoints[far_end] = EndpointBehaviour(outcome="ring")
        await ap.select_option("#transfer-kind", "consult-number")
        await ap.fill("#transfer-number", "+86 139-1111-2222")
        await ap.click("#btn-transfer")
        await ap.wait_for_selector("#consult:has-text('+8613911112222') #btn-transfer-complete")
        far = await agent_leg(sim, far_end)
        sim.remote_answer(far)
        await shoot(ap, "15-consulting-a-number")
        await ap.click("#btn-transfer-complete")
        await ap.wait_for_selector("#wrapup:not([hidden])", timeout=10000)
        async with asyncio.timeout(5):
            await sim.wait_until(
                lambda: any(set(b.channels) == {caller, far} for b in sim.bridges.values())
            )
        sim.remote_hangup(far)
        async with asyncio.timeout(5):
            await sim.wait_until(lambda: caller not in sim.channels)
        await ap.select_option("#wrapup-code", "resolved")
        await ap.fill("#wrapup-notes", "Sent on to billing")
        await ap.click("#wrapup-form button[type=submit]")
        await ap.wait_for_selector("#wrapup", state="hidden")

        # Click-to-call from the history goes through the call centre's agent dial: the desk
        # phone rings first, then the number; the call has a record.
        await ap.select_option("#state-select", "available")
        await sp.wait_for_selector(f"{li_row} .state-pill:text('available')")
        sim.endpoints[f"PJSIP/{CALLER}@carrier"] = EndpointBehaviour(outcome="ring")
        await ap.click(f"#history button.tel:text-is('{CALLER}')")
        await ap.wait_for_selector("#call-card.ringing #pick-up", timeout=10000)
        assert await ap.text_content("#pop-caller") == CALLER
        await ap.wait_for_selector("#pop-contact:has-text('Han Meimei')")  # the pop follows
        sim.remote_answer(await agent_leg(sim, DESK))
        sim.remote_answer(await agent_leg(sim, f"PJSIP/{CALLER}@carrier"))
        await ap.wait_for_selector("#call-card.active #hang-up-phone", timeout=10000)
        await shoot(ap, "16-agent-calls-back")
        sim.remote_hangup(await agent_leg_any(sim, DESK))
        await ap.wait_for_selector("#call-card.idle", timeout=10000)
        await sp.wait_for_selector(f"{li_row} .state-pill:text('available')")
        await shoot(sp, "17-wallboard-after")
        assert errors == []

    tickets = (await client.get("/api/v1/crm/tickets", headers=admin)).json()["items"]
    made = [x for x in tickets if x["subject"] == "Call from Han Meimei"]
    assert [(x["contact_id"], x["channel"], x["priority"]) for x in made] == [
        (contact["id"], "phone", "high")
    ]
    calls = await client.get("/api/v1/callcentre/queue-calls", headers=admin)
    mine = [r for r in calls.json() if r["agent_id"] == profile.json()["id"]]
    [theirs] = [r for r in calls.json() if r["agent_id"] == profile_2.json()["id"]]
    first, last = sorted(mine, key=lambda r: r["entered_at"])
    assert (first["wrapup_code"], first["notes"]) == ("resolved", "Rebooted the router remotely")
    assert first["transferred_at"] is not None and theirs["transferred_at"] is not None
    assert (theirs["wrapup_code"], theirs["notes"]) == ("callback", "Handed back to Li Na")
    assert (last["wrapup_code"], last["notes"]) == ("resolved", "Sent on to billing")
    assert last["transferred_at"] is not None
    assert first["caller"] == theirs["caller"] == last["caller"] == CALLER
    made = (await client.get("/api/v1/calls?limit=50", headers=admin)).json()
    [out] = [c for c in made if c["direction"] == "outbound"]
    assert (out["callee"], out["agent"], out["disposition"]) == (CALLER, "Li Na", "answered")
