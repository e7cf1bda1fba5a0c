"""An agent's call control (hold, mute, hang up, blind transfer) and supervisor monitoring."""

from __future__ import annotations

import uuid

import httpx
from cc_testkit import (
    RING,
    agent_now,
    answered_call,
    cc_topics,
    eventually,
    make_agent,
    make_person,
    make_queue,
    queue_calls,
    ringing_leg,
    until,
)

from comms.auth.models import Role
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari.sim_state import EndpointBehaviour
from telephony.ari.simulator import AriSimulator
from telephony.callcentre.control import ARI_SERVICE
from telephony.callcentre.state import AgentState, EntryState
from telephony.calls.models import Call
from telephony.stasis.app import StasisApp

API = "/api/v1/callcentre"


async def test_agent_holds_mutes_and_hangs_up_the_current_call(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    person, agent, _, caller, leg = await answered_call(hub, client, sim, stasis, tenant)
    call = f"{API}/agents/me/call"
    assert (await client.post(f"{call}/hold", headers=person.auth)).status_code == 200
    assert sim.channels[caller].on_hold is True
    await client.post(f"{call}/resume", headers=person.auth)
    assert sim.channels[caller].on_hold is False
    await client.post(f"{call}/mute", headers=person.auth)
    assert sim.channels[leg].muted == "in"
    await client.post(f"{call}/unmute", headers=person.auth)
    assert sim.channels[leg].muted == ""
    r = await client.post(f"{call}/hangup", headers=person.auth)
    assert r.status_code == 200
    await eventually(sim, lambda: caller not in sim.channels and leg not in sim.channels)

    async def wrapping() -> bool:
        return (await agent_now(hub, tenant.id, agent.id)).state is AgentState.WRAP_UP

    await until(wrapping)
    r = await client.post(f"{call}/hold", headers=person.auth)
    assert r.status_code == 409 and "no call in progress" in r.text


async def test_blind_transfer_to_a_queue_reaches_an_agent_there(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    person, agent, _, caller, leg = await answered_call(hub, client, sim, stasis, tenant)
    second = await make_queue(hub, tenant.id, "second")
    helper = await make_agent(hub, tenant.id, "PJSIP/agent-y", [second])
    sim.endpoints["PJSIP/agent-y"] = RING
    r = await client.post(
        f"{API}/agents/me/transfer", headers=person.auth, json={"queue_id": str(second.id)}
    )
    assert r.status_code == 200, r.text
    leg_y = await ringing_leg(sim, "PJSIP/agent-y")
    assert leg not in sim.channels and caller in sim.channels
    assert sim.channels[caller].moh_class == "default"
    sim.remote_answer(leg_y)
    await eventually(
        sim, lambda: any(set(b.channels) == {caller, leg_y} for b in sim.bridges.values())
    )
    assert (await agent_now(hub, tenant.id, agent.id)).state is AgentState.WRAP_UP

    async def helper_on_call() -> bool:
        return (await agent_now(hub, tenant.id, helper.id)).state is AgentState.ON_CALL

    await until(helper_on_call)
    first, moved = await queue_calls(hub, tenant.id)
    assert first.transferred_at is not None and first.handle_seconds is not None
    assert moved.queue_id == second.id and moved.state is EntryState.ANSWERED
    assert "telephony.queue.call_transferred" in await cc_topics(hub, tenant.id)


async def test_transfer_needs_one_target_and_a_free_agent(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    person, _, queue, _, _ = await answered_call(hub, client, sim, stasis, tenant)
    url = f"{API}/agents/me/transfer"
    r = await client.post(url, headers=person.auth, json={})
    assert r.status_code == 422 and "queue_id, agent_id or number" in r.text
    busy = await make_agent(hub, tenant.id, "PJSIP/agent-z", [queue], available=False)
    r = await client.post(url, headers=person.auth, json={"agent_id": str(busy.id)})
    assert r.status_code == 409 and r.json()["field"] == "agent_id"


async def test_supervisor_listens_through_a_snoop_and_barges_into_the_bridge(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    _, agent, _, caller, leg = await answered_call(hub, client, sim, stasis, tenant)
    sup = await make_person(hub, client, tenant.id, "sup", Role.SUPERVISOR)
    sim.endpoints["PJSIP/sup"] = RING
    r = await client.post(
        f"{API}/agents/{agent.id}/monitor",
        headers=sup.auth,
        json={"mode": "whisper", "endpoint": "PJSIP/sup"},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    snoops = sim.requests_for(nickname="snoopChannel", channelId=leg)
    assert snoops and snoops[0].query["spy"] == "both" and snoops[0].query["whisper"] == "out"
    assert set(sim.bridges[out["bridge_id"]].channels) == {out["snoop_id"], out["channel_id"]}
    r = await client.post(
        f"{API}/agents/{agent.id}/monitor",
        headers=sup.auth,
        json={"mode": "barge", "endpoint": "PJSIP/sup"},
    )
    barge = r.json()
    assert barge["channel_id"] in sim.bridges[barge["bridge_id"]].channels
    assert {caller, leg} <= set(sim.bridges[barge["bridge_id"]].channels)
    r = await client.post(
        f"{API}/agents/{agent.id}/monitor", headers=sup.auth, json={"mode": "spy", "endpoint": "x"}
    )
    assert r.status_code == 422 and "mode" in r.text


async def test_attended_transfer_consults_then_hands_the_caller_over(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    person, agent, queue, caller, leg = await answered_call(hub, client, sim, stasis, tenant)
    colleague = await make_agent(hub, tenant.id, "PJSIP/agent-c", [queue])
    sim.endpoints["PJSIP/agent-c"] = RING
    r = await client.post(
        f"{API}/agents/me/transfer",
        headers=person.auth,
        json={"kind": "attended", "agent_id": str(colleague.id)},
    )
    assert r.status_code == 200, r.text
    consult = await ringing_leg(sim, "PJSIP/agent-c")
    [call_bridge] = [b for b in sim.bridges.values() if caller in b.channels]
    assert set(call_bridge.channels) == {caller} and call_bridge.moh_class == "default"
    sim.remote_answer(consult)
    r = await client.post(f"{API}/agents/me/transfer/complete", headers=person.auth)
    assert r.status_code == 200, r.text
    await eventually(sim, lambda: leg not in sim.channels)
    await eventually(sim, lambda: set(sim.bridges[call_bridge.id].channels) == {caller, consult})

    async def handed_over() -> bool:
        a = await agent_now(hub, tenant.id, agent.id)
        c = await agent_now(hub, tenant.id, colleague.id)
        return a.state is AgentState.WRAP_UP and c.state is AgentState.ON_CALL

    await until(handed_over)
    first, taken = await queue_calls(hub, tenant.id)
    assert first.transferred_at is not None and taken.agent_id == colleague.id
    # The colleague now owns the call: their hang-up ends it.
    sim.remote_hangup(consult)
    await eventually(sim, lambda: caller not in sim.channels)


async def test_cancelled_consultation_returns_the_agent_to_the_caller(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    person, agent, queue, caller, leg = await answered_call(hub, client, sim, stasis, tenant)
    colleague = await make_agent(hub, tenant.id, "PJSIP/agent-d", [queue])
    sim.endpoints["PJSIP/agent-d"] = RING
    await client.post(
        f"{API}/agents/me/transfer",
        headers=person.auth,
        json={"kind": "attended", "agent_id": str(colleague.id)},
    )
    consult = await ringing_leg(sim, "PJSIP/agent-d")
    r = await client.post(f"{API}/agents/me/transfer/cancel", headers=person.auth)
    assert r.status_code == 200, r.text
    await eventually(sim, lambda: consult not in sim.channels)
    assert any(set(b.channels) == {caller, leg} for b in sim.bridges.values())
    assert (await agent_now(hub, tenant.id, colleague.id)).state is AgentState.AVAILABLE
    assert (await agent_now(hub, tenant.id, agent.id)).state is AgentState.ON_CALL
    r = await client.post(f"{API}/agents/me/transfer/complete", headers=person.auth)
    assert r.status_code == 409 and "no consultation" in r.text


async def test_consultation_that_rings_out_puts_the_agent_back_with_the_caller(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    person, agent, queue, caller, leg = await answered_call(hub, client, sim, stasis, tenant)
    colleague = await make_agent(hub, tenant.id, "PJSIP/agent-e", [queue])
    sim.endpoints["PJSIP/agent-e"] = EndpointBehaviour(outcome="noanswer", after=0.05)
    await client.post(
        f"{API}/agents/me/transfer",
        headers=person.auth,
        json={"kind": "attended", "agent_id": str(colleague.id)},
    )

    async def not_ready() -> bool:
        return (await agent_now(hub, tenant.id, colleague.id)).state is AgentState.NOT_READY

    await until(not_ready)
    await eventually(
        sim, lambda: any(set(b.channels) == {caller, leg} for b in sim.bridges.values())
    )
    assert (await agent_now(hub, tenant.id, agent.id)).state is AgentState.ON_CALL


async def test_click_to_dial_rings_the_agent_then_the_number_and_bridges_them(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    hub.services[ARI_SERVICE] = stasis.ari
    person = await make_person(hub, client, tenant.id, "out")
    sim.endpoints["PJSIP/agent-o"] = RING
    sim.endpoints["PJSIP/+8613900001111@carrier"] = RING
    agent = await make_agent(hub, tenant.id, "PJSIP/agent-o", [], user_id=person.user_id)
    url = f"{API}/agents/me/call/dial"
    r = await client.post(url, headers=person.auth, json={"number": "139-0000"})
    assert r.status_code == 422 and "number" in r.text
    r = await client.post(url, headers=person.auth, json={"number": "+8613900001111"})
    assert r.status_code == 200, r.text
    call_id = uuid.UUID(r.json()["call_id"])
    mine = await ringing_leg(sim, "PJSIP/agent-o")
    assert (await agent_now(hub, tenant.id, agent.id)).state is AgentState.RINGING
    r = await client.post(url, headers=person.auth, json={"number": "+8613900001111"})
    assert r.status_code == 409 and r.json()["field"] == "state"
    sim.remote_answer(mine)
    far = await ringing_leg(sim, "PJSIP/+8613900001111@carrier")
    sim.remote_answer(far)

    async def talking() -> bool:
        return (await agent_now(hub, tenant.id, agent.id)).state is AgentState.ON_CALL

    await until(talking)
    assert any(set(b.channels) == {mine, far} for b in sim.bridges.values())
    sim.remote_hangup(far)
    await eventually(sim, lambda: mine not in sim.channels)

    async def free_again() -> bool:
        return (await agent_now(hub, tenant.id, agent.id)).state is AgentState.AVAILABLE

    await until(free_again)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        made = await s.get(Call, call_id)
    assert made is not None and made.disposition is not None
    assert (made.direction.value, made.callee, made.disposition.value) == (
        "outbound",
        "+8613900001111",
        "answered",
    )


async def test_blind_transfer_to_a_number_bridges_the_caller_with_it(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    person, agent, _, caller, leg = await answered_call(hub, client, sim, stasis, tenant)
    sim.endpoints["PJSIP/+8613911112222@carrier"] = RING
    r = await client.post(
        f"{API}/agents/me/transfer", headers=person.auth, json={"number": "+8613911112222"}
    )
    assert r.status_code == 200, r.text
    far = await ringing_leg(sim, "PJSIP/+8613911112222@carrier")
    await eventually(sim, lambda: leg not in sim.channels)
    assert sim.channels[caller].moh_class == "default"
    sim.remote_answer(far)
    await eventually(sim, lambda: sim.channels[caller].moh_class is None)
    assert any(set(b.channels) == {caller, far} for b in sim.bridges.values())
    assert (await agent_now(hub, tenant.id, agent.id)).state is AgentState.WRAP_UP
    sim.remote_hangup(far)
    await eventually(sim, lambda: caller not in sim.channels)

    async def ended() -> bool:
        async with hub.db.session() as s:
            scoped_to(s, tenant.id)
            [entry] = await queue_calls(hub, tenant.id)
            call = await s.get(Call, entry.call_id)
            return call is not None and call.state.value == "ended"

    await until(ended)
    [entry] = await queue_calls(hub, tenant.id)
    assert entry.transferred_at is not None
    assert "telephony.queue.call_transferred" in await cc_topics(hub, tenant.id)
