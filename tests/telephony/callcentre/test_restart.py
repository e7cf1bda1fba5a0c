"""A Stasis app restart mid-queue: callers keep their place, paused agents stay paused."""

from __future__ import annotations

import asyncio

from cc_testkit import (
    FAST_RECONNECT,
    agent_now,
    eventually,
    make_agent,
    make_queue,
    queue_calls,
    ringing_leg,
    until,
)

from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari import AriClient
from telephony.ari.sim_state import EndpointBehaviour
from telephony.ari.simulator import AriSimulator
from telephony.callcentre import service
from telephony.callcentre.schemas import StateIn
from telephony.callcentre.state import AgentState, EntryState
from telephony.stasis.app import StasisApp

DID = "+861088880001"


async def start_app(hub: Hub, sim: AriSimulator) -> tuple[AriClient, StasisApp]:
    ari = AriClient(sim.base_url, sim.app, reconnect=FAST_RECONNECT)
    app = StasisApp(ari, hub.db, queries=hub.queries, queue_tick=0.05)
    await app.start()
    async with asyncio.timeout(5):
        await ari.wait_connected()
    return ari, app


async def stop_app(ari: AriClient, app: StasisApp) -> None:
    await app.close()
    await ari.close()


async def test_restart_keeps_waiting_callers_in_place_and_paused_agents_paused(
    hub: Hub, sim: AriSimulator, tenant: TenantCtx
) -> None:
    queue = await make_queue(hub, tenant.id, dids=[DID])
    agent = await make_agent(hub, tenant.id, "PJSIP/agent-p", [queue])
    sim.endpoints["PJSIP/agent-p"] = EndpointBehaviour(outcome="ring")
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        await service.set_state(
            s, await service.get_agent(s, agent.id), StateIn(state="paused", reason="break")
        )
    ari, app = await start_app(hub, sim)
    args = [f"tenant={tenant.id}"]
    stays = sim.inbound_call(caller_number="+8613700000011", exten=DID, args=args)
    leaves = sim.inbound_call(caller_number="+8613700000012", exten=DID, args=args)

    async def both_waiting() -> bool:
        return len(await queue_calls(hub, tenant.id)) == 2

    await until(both_waiting)
    before = {r.channel_id: r for r in await queue_calls(hub, tenant.id)}
    await stop_app(ari, app)  # the process dies...
    sim.remote_hangup(leaves)  # ...and misses this hang-up
    ari, app = await start_app(hub, sim)
    try:

        async def settled() -> bool:
            rows = {r.channel_id: r for r in await queue_calls(hub, tenant.id)}
            return rows[leaves].state is EntryState.ABANDONED

        await until(settled)
        rows = {r.channel_id: r for r in await queue_calls(hub, tenant.id)}
        assert rows[stays].state is EntryState.WAITING
        assert rows[stays].id == before[stays].id
        assert rows[stays].entered_at == before[stays].entered_at
        paused = await agent_now(hub, tenant.id, agent.id)
        assert paused.state is AgentState.PAUSED and paused.reason == "break"
        # The agent comes back (through the API in real life): the new process offers the call.
        async with hub.db.session() as s:
            scoped_to(s, tenant.id)
            await service.set_state(
                s, await service.get_agent(s, agent.id), StateIn(state="available")
            )
        leg = await ringing_leg(sim, "PJSIP/agent-p")
        sim.remote_answer(leg)
        await eventually(
            sim, lambda: any(set(b.channels) == {stays, leg} for b in sim.bridges.values())
        )
    finally:
        await stop_app(ari, app)


async def test_hangup_of_a_talking_caller_missed_during_a_restart_ends_the_call(
    hub: Hub, sim: AriSimulator, tenant: TenantCtx
) -> None:
    queue = await make_queue(hub, tenant.id, dids=[DID], wrapup_seconds=60)
    sim.endpoints["PJSIP/agent-t"] = EndpointBehaviour(outcome="ring")
    agent = await make_agent(hub, tenant.id, "PJSIP/agent-t", [queue])
    ari, app = await start_app(hub, sim)
    caller = sim.inbound_call(
        caller_number="+8613700000013", exten=DID, args=[f"tenant={tenant.id}"]
    )
    leg = await ringing_leg(sim, "PJSIP/agent-t")
    sim.remote_answer(leg)

    async def talking() -> bool:
        return (await agent_now(hub, tenant.id, agent.id)).state is AgentState.ON_CALL

    await until(talking)
    await stop_app(ari, app)
    sim.remote_hangup(caller)  # nobody is listening
    ari, app = await start_app(hub, sim)
    try:

        async def wrapping() -> bool:
            return (await agent_now(hub, tenant.id, agent.id)).state is AgentState.WRAP_UP

        await until(wrapping)
        # The agent's leg, still up in Asterisk, is hung up too.
        await eventually(sim, lambda: leg not in sim.channels)
        [entry] = await queue_calls(hub, tenant.id)
        assert entry.ended_at is not None and entry.handle_seconds is not None
    finally:
        await stop_app(ari, app)
