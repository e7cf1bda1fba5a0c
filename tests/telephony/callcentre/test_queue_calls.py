"""Queued calls end to end through the ARI simulator: MOH, offers, ring timeout, wrap-up."""

from __future__ import annotations

import httpx
from cc_testkit import (
    OUTSIDER,
    agent_moves,
    agent_now,
    cc_topics,
    eventually,
    make_agent,
    make_queue,
    queue_calls,
    ringing_leg,
    until,
)
from sqlalchemy import select

from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari.sim_state import EndpointBehaviour
from telephony.ari.simulator import AriSimulator
from telephony.callcentre.state import AgentState, EntryState
from telephony.calls.models import Call
from telephony.stasis.app import StasisApp
from telephony.vpmn.models import Cdr

DID = "+861088880000"
RING = EndpointBehaviour(outcome="ring")
A, B = "PJSIP/agent-a", "PJSIP/agent-b"


def call_in(sim: AriSimulator, tenant: TenantCtx, caller: str = OUTSIDER, did: str = DID) -> str:
    return sim.inbound_call(caller_number=caller, exten=did, args=[f"tenant={tenant.id}"])


async def test_caller_hears_moh_rings_longest_idle_then_next_agent_and_wraps_up(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    queue = await make_queue(
        hub, tenant.id, dids=[DID], ring_timeout=10, wrapup_seconds=1, moh_class="acme"
    )
    a = await make_agent(hub, tenant.id, A, [queue])  # available first: idle longest
    b = await make_agent(hub, tenant.id, B, [queue])
    sim.endpoints[A] = RING
    sim.endpoints[B] = RING
    caller = call_in(sim, tenant)
    leg_a = await ringing_leg(sim, A)
    assert sim.channels[caller].state == "Up"
    assert sim.channels[caller].moh_class == "acme"
    assert (await agent_now(hub, tenant.id, a.id)).state is AgentState.RINGING
    # Nobody answers A within the ring timeout: A is not ready, B rings.
    leg_b = await ringing_leg(sim, B)
    assert leg_a not in sim.channels
    assert (await agent_now(hub, tenant.id, a.id)).state is AgentState.NOT_READY
    sim.remote_answer(leg_b)

    async def on_call() -> bool:
        return (await agent_now(hub, tenant.id, b.id)).state is AgentState.ON_CALL

    await until(on_call)
    await eventually(
        sim, lambda: any(set(br.channels) == {caller, leg_b} for br in sim.bridges.values())
    )
    assert sim.channels[caller].moh_class is None
    [entry] = await queue_calls(hub, tenant.id)
    assert entry.state is EntryState.ANSWERED and entry.agent_id == b.id and entry.offers == 2
    sim.remote_hangup(caller)

    # Wrap-up lasts 1 s: polling for it could miss it on a busy machine, so wait for the
    # agent to be available again; the transition log below proves wrap-up came between.
    async def available_again() -> bool:
        return (await agent_now(hub, tenant.id, b.id)).state is AgentState.AVAILABLE

    await until(available_again, timeout=15)
    [entry] = await queue_calls(hub, tenant.id)
    assert entry.ended_at is not None and entry.handle_seconds is not None
    assert entry.wait_seconds is not None
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        [call] = list(await s.scalars(select(Call)))
        assert (call.queue, call.agent, call.state.value) == (queue.name, B, "ended")
        [cdr] = list(await s.scalars(select(Cdr)))
        assert cdr.disposition.value == "answered"
    topics = await cc_topics(hub, tenant.id, "telephony.queue.")
    assert topics == [
        "telephony.queue.call_entered",
        "telephony.queue.call_offered",
        "telephony.queue.call_offered",
        "telephony.queue.call_answered",
        "telephony.queue.call_ended",
    ]
    moves = [
        (t.from_state.value, t.to_state.value) for t in await agent_moves(hub, tenant.id, b.id)
    ]
    assert moves[-4:] == [
        ("available", "ringing"),
        ("ringing", "on_call"),
        ("on_call", "wrap_up"),
        ("wrap_up", "available"),
    ]


async def test_caller_who_hangs_up_while_waiting_is_abandoned(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx, client: httpx.AsyncClient
) -> None:
    queue = await make_queue(hub, tenant.id, dids=[DID])
    caller = call_in(sim, tenant)
    await eventually(sim, lambda: sim.channels[caller].moh_class == "default")
    sim.remote_hangup(caller)

    async def abandoned() -> bool:
        rows = await queue_calls(hub, tenant.id)
        return bool(rows) and rows[0].state is EntryState.ABANDONED

    await until(abandoned)
    r = await client.get(f"/api/v1/callcentre/queues/{queue.id}/stats", headers=tenant.auth)
    stats = r.json()
    assert (stats["offered"], stats["abandoned"], stats["abandon_rate"]) == (1, 1, 100.0)
    assert stats["waiting"] == 0
    assert "telephony.queue.call_abandoned" in await cc_topics(hub, tenant.id)


async def test_caller_past_max_wait_overflows_to_another_queue_and_is_answered_there(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    second = await make_queue(hub, tenant.id, "second-line")
    await make_queue(
        hub,
        tenant.id,
        "first-line",
        dids=[DID],
        max_wait=1,
        overflow="queue",
        overflow_queue_id=second.id,
    )
    helper = await make_agent(hub, tenant.id, "PJSIP/helper", [second])
    sim.endpoints["PJSIP/helper"] = RING
    caller = call_in(sim, tenant)
    leg = await ringing_leg(sim, "PJSIP/helper")
    sim.remote_answer(leg)

    async def answered() -> bool:
        return (await agent_now(hub, tenant.id, helper.id)).state is AgentState.ON_CALL

    await until(answered)
    first, moved = await queue_calls(hub, tenant.id)
    assert first.state is EntryState.OVERFLOWED and first.overflow_target == f"queue:{second.id}"
    assert first.wait_seconds is not None and first.wait_seconds >= 1
    assert moved.queue_id == second.id and moved.state is EntryState.ANSWERED
    assert moved.channel_id == caller == first.channel_id
    assert "telephony.queue.call_overflowed" in await cc_topics(hub, tenant.id)


async def test_queue_full_with_callback_overflow_hangs_up_and_keeps_the_place(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await make_queue(hub, tenant.id, dids=[DID], max_length=1, overflow="callback")
    first = call_in(sim, tenant, "+8613700000001")
    await eventually(sim, lambda: sim.channels[first].moh_class == "default")
    second = call_in(sim, tenant, "+8613700000002")
    await eventually(sim, lambda: second not in sim.channels)
    rows = await queue_calls(hub, tenant.id)
    assert [r.state for r in rows] == [EntryState.WAITING, EntryState.CALLBACK_REQUESTED]
    plays = sim.requests_for(nickname="play", channelId=second)
    assert plays and plays[0].query["media"] == "sound:queue-callback-registered"
