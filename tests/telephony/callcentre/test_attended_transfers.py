"""Attended transfers to a number and to a queue: consult, then complete or cancel."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from cc_testkit import (
    RING,
    agent_now,
    answered_call,
    eventually,
    make_agent,
    make_queue,
    queue_calls,
    ringing_leg,
    until,
)
from sqlalchemy import select

from comms.bus.models import OutboxEvent
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari.simulator import AriSimulator
from telephony.callcentre import service
from telephony.callcentre.models import Agent
from telephony.callcentre.schemas import StateIn
from telephony.callcentre.state import AgentState, EntryState
from telephony.calls.models import Call
from telephony.stasis.app import StasisApp

API = "/api/v1/callcentre"
FAR = "PJSIP/+8613911112222@carrier"


async def published(hub: Hub, tenant_id: uuid.UUID, topic: str) -> list[dict[str, Any]]:
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        rows = await s.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == topic).order_by(OutboxEvent.id)
        )
        return [r.payload for r in rows]


def bridge_of(sim: AriSimulator, channel: str) -> set[str]:
    found = [set(b.channels) for b in sim.bridges.values() if channel in b.channels]
    return found[0] if found else set()


async def state_is(hub: Hub, tenant: TenantCtx, agent_id: uuid.UUID, state: AgentState) -> None:
    async def check() -> bool:
        return (await agent_now(hub, tenant.id, agent_id)).state is state

    await until(check)


async def call_ended(hub: Hub, tenant: TenantCtx, call_id: uuid.UUID | None) -> None:
    async def check() -> bool:
        async with hub.db.session() as s:
            scoped_to(s, tenant.id)
            call = await s.get(Call, call_id)
            return call is not None and call.state.value == "ended"

    await until(check)


async def test_attended_transfer_to_a_number_consults_it_then_leaves_the_caller_with_it(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    person, agent, _, caller, leg = await answered_call(hub, client, sim, stasis, tenant)
    sim.endpoints[FAR] = RING
    url = f"{API}/agents/me/transfer"
    r = await client.post(url, headers=person.auth, json={"kind": "attended", "number": "12"})
    assert r.status_code == 422 and r.json()["field"] == "number"
    r = await client.post(
        url, headers=person.auth, json={"kind": "attended", "number": "+8613911112222"}
    )
    assert r.status_code == 200, r.text
    far = await ringing_leg(sim, FAR)
    assert bridge_of(sim, caller) == {caller} and bridge_of(sim, leg) == {leg, far}
    sim.remote_answer(far)
    r = await client.post(f"{url}/complete", headers=person.auth)
    assert r.status_code == 200, r.text
    await eventually(sim, lambda: leg not in sim.channels)
    await eventually(sim, lambda: bridge_of(sim, caller) == {caller, far})
    await state_is(hub, tenant, agent.id, AgentState.WRAP_UP)
    [moved] = await published(hub, tenant.id, "telephony.queue.call_transferred")
    assert (moved["kind"], moved["to"]) == ("attended", "number:+8613911112222")
    # The number now owns the call: its hang-up ends it.
    sim.remote_hangup(far)
    await eventually(sim, lambda: caller not in sim.channels)
    [entry] = await queue_calls(hub, tenant.id)
    await call_ended(hub, tenant, entry.call_id)
    assert entry.transferred_at is not None


async def test_cancelled_number_consultation_hangs_it_up_and_returns_to_the_caller(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    person, agent, _, caller, leg = await answered_call(hub, client, sim, stasis, tenant)
    sim.endpoints[FAR] = RING
    url = f"{API}/agents/me/transfer"
    await client.post(
        url, headers=person.auth, json={"kind": "attended", "number": "+8613911112222"}
    )
    far = await ringing_leg(sim, FAR)
    sim.remote_answer(far)
    r = await client.post(f"{url}/cancel", headers=person.auth)
    assert r.status_code == 200, r.text
    await eventually(sim, lambda: far not in sim.channels)
    assert bridge_of(sim, caller) == {caller, leg}
    assert (await agent_now(hub, tenant.id, agent.id)).state is AgentState.ON_CALL
    assert await published(hub, tenant.id, "telephony.queue.call_transferred") == []


async def test_number_that_hangs_up_during_consultation_returns_the_agent_to_the_caller(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    person, _, _, caller, leg = await answered_call(hub, client, sim, stasis, tenant)
    sim.endpoints[FAR] = RING
    await client.post(
        f"{API}/agents/me/transfer",
        headers=person.auth,
        json={"kind": "attended", "number": "+8613911112222"},
    )
    far = await ringing_leg(sim, FAR)
    sim.remote_answer(far)
    sim.remote_hangup(far)
    await eventually(sim, lambda: bridge_of(sim, caller) == {caller, leg})
    r = await client.post(f"{API}/agents/me/transfer/complete", headers=person.auth)
    assert r.status_code == 409 and "no consultation" in r.text


async def test_attended_transfer_to_a_queue_waits_there_then_hands_over_to_who_answered(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    person, agent, _, caller, leg = await answered_call(hub, client, sim, stasis, tenant)
    second = await make_queue(hub, tenant.id, "second")
    helper = await make_agent(hub, tenant.id, "PJSIP/agent-y", [second], available=False)
    sim.endpoints["PJSIP/agent-y"] = RING
    url = f"{API}/agents/me/transfer"
    r = await client.post(
        url, headers=person.auth, json={"kind": "attended", "queue_id": str(second.id)}
    )
    assert r.status_code == 200, r.text
    # Nobody free in that queue yet: the consultation waits, the agent hears its music.
    r = await client.post(f"{url}/complete", headers=person.auth)
    assert r.status_code == 409 and "has answered" in r.text
    assert bridge_of(sim, caller) == {caller} and bridge_of(sim, leg) == {leg}
    _, waiting = await queue_calls(hub, tenant.id)
    assert (waiting.queue_id, waiting.state) == (second.id, EntryState.WAITING)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        row = await s.get(Agent, helper.id)
        assert row is not None
        await service.set_state(s, row, StateIn(state="available"))
    leg_y = await ringing_leg(sim, "PJSIP/agent-y")
    sim.remote_answer(leg_y)
    await eventually(sim, lambda: bridge_of(sim, leg) == {leg, leg_y})
    assert bridge_of(sim, caller) == {caller}
    r = await client.post(f"{url}/complete", headers=person.auth)
    assert r.status_code == 200, r.text
    await eventually(sim, lambda: leg not in sim.channels)
    await eventually(sim, lambda: bridge_of(sim, caller) == {caller, leg_y})
    await state_is(hub, tenant, agent.id, AgentState.WRAP_UP)
    first, taken = await queue_calls(hub, tenant.id)
    assert first.transferred_at is not None
    assert (taken.queue_id, taken.agent_id, taken.channel_id) == (second.id, helper.id, caller)
    [moved] = await published(hub, tenant.id, "telephony.queue.call_transferred")
    assert (moved["kind"], moved["to"]) == ("attended", f"queue:{second.id}")
    answered = await published(hub, tenant.id, "telephony.queue.call_answered")
    assert [a["agent_id"] for a in answered] == [str(agent.id), str(helper.id)]
    # Whoever answered owns the call now: their hang-up ends it.
    sim.remote_hangup(leg_y)
    await eventually(sim, lambda: caller not in sim.channels)
    await state_is(hub, tenant, helper.id, AgentState.WRAP_UP)
    await call_ended(hub, tenant, first.call_id)


async def test_cancelled_queue_consultation_leaves_the_queue_and_returns_to_the_caller(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    person, agent, _, caller, leg = await answered_call(hub, client, sim, stasis, tenant)
    second = await make_queue(hub, tenant.id, "second")
    url = f"{API}/agents/me/transfer"
    await client.post(
        url, headers=person.auth, json={"kind": "attended", "queue_id": str(second.id)}
    )
    r = await client.post(f"{url}/cancel", headers=person.auth)
    assert r.status_code == 200, r.text
    await eventually(sim, lambda: bridge_of(sim, caller) == {caller, leg})
    _, waiting = await queue_calls(hub, tenant.id)
    assert waiting.state is EntryState.ABANDONED
    assert (await agent_now(hub, tenant.id, agent.id)).state is AgentState.ON_CALL


async def test_queue_agent_who_hangs_up_during_consultation_returns_the_agent_to_the_caller(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    person, agent, _, caller, leg = await answered_call(hub, client, sim, stasis, tenant)
    second = await make_queue(hub, tenant.id, "second")
    helper = await make_agent(hub, tenant.id, "PJSIP/agent-w", [second])
    sim.endpoints["PJSIP/agent-w"] = RING
    await client.post(
        f"{API}/agents/me/transfer",
        headers=person.auth,
        json={"kind": "attended", "queue_id": str(second.id)},
    )
    leg_w = await ringing_leg(sim, "PJSIP/agent-w")
    sim.remote_answer(leg_w)
    await eventually(sim, lambda: bridge_of(sim, leg) == {leg, leg_w})
    sim.remote_hangup(leg_w)
    await eventually(sim, lambda: bridge_of(sim, caller) == {caller, leg})
    await state_is(hub, tenant, helper.id, AgentState.WRAP_UP)
    assert (await agent_now(hub, tenant.id, agent.id)).state is AgentState.ON_CALL
    r = await client.post(f"{API}/agents/me/transfer/complete", headers=person.auth)
    assert r.status_code == 409 and "no consultation" in r.text


async def test_consulted_number_hanging_up_as_the_transfer_completes_ends_the_call(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    person, agent, _, caller, leg = await answered_call(hub, client, sim, stasis, tenant)
    sim.endpoints[FAR] = RING
    url = f"{API}/agents/me/transfer"
    await client.post(
        url, headers=person.auth, json={"kind": "attended", "number": "+8613911112222"}
    )
    far = await ringing_leg(sim, FAR)
    sim.remote_answer(far)
    async with stasis.queues.lock:  # the Stasis app is busy: it sees both hang-ups late
        r = await client.post(f"{url}/complete", headers=person.auth)
        assert r.status_code == 200, r.text
        sim.remote_hangup(far)
        await eventually(sim, lambda: far not in sim.channels and leg not in sim.channels)
    await eventually(sim, lambda: caller not in sim.channels)
    [entry] = await queue_calls(hub, tenant.id)
    await call_ended(hub, tenant, entry.call_id)
    await state_is(hub, tenant, agent.id, AgentState.WRAP_UP)
