"""Inbound short-number calls to VPMN members, driven end to end through the ARI simulator."""

from __future__ import annotations

import asyncio
import io
import wave

import httpx
from calls_testkit import (
    LI_DESK,
    LI_MOBILE,
    OUTSIDER,
    ZHANG_DESK,
    ZHANG_MOBILE,
    calls_of,
    cdrs_of,
    eventually,
    legs_of,
    moves_of,
    ops,
    setup_members,
    topics_of,
    wait_db,
)

from comms.auth.principal import Principal
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari.sim_state import EndpointBehaviour
from telephony.ari.simulator import AriSimulator
from telephony.ringback import service as ringback
from telephony.ringback.rules import Scope
from telephony.ringback.schemas import RuleIn
from telephony.stasis.app import StasisApp

RING = EndpointBehaviour(outcome="ring")


def leg_on(sim: AriSimulator, endpoint: str) -> str | None:
    return next((c.id for c in sim.channels.values() if c.endpoint == endpoint), None)


async def ringing_leg(sim: AriSimulator, endpoint: str) -> str:
    await eventually(sim, lambda: leg_on(sim, endpoint) is not None)
    leg = leg_on(sim, endpoint)
    assert leg is not None
    await eventually(sim, lambda: sim.channels[leg].state == "Ringing")
    return leg


def call_in(sim: AriSimulator, tenant: TenantCtx, exten: str, caller: str = OUTSIDER) -> str:
    return sim.inbound_call(caller_number=caller, exten=exten, args=[f"tenant={tenant.id}"])


async def test_caller_hears_the_group_tone_until_the_desk_answers_then_is_bridged(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx, tones: dict[str, str]
) -> None:
    await setup_members(hub, tenant.id)
    tones["6001"] = "sound:acme-ringback"
    sim.media_durations["sound:acme-ringback"] = 30.0  # no loop within the test
    sim.endpoints[ZHANG_DESK] = RING
    caller = call_in(sim, tenant, "6001")
    desk = await ringing_leg(sim, ZHANG_DESK)
    # Early media: the tone plays on a caller channel nobody has answered yet.
    assert sim.channels[caller].state == "Ring"
    plays = sim.requests_for(nickname="play", channelId=caller)
    assert plays and plays[0].query["media"] == "sound:acme-ringback"
    sim.remote_answer(desk)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "answered")
    assert ops(sim, caller) == ["play", "answer"]
    stopped = sim.requests_for(nickname="stop")
    assert [r.path_params["playbackId"] for r in stopped] == [plays[0].query["playbackId"]]
    bridge = next(iter(sim.bridges.values()))
    assert set(bridge.channels) == {caller, desk}
    [call] = await calls_of(hub, tenant.id)
    assert (call.caller, call.callee, call.in_network) == (OUTSIDER, "6001", False)
    assert call.ringback_media == "sound:acme-ringback" and call.bridge_id == bridge.id

    sim.remote_hangup(caller)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    await eventually(sim, lambda: desk not in sim.channels and not sim.bridges)
    [call] = await calls_of(hub, tenant.id)
    assert (call.disposition, call.end_reason) == ("answered", "caller hung up")
    assert await moves_of(hub, tenant.id, call.id) == [
        "new>ringing",
        "ringing>answered",
        "answered>ended",
    ]
    [cdr] = await cdrs_of(hub, tenant.id)
    assert (cdr.call_ref, cdr.disposition, cdr.in_network) == (str(call.id), "answered", False)
    assert await topics_of(hub, tenant.id) == [
        "telephony.call.ringing",
        "telephony.call.answered",
        "telephony.call.ended",
    ]
    assert stasis.active_calls == 0


