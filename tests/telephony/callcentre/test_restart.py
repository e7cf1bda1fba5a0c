"""A Stasis app restart mid-queue: callers keep their place, paused agents stay paused."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from cc_testkit import (
    FAST_RECONNECT,
    RING,
    agent_now,
    eventually,
    make_agent,
    make_person,
    make_queue,
    queue_calls,
    ringing_leg,
    until,
)
from sqlalchemy import select

from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari import AriClient
from telephony.ari.sim_state import EndpointBehaviour
from telephony.ari.simulator import AriSimulator
from telephony.callcentre import service
from telephony.callcentre.control import ARI_SERVICE
from telephony.callcentre.models import Agent
from telephony.callcentre.schemas import StateIn
from telephony.callcentre.state import AgentState, EntryState
from telephony.calls.models import Call
from telephony.calls.state import CallState
from telephony.stasis.app import StasisApp
from telephony.vpmn.models import Cdr

DID = "+861088880001"
FAR = "PJSIP/+8613900002222@carrier"


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


async def dial_out(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, tenant: TenantCtx, ari: AriClient
) -> tuple[Agent, uuid.UUID, str, str]:
    """A signed-in agent dials an outside number from the console; both ends ring."""
    hub.services[ARI_SERVICE] = ari
    person = await make_person(hub, client, tenant.id, "dialler")
    sim.endpoints["PJSIP/agent-d"] = RING
    sim.endpoints[FAR] = RING
    agent = await make_agent(hub, tenant.id, "PJSIP/agent-d", [], user_id=person.user_id)
    r = await client.post(
        "/api/v1/callcentre/agents/me/call/dial",
        headers=person.auth,
        json={"number": "+8613900002222"},
    )
    assert r.status_code == 200, r.text
    mine = await ringing_leg(sim, "PJSIP/agent-d")
    sim.remote_answer(mine)
    far = await ringing_leg(sim, FAR)
    return agent, uuid.UUID(r.json()["call_id"]), mine, far


async def ended_call(hub: Hub, tenant: TenantCtx, call_id: uuid.UUID) -> tuple[Call, Cdr]:
    async def ended() -> bool:
        async with hub.db.session() as s:
            scoped_to(s, tenant.id)
            call = await s.get(Call, call_id)
            return call is not None and call.state is CallState.ENDED

    await until(ended)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        call = await s.get(Call, call_id)
        cdr = await s.scalar(select(Cdr).where(Cdr.call_ref == str(call_id)))
    assert call is not None and cdr is not None
    return call, cdr


async def test_agent_dial_out_still_up_after_a_restart_is_picked_up_again(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, tenant: TenantCtx
) -> None:
    ari, app = await start_app(hub, sim)
    agent, call_id, mine, far = await dial_out(hub, client, sim, tenant, ari)
    await stop_app(ari, app)
    sim.remote_answer(far)  # answered while no Stasis app listens
    ari, app = await start_app(hub, sim)
    try:

        async def talking() -> bool:
            return (await agent_now(hub, tenant.id, agent.id)).state is AgentState.ON_CALL

        await until(talking)
        assert any(set(b.channels) == {mine, far} for b in sim.bridges.values())
        # The new process follows the call to its end as if it had placed it.
        sim.remote_hangup(far)
        await eventually(sim, lambda: mine not in sim.channels)
        call, _ = await ended_call(hub, tenant, call_id)
        assert call.disposition is not None and call.disposition.value == "answered"

        async def free() -> bool:
            return (await agent_now(hub, tenant.id, agent.id)).state is AgentState.AVAILABLE

        await until(free)
    finally:
        await stop_app(ari, app)


async def test_agent_dial_out_that_vanished_during_a_restart_is_closed_and_the_agent_freed(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, tenant: TenantCtx
) -> None:
    ari, app = await start_app(hub, sim)
    agent, call_id, mine, far = await dial_out(hub, client, sim, tenant, ari)
    sim.remote_answer(far)

    async def talking() -> bool:
        return (await agent_now(hub, tenant.id, agent.id)).state is AgentState.ON_CALL

    await until(talking)
    await stop_app(ari, app)
    sim.remote_hangup(far)  # nobody is listening
    ari, app = await start_app(hub, sim)
    try:
        # The agent's leg, still up in Asterisk, is hung up; the call gets its CDR.
        await eventually(sim, lambda: mine not in sim.channels)
        call, cdr = await ended_call(hub, tenant, call_id)
        assert call.disposition is not None and call.disposition.value == "answered"
        assert cdr.callee == "+8613900002222"

        async def free() -> bool:
            return (await agent_now(hub, tenant.id, agent.id)).state is AgentState.AVAILABLE

        await until(free)
        assert (await agent_now(hub, tenant.id, agent.id)).current_call_id is None
    finally:
        await stop_app(ari, app)
