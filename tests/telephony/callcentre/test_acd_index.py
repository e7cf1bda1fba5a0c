"""The Stasis process's ACD index: deltas between decisions, a rebuild only on start and check."""

from __future__ import annotations

import uuid

from cc_testkit import (
    DID,
    OUTSIDER,
    RING,
    agent_now,
    make_agent,
    make_queue,
    ringing_leg,
    until,
)

from comms.auth.principal import Principal
from comms.db.base import utcnow
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari.simulator import AriSimulator
from telephony.callcentre import queueing as qc
from telephony.callcentre import service
from telephony.callcentre.acd_index import AcdIndex
from telephony.callcentre.models import Queue
from telephony.callcentre.schemas import AgentUpdate, StateIn
from telephony.callcentre.state import AgentState
from telephony.stasis.app import StasisApp


async def sync(hub: Hub, index: AcdIndex) -> None:
    async with hub.db.session() as s:
        unscoped(s)
        await index.sync(s, utcnow())


async def enter(hub: Hub, tenant_id: uuid.UUID, queue: Queue, caller: str) -> uuid.UUID:
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        entry = await qc.enter(
            s, queue, call_id=None, channel_id=caller, caller=caller, priority=0, now=utcnow()
        )
        await s.commit()
        return entry.id


async def go_available(hub: Hub, tenant_id: uuid.UUID, agent_id: uuid.UUID) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        await service.set_state(s, await service.get_agent(s, agent_id), StateIn(state="available"))


async def test_deltas_bring_new_callers_and_agent_moves_without_a_rebuild(
    hub: Hub, tenant: TenantCtx
) -> None:
    queue = await make_queue(hub, tenant.id, "index")
    first = await make_agent(hub, tenant.id, "PJSIP/i1", [queue])
    later = await make_agent(hub, tenant.id, "PJSIP/i2", [queue], available=False)
    index = AcdIndex(recheck_seconds=3600)
    await sync(hub, index)
    assert index.rebuilds == 1 and index.free[queue.id] == {first.id}
    # Another process (the API) makes an agent available; a caller enters.
    await go_available(hub, tenant.id, later.id)
    caller = await enter(hub, tenant.id, queue, "+8613700000101")
    await sync(hub, index)
    assert index.rebuilds == 1
    assert index.free[queue.id] == {first.id, later.id} and index.callers[queue.id] == {caller}
    # Longest idle: the agent available first takes the caller; both leave the book.
    [offer] = index.decide(queue.id, utcnow())
    assert (offer.caller_id, offer.agent_ids) == (caller, (first.id,))
    assert index.free[queue.id] == {later.id} and index.callers[queue.id] == set()
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        agent = await service.get_agent(s, later.id)
        service.move_agent(s, agent, AgentState.PAUSED, "lunch")
        await s.commit()
    await sync(hub, index)
    assert index.free[queue.id] == set() and index.rebuilds == 1


async def test_the_periodic_check_rebuilds_and_corrects_what_no_delta_shows(
    hub: Hub, tenant: TenantCtx
) -> None:
    queue = await make_queue(hub, tenant.id, "checked")
    agent = await make_agent(hub, tenant.id, "PJSIP/i3", [])
    clock = [0.0]
    index = AcdIndex(recheck_seconds=30, monotonic=lambda: clock[0])
    await sync(hub, index)
    # Joining a queue changes no state: the deltas cannot see it...
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        await service.update_agent(
            s, Principal.system(tenant.id), agent.id, AgentUpdate(queue_ids=[queue.id])
        )
    clock[0] = 29
    await sync(hub, index)
    assert index.free[queue.id] == set() and index.rebuilds == 1
    # ...the check against the database does, and counts what it corrected.
    clock[0] = 31
    await sync(hub, index)
    assert index.free[queue.id] == {agent.id}
    assert (index.rebuilds, index.drift) == (2, 1)


async def test_stasis_offers_come_from_the_index_built_once(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    queue = await make_queue(hub, tenant.id, "busy", dids=[DID], wrapup_seconds=0)
    agent = await make_agent(hub, tenant.id, "PJSIP/i4", [queue])
    sim.endpoints["PJSIP/i4"] = RING
    args = [f"tenant={tenant.id}"]
    sim.inbound_call(caller_number=OUTSIDER, exten=DID, args=args)
    first = await ringing_leg(sim, "PJSIP/i4")
    sim.remote_answer(first)

    async def talking() -> bool:
        return (await agent_now(hub, tenant.id, agent.id)).state is AgentState.ON_CALL

    await until(talking)
    sim.remote_hangup(first)
    # Wrap-up over (the tick), the next caller is offered from the same index.
    sim.inbound_call(caller_number="+8613700000102", exten=DID, args=args)
    await ringing_leg(sim, "PJSIP/i4", besides=(first,))
    assert stasis.queues.acd.rebuilds == 1