async def test_sequential_member_rings_the_mobile_after_the_desk_times_out(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    sim.time_scale = 0.001  # the 15 s desk timeout passes in 15 ms
    sim.endpoints[ZHANG_DESK] = RING
    sim.endpoints[ZHANG_MOBILE] = RING
    caller = call_in(sim, tenant, "6001", caller="+8613800001111")  # 李娜's mobile
    mobile = await ringing_leg(sim, ZHANG_MOBILE)
    desk_dial = sim.requests_for(nickname="dial")[0]
    assert desk_dial.query["timeout"] == "15"
    sim.remote_answer(mobile)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "answered")
    [call] = await calls_of(hub, tenant.id)
    assert call.in_network
    legs = await legs_of(hub, tenant.id, call.id)
    assert [(leg.endpoint, leg.step, leg.state) for leg in legs] == [
        (sim.channels[caller].name, 0, "up"),
        (ZHANG_DESK, 0, "gone"),
        (ZHANG_MOBILE, 1, "up"),
    ]
    assert legs[1].cause == 19  # no answer
    assert ops(sim, caller) == ["ring", "ringStop", "answer"]  # no tone set: plain ringing


async def test_simultaneous_member_first_phone_to_answer_wins(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    sim.endpoints[LI_DESK] = RING
    sim.endpoints[LI_MOBILE] = RING
    call_in(sim, tenant, "6002", caller="6001")
    desk = await ringing_leg(sim, LI_DESK)
    mobile = await ringing_leg(sim, LI_MOBILE)
    sim.remote_answer(mobile)
    await eventually(sim, lambda: desk not in sim.channels)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "answered")
    hangups = sim.requests_for(nickname="hangup", channelId=desk)
    assert [r.query.get("reason") for r in hangups] == ["answered_elsewhere"]
    assert "hangup" not in ops(sim, mobile)


async def test_caller_hanging_up_while_it_rings_is_a_missed_call(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx, tones: dict[str, str]
) -> None:
    await setup_members(hub, tenant.id)
    tones["6001"] = "sound:acme-ringback"
    sim.endpoints[ZHANG_DESK] = RING
    caller = call_in(sim, tenant, "6001")
    desk = await ringing_leg(sim, ZHANG_DESK)
    sim.remote_hangup(caller)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    await eventually(sim, lambda: desk not in sim.channels)
    [call] = await calls_of(hub, tenant.id)
    assert (call.disposition, call.answered_at) == ("cancelled", None)
    [cdr] = await cdrs_of(hub, tenant.id)
    assert (cdr.billable_seconds, cdr.charge) == (0, 0)
    assert await topics_of(hub, tenant.id) == [
        "telephony.call.ringing",
        "telephony.call.missed",
        "telephony.call.ended",
    ]


