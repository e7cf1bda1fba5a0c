"""The ARI client's REST calls against the simulator: encoding, results, and error mapping."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, cast

import pytest
from ari_testkit import EventLog

from telephony.ari import (
    AriBadRequest,
    AriClient,
    AriConflict,
    AriConnectionError,
    AriNotFound,
    AriUnauthorized,
    AriUnprocessable,
)
from telephony.ari.operations import CLIENT_OPERATIONS
from telephony.ari.resources import HangupReason
from telephony.ari.sim_state import EndpointBehaviour
from telephony.ari.simulator import AriSimulator
from telephony.ari.spec import AriSpec


async def test_answer_and_play_are_recorded_in_order(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    ch = sim.inbound_call(caller_number="+861012345678")
    await ari.channels.answer(ch)
    playback = await ari.channels.play(ch, "sound:hello-world", playback_id="pb-1")
    assert playback["id"] == "pb-1" and playback["state"] == "queued"
    assert playback["target_uri"] == f"channel:{ch}"
    assert sim.operations_on(ch) == ["answer", "play"]
    assert sim.requests_for(nickname="play")[0].query == {
        "media": "sound:hello-world",
        "playbackId": "pb-1",
    }
    channel = await ari.channels.get(ch)
    assert channel["state"] == "Up" and channel["caller"]["number"] == "+861012345678"
    assert [c["id"] for c in await ari.channels.list()] == [ch]


async def test_lists_and_booleans_are_encoded_as_asterisk_expects(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    a, b = sim.inbound_call(), sim.inbound_call()
    bridge = await ari.bridges.create("mixing", name="conf")
    await ari.bridges.add_channel(bridge["id"], [a, b], absorb_dtmf=True, mute=False)
    await ari.channels.play(a, ["sound:one", "sound:two"])
    add = sim.requests_for(nickname="addChannel")[0].query
    assert add == {"channel": f"{a},{b}", "absorbDTMF": "true", "mute": "false"}
    assert sim.requests_for(nickname="play")[0].query["media"] == "sound:one,sound:two"
    assert (await ari.bridges.get(bridge["id"]))["channels"] == [a, b]


async def test_http_errors_map_to_exceptions(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    with pytest.raises(AriNotFound) as gone:
        await ari.channels.answer("no-such-channel")
    assert gone.value.status == 404 and gone.value.message == "Channel not found"
    assert gone.value.operation == "answer"
    ch = sim.inbound_call()
    await ari.channels.continue_in_dialplan(ch)
    with pytest.raises(AriConflict):  # no longer in Stasis
        await ari.channels.answer(ch)
    other = sim.inbound_call()
    with pytest.raises(AriBadRequest):  # Asterisk says 400 for an unknown channel here
        await ari.bridges.add_channel((await ari.bridges.create())["id"], "ghost")
    with pytest.raises(AriBadRequest, match="not one of"):
        await ari.channels.hangup(other, cast(HangupReason, "bored"))
    with pytest.raises(AriUnprocessable):
        await ari.channels.record(other, "msg", "mp9")
    with pytest.raises(AriNotFound):
        await ari.recordings.get_stored("never-recorded")


async def test_wrong_password_is_unauthorized(sim: AriSimulator) -> None:
    url = sim.base_url.replace(sim.password, "wrong")
    async with AriClient(url, sim.app) as client:
        with pytest.raises(AriUnauthorized):
            await client.channels.list()


async def test_unreachable_asterisk_is_a_connection_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with AriClient(f"http://u:p@127.0.0.1:{port}/ari", "huitong") as client:
        with pytest.raises(AriConnectionError):
            await client.channels.list()


async def test_parameters_outside_the_operation_table_are_refused(ari: AriClient) -> None:
    transport: Any = ari.channels._t
    with pytest.raises(ValueError, match="not declared"):
        await transport.call("channels.answer", {"channelId": "x"}, {"force": "yes"})


async def test_url_without_credentials_is_rejected() -> None:
    with pytest.raises(ValueError, match="credentials"):
        AriClient("http://127.0.0.1:8088/ari", "huitong")


async def test_variables_round_trip_and_report_varset(
    sim: AriSimulator, ari: AriClient, log: EventLog
) -> None:
    ch = sim.inbound_call(caller_number="+8613900000000")
    await ari.channels.set_variable(ch, "TENANT", "t-42")
    assert await ari.channels.get_variable(ch, "TENANT") == "t-42"
    assert await ari.channels.get_variable(ch, "CALLERID(num)") == "+8613900000000"
    with pytest.raises(AriNotFound):
        await ari.channels.get_variable(ch, "UNSET")
    varset = await log.wait_type("ChannelVarset", ch)
    assert (varset["variable"], varset["value"]) == ("TENANT", "t-42")


async def test_every_client_operation_round_trips(
    sim: AriSimulator, ari: AriClient, log: EventLog, ari_spec: AriSpec
) -> None:
    """Each method of the client reaches a simulator route with spec-valid parameters."""
    sim.endpoints["PJSIP/bob"] = EndpointBehaviour(outcome="ring")
    sim.media_durations["sound:long"] = 30.0
    ch = sim.inbound_call()
    c = ari.channels
    await c.ring(ch)
    await c.ring_stop(ch)
    await c.answer(ch)
    await c.send_dtmf(ch, "12", duration=100)
    await c.mute(ch, "in")
    await c.unmute(ch, "in")
    await c.hold(ch)
    await c.unhold(ch)
    await c.start_moh(ch, "default")
    await c.stop_moh(ch)
    await c.set_variable(ch, "X", "1")
    await c.get_variable(ch, "X")
    pb = await c.play(ch, "sound:long", lang="en")
    await ari.playbacks.get(pb["id"])
    await ari.playbacks.control(pb["id"], "pause")
    await ari.playbacks.stop(pb["id"])
    await c.record(ch, "rec1", "wav", max_duration_seconds=60, beep=False, if_exists="overwrite")
    live = await ari.recordings.get_live("rec1")
    assert ari_spec.validate_model("LiveRecording", live) == []
    await ari.recordings.stop_live("rec1")
    await c.record(ch, "rec2", "wav", terminate_on="#")
    await ari.recordings.cancel_live("rec2")
    await ari.recordings.list_stored()
    assert ari_spec.validate_model("StoredRecording", await ari.recordings.get_stored("rec1")) == []
    audio = await ari.recordings.get_stored_file("rec1")
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
    await ari.recordings.delete_stored("rec1")
    snoop = await c.snoop(ch, sim.app, spy="in", whisper="none", app_args="supervisor")
    await c.list()
    await c.get(snoop["id"])
    out = await c.create("PJSIP/bob", sim.app, app_args="leg-b", variables={"TENANT": "t"})
    await c.dial(out["id"], caller=ch, ring_timeout=30)
    bridge = await ari.bridges.create("mixing", bridge_id="br-1", name="call")
    await ari.bridges.list()
    await ari.bridges.get(bridge["id"])
    await ari.bridges.add_channel(bridge["id"], ch, role="caller")
    await ari.bridges.start_moh(bridge["id"])
    await ari.bridges.stop_moh(bridge["id"])
    await ari.bridges.play(bridge["id"], "sound:beep", playback_id="bpb")
    await ari.bridges.record(bridge["id"], "conf", "wav", max_duration_seconds=5)
    await ari.bridges.remove_channel(bridge["id"], ch)
    await ari.bridges.destroy(bridge["id"])
    orig = await c.originate("PJSIP/bob", app=sim.app, app_args="x", caller_id='"Hui" <100>')
    await c.hangup(orig["id"], "normal")
    await c.redirect(out["id"], "PJSIP/carol")
    await c.continue_in_dialplan(ch, context="default", extension="s", priority=1)
    await c.hangup(snoop["id"], reason_code="16")

    # Responses carry the models the spec promises (Channel, Bridge, Playback...).
    for model, value in [
        ("Channel", snoop),
        ("Channel", out),
        ("Channel", orig),
        ("Bridge", bridge),
        ("Playback", pb),
    ]:
        assert ari_spec.validate_model(model, value) == []
    assert all(200 <= r.status < 300 for r in sim.requests), [
        (r.nickname, r.status) for r in sim.requests if r.status >= 300
    ]
    sent = {(r.method, r.route) for r in sim.requests}
    expected = {(op.method, op.path) for k, op in CLIENT_OPERATIONS.items() if "websocket" not in k}
    assert expected - sent == set()
    await asyncio.sleep(0)
