"""Realistic call sequences from the simulator, as the client sees them (all spec-validated)."""

from __future__ import annotations

from typing import Literal

import pytest
from ari_testkit import EventLog

from telephony.ari import AriClient, AriConflict, AriNotFound
from telephony.ari.sim_state import EndpointBehaviour
from telephony.ari.simulator import AriSimulator


async def test_inbound_call_answer_play_dtmf_caller_hangs_up(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    ch = sim.inbound_call(
        caller_number="+8613800138000",
        caller_name="Li Lei",
        exten="4008",
        context="from-trunk",
        args=["inbound", "tenant-7"],
    )
    start = await log.wait_type("StasisStart", ch)
    assert start["args"] == ["inbound", "tenant-7"]
    assert start["application"] == sim.app
    assert start["channel"]["state"] == "Ring"
    assert start["channel"]["caller"] == {"name": "Li Lei", "number": "+8613800138000"}
    assert start["channel"]["dialplan"] == {
        "context": "from-trunk",
        "exten": "4008",
        "priority": 1,
        "app_name": "Stasis",
        "app_data": "huitong,inbound,tenant-7",
    }
    await ari.channels.answer(ch)
    await ari.channels.play(ch, "sound:welcome")
    await log.wait_type("PlaybackFinished", ch)
    sim.send_dtmf(ch, "1#", duration_ms=90)
    await log.wait_type("ChannelDtmfReceived", ch, count=2)
    sim.remote_hangup(ch)
    destroyed = await log.wait_type("ChannelDestroyed", ch)
    assert (destroyed["cause"], destroyed["cause_txt"]) == (16, "Normal Clearing")
    assert log.types(ch) == [
        "StasisStart",
        "ChannelStateChange",
        "PlaybackStarted",
        "PlaybackFinished",
        "ChannelDtmfReceived",
        "ChannelDtmfReceived",
        "ChannelHangupRequest",
        "StasisEnd",
        "ChannelDestroyed",
    ]
    digits = [(e["digit"], e["duration_ms"]) for e in log.of(ch) if "digit" in e]
    assert digits == [("1", 90), ("#", 90)]
    assert "soft" not in log.of(ch)[6]  # a far-end hangup is not a soft hangup
    assert sim.operations_on(ch) == ["answer", "play"]
    with pytest.raises(AriNotFound):
        await ari.channels.get(ch)


async def test_hangup_during_playback_finishes_it_before_stasis_end(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    sim.media_durations["sound:long-menu"] = 30.0
    ch = sim.inbound_call()
    await ari.channels.answer(ch)
    await ari.channels.play(ch, "sound:long-menu")
    await ari.channels.play(ch, "sound:never-started")
    await log.wait_type("PlaybackStarted", ch)
    sim.remote_hangup(ch, cause=16)
    await log.wait_type("ChannelDestroyed", ch)
    assert log.types(ch)[-5:] == [
        "PlaybackStarted",
        "ChannelHangupRequest",
        "PlaybackFinished",
        "StasisEnd",
        "ChannelDestroyed",
    ]
    finished = log.of(ch)[-3]
    assert finished["playback"]["state"] == "done"
    assert finished["playback"]["media_uri"] == "sound:long-menu"
    assert sim.playbacks == {}


async def test_app_hangup_with_reason_is_soft_with_mapped_cause(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    ch = sim.inbound_call()
    await ari.channels.hangup(ch, "busy")
    destroyed = await log.wait_type("ChannelDestroyed", ch)
    request = await log.wait_type("ChannelHangupRequest", ch)
    assert (request["cause"], request["soft"]) == (17, True)
    assert (destroyed["cause"], destroyed["cause_txt"]) == (17, "User busy")


async def test_originate_answered_enters_stasis(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    leg = await ari.channels.originate(
        "PJSIP/alice", app=sim.app, app_args="outbound,job-9", caller_id='"Huitong" <4008>'
    )
    assert leg["state"] == "Down" and leg["caller"] == {"name": "Huitong", "number": "4008"}
    start = await log.wait_type("StasisStart", leg["id"])
    assert start["args"] == ["outbound", "job-9"] and start["channel"]["state"] == "Up"
    states = [e["channel"]["state"] for e in log.of(leg["id"]) if e["type"] == "ChannelStateChange"]
    assert states == ["Ringing", "Up"]
    dials = [e["dialstatus"] for e in log.of(leg["id"]) if e["type"] == "Dial"]
    assert dials == ["", "RINGING", "ANSWER"]
    assert all("caller" not in e for e in log.of(leg["id"]) if e["type"] == "Dial")


@pytest.mark.parametrize(
    ("outcome", "status", "cause", "cause_txt"),
    [
        ("busy", "BUSY", 17, "User busy"),
        ("noanswer", "NOANSWER", 19, "User alerting, no answer"),
        ("congestion", "CONGESTION", 34, "Circuit/channel congestion"),
    ],
)
async def test_originate_not_answered_is_destroyed_without_stasis(
    sim: AriSimulator,
    ari: AriClient,
    log: EventLog,
    outcome: Literal["busy", "noanswer", "congestion"],
    status: str,
    cause: int,
    cause_txt: str,
) -> None:
    sim.endpoints["PJSIP/bob"] = EndpointBehaviour(outcome=outcome)
    leg = (await ari.channels.originate("PJSIP/bob", app=sim.app))["id"]
    destroyed = await log.wait_type("ChannelDestroyed", leg)
    assert (destroyed["cause"], destroyed["cause_txt"]) == (cause, cause_txt)
    assert [e["dialstatus"] for e in log.of(leg) if e["type"] == "Dial"][-1] == status
    assert "StasisStart" not in log.types(leg) and "StasisEnd" not in log.types(leg)


async def test_originate_timeout_while_ringing(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    sim.time_scale = 0.001  # ARI's 30 s ring timeout takes 30 ms
    sim.endpoints["PJSIP/slow"] = EndpointBehaviour(outcome="ring")
    leg = (await ari.channels.originate("PJSIP/slow", app=sim.app, ring_timeout=30))["id"]
    destroyed = await log.wait_type("ChannelDestroyed", leg)
    assert destroyed["cause"] == 19
    assert log.types(leg) == ["Dial", "ChannelStateChange", "Dial", "Dial", "ChannelDestroyed"]


async def test_app_cancels_ringing_originate(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    sim.endpoints["PJSIP/slow"] = EndpointBehaviour(outcome="ring")
    leg = (await ari.channels.originate("PJSIP/slow", app=sim.app))["id"]
    await log.wait_type("ChannelStateChange", leg)
    await ari.channels.hangup(leg)
    await log.wait_type("ChannelDestroyed", leg)
    assert log.types(leg)[-3:] == ["ChannelHangupRequest", "Dial", "ChannelDestroyed"]
    assert log.of(leg)[-2]["dialstatus"] == "CANCEL"


async def test_far_end_rejects_while_ringing(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    sim.endpoints["PJSIP/slow"] = EndpointBehaviour(outcome="ring")
    leg = (await ari.channels.originate("PJSIP/slow", app=sim.app))["id"]
    await log.wait_type("ChannelStateChange", leg)
    sim.remote_hangup(leg, cause=17)
    destroyed = await log.wait_type("ChannelDestroyed", leg)
    assert destroyed["cause_txt"] == "User busy"
    assert log.of(leg)[-2]["dialstatus"] == "BUSY"


async def test_dial_and_bridge_two_legs_then_callee_hangs_up(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    caller = sim.inbound_call(args=["inbound"])
    await ari.channels.answer(caller)
    callee = await ari.channels.create("PJSIP/agent-1", sim.app, app_args="outbound")
    created = await log.wait_type("StasisStart", callee["id"])
    assert created["channel"]["state"] == "Down"
    await ari.channels.dial(callee["id"], caller=caller)
    answer = await log.wait_type("Dial", callee["id"], count=3)
    assert answer["dialstatus"] == "ANSWER" and answer["caller"]["id"] == caller
    assert answer["peer"]["state"] == "Up"

    bridge = await ari.bridges.create("mixing", bridge_id="call-1")
    await ari.bridges.add_channel(bridge["id"], [caller, callee["id"]])
    entered = await log.wait_type("ChannelEnteredBridge", callee["id"])
    assert entered["bridge"]["channels"] == [caller, callee["id"]]
    assert entered["bridge"]["bridge_type"] == "mixing"

    sim.remote_hangup(callee["id"])
    await log.wait_type("ChannelDestroyed", callee["id"])
    assert log.types(callee["id"])[-4:] == [
        "ChannelHangupRequest",
        "ChannelLeftBridge",
        "StasisEnd",
        "ChannelDestroyed",
    ]
    assert (await ari.bridges.get(bridge["id"]))["channels"] == [caller]

    await ari.bridges.destroy(bridge["id"])
    destroyed = await log.wait_type("BridgeDestroyed")
    assert destroyed["bridge"]["id"] == "call-1" and destroyed["bridge"]["channels"] == []
    assert log.types(caller)[-1] == "ChannelLeftBridge"
    assert (await ari.channels.get(caller))["state"] == "Up"  # still up, back in Stasis only


@pytest.mark.parametrize(
    ("behaviour", "status", "cause"),
    [
        (EndpointBehaviour(outcome="busy"), "BUSY", 17),
        (EndpointBehaviour(outcome="ring"), "NOANSWER", 19),
    ],
)
async def test_dial_failures_end_the_leg_in_stasis(
    sim: AriSimulator,
    ari: AriClient,
    log: EventLog,
    behaviour: EndpointBehaviour,
    status: str,
    cause: int,
) -> None:
    sim.time_scale = 0.001
    sim.endpoints["PJSIP/agent-2"] = behaviour
    leg = (await ari.channels.create("PJSIP/agent-2", sim.app))["id"]
    await ari.channels.dial(leg, ring_timeout=20)
    await log.wait_type("ChannelDestroyed", leg)
    tail = log.of(leg)[-4:]
    assert {e["type"] for e in tail[:2]} == {"Dial", "ChannelHangupRequest"}
    assert [e["dialstatus"] for e in tail if e["type"] == "Dial"] == [status]
    assert [e["type"] for e in tail[2:]] == ["StasisEnd", "ChannelDestroyed"]
    assert tail[-1]["cause"] == cause


async def test_queued_playbacks_stop_and_control(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    sim.media_durations["sound:hold-music"] = 30.0
    ch = sim.inbound_call()
    await ari.channels.answer(ch)
    first = await ari.channels.play(ch, "sound:hold-music", playback_id="first")
    second = await ari.channels.play(ch, "sound:queued", playback_id="second")
    await log.wait_type("PlaybackStarted", ch)
    await ari.playbacks.control(first["id"], "pause")
    assert (await ari.playbacks.get(first["id"]))["state"] == "paused"  # Asterisk's quirk
    await ari.playbacks.control(first["id"], "unpause")
    with pytest.raises(AriConflict):
        await ari.playbacks.control(second["id"], "pause")  # still queued
    await ari.playbacks.stop(second["id"])  # cancel while queued
    await ari.playbacks.stop(first["id"])
    await log.wait_type("PlaybackFinished", ch, count=2)
    playback_events = [(e["type"], e["playback"]["id"]) for e in log.of(ch) if "playback" in e]
    assert playback_events == [
        ("PlaybackStarted", "first"),
        ("PlaybackFinished", "first"),
        ("PlaybackFinished", "second"),  # cancelled: finished without ever starting
    ]


async def test_multi_media_and_failing_media(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    sim.failing_media.add("sound:missing-file")
    ch = sim.inbound_call()
    await ari.channels.play(ch, ["sound:press", "digits:123", "sound:missing-file"])
    await log.wait_type("PlaybackFinished", ch)
    shown = [(e["type"], e["playback"]["state"]) for e in log.of(ch) if "playback" in e]
    assert shown == [
        ("PlaybackStarted", "playing"),
        ("PlaybackContinuing", "continuing"),
        ("PlaybackStarted", "playing"),
        ("PlaybackContinuing", "continuing"),
        ("PlaybackStarted", "playing"),
        ("PlaybackFinished", "failed"),
    ]
    first = next(e for e in log.of(ch) if "playback" in e)
    assert first["playback"]["next_media_uri"] == "digits:123"


async def test_recording_ended_by_dtmf_is_stored(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    ch = sim.inbound_call()
    await ari.channels.answer(ch)
    live = await ari.channels.record(ch, "vm-1", "wav", terminate_on="#", beep=True)
    assert live["state"] == "queued" and live["target_uri"] == f"channel:{ch}"
    await log.wait_type("RecordingStarted", ch)
    sim.send_dtmf(ch, "#")
    finished = await log.wait_type("RecordingFinished", ch)
    assert finished["recording"]["state"] == "done" and "duration" in finished["recording"]
    assert await ari.recordings.get_stored("vm-1") == {"name": "vm-1", "format": "wav"}
    with pytest.raises(AriConflict):  # ifExists defaults to fail
        await ari.channels.record(ch, "vm-1", "wav")
    await ari.recordings.delete_stored("vm-1")
    assert await ari.recordings.list_stored() == []


async def test_recording_max_duration_and_hangup(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    sim.time_scale = 0.001
    ch = sim.inbound_call()
    await ari.channels.record(ch, "capped", "wav", max_duration_seconds=10)
    await log.wait_type("RecordingFinished", ch)
    await ari.channels.record(ch, "cut", "gsm")
    await log.wait_type("RecordingStarted", ch, count=2)
    sim.remote_hangup(ch)
    await log.wait_type("ChannelDestroyed", ch)
    assert sorted(r["name"] for r in await ari.recordings.list_stored()) == ["capped", "cut"]


async def test_snoop_leg_follows_its_target(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    ch = sim.inbound_call()
    snoop = await ari.channels.snoop(ch, sim.app, spy="both", app_args="qa")
    start = await log.wait_type("StasisStart", snoop["id"])
    assert start["args"] == ["qa"] and snoop["name"].startswith(f"Snoop/{ch}-")
    sim.remote_hangup(ch)
    await log.wait_type("ChannelDestroyed", snoop["id"])
    await log.wait_type("ChannelDestroyed", ch)


async def test_continue_in_dialplan_leaves_stasis(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    ch = sim.inbound_call()
    await ari.channels.continue_in_dialplan(ch, context="ivr", extension="s", priority=1)
    await log.wait_type("StasisEnd", ch)
    with pytest.raises(AriConflict):
        await ari.channels.play(ch, "sound:too-late")
    sim.remote_hangup(ch)  # no longer ours: no events reach the app
    assert log.types(ch) == ["StasisStart", "StasisEnd"]


async def test_hold_mute_moh_are_silent_but_remote_hold_is_reported(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    ch = sim.inbound_call()
    await ari.channels.answer(ch)
    await ari.channels.hold(ch)
    await ari.channels.mute(ch)
    await ari.channels.start_moh(ch)
    assert sim.channels[ch].on_hold and sim.channels[ch].muted == "both"
    sim.remote_hold(ch, musicclass="default")
    sim.remote_unhold(ch)
    await log.wait_type("ChannelUnhold", ch)
    assert log.types(ch) == ["StasisStart", "ChannelStateChange", "ChannelHold", "ChannelUnhold"]
    assert sim.operations_on(ch) == ["answer", "hold", "mute", "startMoh"]


async def test_every_emitted_event_validates(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    """One busy scenario mixing most event types; the spec must accept all of them."""
    ch = sim.inbound_call()
    await ari.channels.answer(ch)
    await ari.channels.set_variable(ch, "A", "1")
    leg = await ari.channels.originate("PJSIP/alice", app=sim.app)
    await log.wait_type("StasisStart", leg["id"])
    bridge = await ari.bridges.create("holding")
    await ari.bridges.add_channel(bridge["id"], [ch, leg["id"]])
    await ari.bridges.play(bridge["id"], "sound:queue-periodic-announce")
    await ari.bridges.record(bridge["id"], "b-rec", "wav")
    await log.wait_type("PlaybackFinished")
    await ari.bridges.remove_channel(bridge["id"], leg["id"])
    await ari.bridges.destroy(bridge["id"])
    await log.wait_type("BridgeDestroyed")
    sim.send_dtmf(ch, "*")
    await ari.channels.hangup(ch)
    await ari.channels.hangup(leg["id"], "normal_unspecified")
    await log.wait_type("ChannelDestroyed", leg["id"])
    emitted = {e["type"] for e in sim.emitted}
    assert emitted >= {
        "StasisStart", "ChannelStateChange", "ChannelVarset", "Dial", "ChannelEnteredBridge",
        "PlaybackStarted", "PlaybackFinished", "RecordingStarted", "RecordingFinished",
        "ChannelLeftBridge", "BridgeDestroyed", "ChannelDtmfReceived", "ChannelHangupRequest",
        "StasisEnd", "ChannelDestroyed",
    }  # fmt: skip
    assert sim.violations == []
    assert log.problems == []