async def test_every_phone_busy_tells_the_caller_busy(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    sim.endpoints[ZHANG_DESK] = EndpointBehaviour(outcome="busy")
    sim.endpoints[ZHANG_MOBILE] = EndpointBehaviour(outcome="busy")
    caller = call_in(sim, tenant, "6001")
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    await eventually(sim, lambda: caller not in sim.channels)
    [call] = await calls_of(hub, tenant.id)
    assert (call.disposition, call.end_reason) == ("busy", "busy")
    assert [r.query.get("reason") for r in sim.requests_for(nickname="hangup")] == ["busy"]
    assert "telephony.call.missed" in await topics_of(hub, tenant.id)


async def test_callee_hanging_up_ends_the_bridged_call(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    caller = call_in(sim, tenant, "8003", caller="6001")  # desk answers by default
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "answered")
    desk = leg_on(sim, "PJSIP/8003")
    assert desk is not None
    sim.remote_hangup(desk)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    await eventually(sim, lambda: caller not in sim.channels and not sim.bridges)
    [call] = await calls_of(hub, tenant.id)
    assert (call.disposition, call.end_reason, call.in_network) == (
        "answered",
        "callee hung up",
        True,
    )
    [cdr] = await cdrs_of(hub, tenant.id)
    assert (cdr.tariff_class, cdr.billed_member) == ("in_network", "张伟")


async def test_unknown_short_number_hears_an_announcement_then_is_released(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    caller = call_in(sim, tenant, "6999")
    await eventually(sim, lambda: caller not in sim.channels)
    assert ops(sim, caller) == ["play", "hangup"]  # never answered: no charge to the caller
    assert sim.requests_for(nickname="play")[0].query["media"] == "sound:ss-noservice"
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    [call] = await calls_of(hub, tenant.id)
    assert call.disposition == "failed"
    assert await moves_of(hub, tenant.id, call.id) == ["new>announcing", "announcing>ended"]


async def test_short_ringback_tone_loops_while_it_rings(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx, tones: dict[str, str]
) -> None:
    await setup_members(hub, tenant.id)
    tones["6001"] = "sound:short-tone"
    sim.media_durations["sound:short-tone"] = 0.01
    sim.endpoints[ZHANG_DESK] = RING
    caller = call_in(sim, tenant, "6001")
    desk = await ringing_leg(sim, ZHANG_DESK)
    await eventually(sim, lambda: len(sim.requests_for(nickname="play", channelId=caller)) >= 3)
    sim.remote_answer(desk)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "answered")
    played = len(sim.requests_for(nickname="play", channelId=caller))
    await asyncio.sleep(0.05)
    assert len(sim.requests_for(nickname="play", channelId=caller)) == played


async def test_call_without_tenant_is_rejected(sim: AriSimulator, stasis: StasisApp) -> None:
    caller = sim.inbound_call(exten="6001")
    await eventually(sim, lambda: caller not in sim.channels)
    assert ops(sim, caller) == ["hangup"]


async def test_callee_hangup_missed_during_a_websocket_drop_is_reconciled(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    caller = call_in(sim, tenant, "8003")
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "answered")
    desk = leg_on(sim, "PJSIP/8003")
    assert desk is not None
    reconciled = stasis.reconciled
    await sim.drop_connections()
    sim.remote_hangup(desk)  # Asterisk drops these events: nobody is listening
    assert sim.dropped
    await eventually(sim, lambda: stasis.reconciled > reconciled)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "ended")
    await eventually(sim, lambda: caller not in sim.channels and not sim.bridges)
    [call] = await calls_of(hub, tenant.id)
    assert (call.disposition, call.end_reason) == ("answered", "callee hung up")


async def test_call_ringing_across_a_websocket_drop_still_connects(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    sim.endpoints[ZHANG_DESK] = RING
    call_in(sim, tenant, "6001")
    desk = await ringing_leg(sim, ZHANG_DESK)
    reconciled = stasis.reconciled
    await sim.drop_connections()
    await eventually(sim, lambda: stasis.reconciled > reconciled and sim.app_active(sim.app))
    sim.remote_answer(desk)
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "answered")


async def test_call_detail_shows_legs_and_recorded_transitions(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx, client: httpx.AsyncClient
) -> None:
    await setup_members(hub, tenant.id)
    call_in(sim, tenant, "8003", caller="6001")
    await wait_db(hub, tenant.id, lambda cs: cs[0].state == "answered")
    [call] = (await client.get("/api/v1/calls", headers=tenant.auth)).json()
    detail = (await client.get(f"/api/v1/calls/{call['id']}", headers=tenant.auth)).json()
    assert [leg["role"] for leg in detail["legs"]] == ["caller", "callee"]
    assert [(t["from_state"], t["to_state"]) for t in detail["transitions"]] == [
        ("new", "ringing"),
        ("ringing", "answered"),
    ]


async def test_tone_chosen_by_the_tenants_ringback_rules_is_played(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    actor = Principal.system(tenant.id)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        tone = await ringback.create_tone(s, actor, "sales tone", silent_wav())
        await ringback.create_rule(
            s, actor, RuleIn(tone_id=tone.id, scope=Scope.DEPARTMENT, department="Sales")
        )
    sim.endpoints[ZHANG_DESK] = RING
    caller = call_in(sim, tenant, "6001")
    await ringing_leg(sim, ZHANG_DESK)
    plays = sim.requests_for(nickname="play", channelId=caller)
    assert plays[0].query["media"] == f"sound:huitong/ringback/{tone.id}"
    [call] = await calls_of(hub, tenant.id)
    assert call.ringback_media == tone.media


def silent_wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 8000)
    return out.getvalue()
