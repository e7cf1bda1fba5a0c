"""Announcements, recording, ring-all, voicemail overflow and call-backs through the simulator."""

from __future__ import annotations

from cc_testkit import (
    agent_now,
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
from telephony.stasis.app import StasisApp
from telephony.vpmn.models import Cdr

DID = "+861088880003"
RING = EndpointBehaviour(outcome="ring")


def call_in(sim: AriSimulator, tenant: TenantCtx, caller: str) -> str:
    return sim.inbound_call(caller_number=caller, exten=DID, args=[f"tenant={tenant.id}"])


def media_played(sim: AriSimulator, channel: str) -> list[list[str]]:
    # Several media in one playback travel comma-separated (ARI's array query parameter).
    plays = sim.requests_for(nickname="play", channelId=channel)
    return [str(r.query["media"]).split(",") for r in plays]


async def test_waiting_callers_hear_their_position_and_moh_comes_back(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await make_queue(hub, tenant.id, dids=[DID], announce_interval=5)
    sim.media_durations["sound:queue-callswaiting"] = 0.01
    call_in(sim, tenant, "+8613700000031")
    call_in(sim, tenant, "+8613700000032")

    async def both_queued() -> bool:
        return len(await queue_calls(hub, tenant.id)) == 2

    await until(both_queued)
    # Both StasisStarts race (one event lane per channel): the database says who is first.
    first, second = [r.channel_id for r in await queue_calls(hub, tenant.id)]
    # The interval counts from entering the queue: 5 s, then the tick announces.
    await eventually(
        sim, lambda: bool(media_played(sim, first) and media_played(sim, second)), timeout=10
    )
    assert media_played(sim, first)[0] == ["sound:queue-youarenext"]
    assert media_played(sim, second)[0] == [
        "sound:queue-thereare",
        "digits:1",
        "sound:queue-callswaiting",
    ]
    moh = sim.requests_for(nickname="startMoh", channelId=second)
    await eventually(
        sim,
        lambda: (
            len(sim.requests_for(nickname="startMoh", channelId=second)) > len(moh)
            or sim.channels[second].moh_class == "default"
        ),
    )
    await eventually(sim, lambda: sim.channels[second].moh_class == "default")


async def test_ring_all_rings_every_free_agent_and_records_the_answered_call(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    queue = await make_queue(hub, tenant.id, dids=[DID], strategy="ring_all", record=True)
    one = await make_agent(hub, tenant.id, "PJSIP/one", [queue])
    two = await make_agent(hub, tenant.id, "PJSIP/two", [queue])
    sim.endpoints["PJSIP/one"] = RING
    sim.endpoints["PJSIP/two"] = RING
    caller = call_in(sim, tenant, "+8613700000033")
    leg_one = await ringing_leg(sim, "PJSIP/one")
    leg_two = await ringing_leg(sim, "PJSIP/two")
    sim.remote_answer(leg_two)
    await eventually(sim, lambda: leg_one not in sim.channels)

    async def settled() -> bool:
        a = await agent_now(hub, tenant.id, one.id)
        b = await agent_now(hub, tenant.id, two.id)
        return a.state is AgentState.AVAILABLE and b.state is AgentState.ON_CALL

    await until(settled)
    [entry] = await queue_calls(hub, tenant.id)
    assert entry.recording == f"callcentre/{entry.id}"
    records = sim.requests_for(nickname="record", bridgeId=entry.bridge_id)
    assert records and records[0].query["name"] == entry.recording
    assert set(sim.bridges[entry.bridge_id].channels) == {caller, leg_two}
    sim.remote_hangup(leg_two)

    async def cdr_written() -> bool:
        async with hub.db.session() as s:
            scoped_to(s, tenant.id)
            cdr = await s.scalar(select(Cdr))
            return cdr is not None and cdr.recording_ref == entry.recording

    await until(cdr_written)


async def test_max_wait_overflow_to_voicemail_records_then_hangs_up(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await make_queue(
        hub, tenant.id, dids=[DID], max_wait=1, overflow="voicemail", overflow_mailbox="6001"
    )
    caller = call_in(sim, tenant, "+8613700000034")
    await eventually(sim, lambda: bool(sim.requests_for(nickname="record", channelId=caller)))
    [rec] = sim.requests_for(nickname="record", channelId=caller)
    assert rec.query["name"].startswith("voicemail/6001/")
    assert sim.channels[caller].moh_class is None
    sim.remote_hangup(caller)

    async def overflowed() -> bool:
        rows = await queue_calls(hub, tenant.id)
        return rows[0].state is EntryState.OVERFLOWED and rows[0].overflow_target == "voicemail"

    await until(overflowed)


async def test_callback_rings_the_agent_then_calls_the_customer_back(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    queue = await make_queue(hub, tenant.id, dids=[DID], max_wait=1, overflow="callback")
    caller = call_in(sim, tenant, "+8613700000035")
    await eventually(sim, lambda: caller not in sim.channels, timeout=5)
    [entry] = await queue_calls(hub, tenant.id)
    assert entry.state is EntryState.CALLBACK_REQUESTED
    sim.endpoints["PJSIP/cb-agent"] = RING
    sim.endpoints["PJSIP/+8613700000035@carrier"] = RING
    agent = await make_agent(hub, tenant.id, "PJSIP/cb-agent", [queue])
    leg = await ringing_leg(sim, "PJSIP/cb-agent")
    sim.remote_answer(leg)
    customer = await ringing_leg(sim, "PJSIP/+8613700000035@carrier")
    assert sim.channels[leg].moh_class == "default"
    sim.remote_answer(customer)
    await eventually(
        sim, lambda: any(set(b.channels) == {leg, customer} for b in sim.bridges.values())
    )
    assert (await agent_now(hub, tenant.id, agent.id)).state is AgentState.ON_CALL
    [entry] = await queue_calls(hub, tenant.id)
    assert entry.state is EntryState.ANSWERED and entry.channel_id == customer
