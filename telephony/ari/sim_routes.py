"""The simulator's REST routes: one row per ARI operation it serves, checked against the spec.

Handlers return (status, JSON) the way Asterisk does: 200 with a model, 201 for play/record,
204 with no body for actions, and {"message": ...} bodies for errors; bytes for a recording's
file.
"""

from __future__ import annotations

import io
import math
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from telephony.ari.sim_engine import SimEngine
from telephony.ari.sim_state import HANGUP_REASONS, SimHttpError


@dataclass(frozen=True)
class Call:
    """One request's inputs, already split by parameter kind."""

    path: Mapping[str, str]
    query: Mapping[str, str]
    body: Any

    def int_param(self, name: str, default: int | None = None) -> int | None:
        raw = self.query.get(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise SimHttpError(400, f"{name} must be an integer") from None

    def list_param(self, name: str) -> list[str]:
        # allowMultiple parameters arrive comma-separated.
        return [v for v in self.query.get(name, "").split(",") if v]

    def require(self, name: str) -> str:
        value = self.query.get(name)
        if not value:
            raise SimHttpError(400, f"missing required parameter {name}")
        return value


Result = tuple[int, Any]
Handler = Callable[[SimEngine, Call], Result]


@dataclass(frozen=True)
class SimRoute:
    """An ARI operation the simulator serves (path relative to /ari, as in the spec)."""

    method: str
    path: str
    nickname: str
    handler: Handler


NO_CONTENT: Result = (204, None)
_CH = "/channels/{channelId}"
_BR = "/bridges/{bridgeId}"


def _originate(sim: SimEngine, c: Call) -> Result:
    app = c.query.get("app")
    if not app and not c.query.get("extension"):
        raise SimHttpError(400, "Application or extension must be specified")
    if app and any(k in c.query for k in ("extension", "context", "priority", "label")):
        raise SimHttpError(400, "Application and dialplan options are mutually exclusive")
    ch = sim.new_outbound(
        c.require("endpoint"),
        kind="originated",
        app=app,
        app_args=c.query.get("appArgs"),
        caller_id=c.query.get("callerId"),
        channel_id=c.query.get("channelId"),
    )
    _apply_variables(ch.variables, c.body)
    # Originate's timeout defaults to 30 s (spec defaultValue); -1 means none.
    sim.start_outbound(ch, float(c.int_param("timeout", 30) or 0))
    return 200, ch.snapshot()


def _create(sim: SimEngine, c: Call) -> Result:
    ch = sim.new_outbound(
        c.require("endpoint"),
        kind="created",
        app=c.require("app"),
        app_args=c.query.get("appArgs"),
        caller_id=None,
        channel_id=c.query.get("channelId"),
    )
    _apply_variables(ch.variables, c.body)
    return 200, ch.snapshot()


def _apply_variables(target: dict[str, str], body: Any) -> None:
    if isinstance(body, dict) and isinstance(body.get("variables"), dict):
        for key, value in body["variables"].items():
            # A value may be a plain string or {"value": ..., "report_events": ...}.
            target[str(key)] = str(value.get("value", "") if isinstance(value, dict) else value)


def _hangup(sim: SimEngine, c: Call) -> Result:
    ch = sim.get_channel(c.path["channelId"])
    reason, code = c.query.get("reason"), c.query.get("reason_code")
    if reason and code:
        raise SimHttpError(400, "The reason and reason_code can't both be specified")
    if code:
        cause = c.int_param("reason_code")
    elif reason:
        if reason not in HANGUP_REASONS:
            raise SimHttpError(400, "Invalid reason for hangup reason provided")
        cause = HANGUP_REASONS[reason]
    else:
        cause = 16
    sim.app_hangup(ch, cause or 0)
    return NO_CONTENT


def _dial(sim: SimEngine, c: Call) -> Result:
    ch = sim.get_channel(c.path["channelId"])
    if ch.kind != "created" or not ch.in_stasis:
        raise SimHttpError(409, "Channel cannot be dialed.")
    caller = c.query.get("caller")
    if caller is not None:
        sim.get_channel(caller)
    sim.start_outbound(ch, float(c.int_param("timeout", 0) or 0), caller_id=caller)
    return NO_CONTENT


def _redirect(sim: SimEngine, c: Call) -> Result:
    ch = sim.stasis_channel(c.path["channelId"])
    endpoint = c.require("endpoint")
    if endpoint.split("/", 1)[0] != ch.technology:
        raise SimHttpError(422, "Endpoint technology must match the channel's")
    # The leg is handed to the other endpoint and ends for us; modelled as a normal hangup.
    sim.hangup_leg(ch, 16)
    return NO_CONTENT


def _flag(attribute: str, value: Any) -> Handler:
    def handler(sim: SimEngine, c: Call) -> Result:
        ch = sim.stasis_channel(c.path["channelId"])
        setattr(ch, attribute, value(c) if callable(value) else value)
        return NO_CONTENT

    return handler


def _answer(sim: SimEngine, c: Call) -> Result:
    sim.answer(sim.stasis_channel(c.path["channelId"]))
    return NO_CONTENT


def _send_dtmf(sim: SimEngine, c: Call) -> Result:
    sim.stasis_channel(c.path["channelId"])
    if not c.query.get("dtmf"):
        raise SimHttpError(400, "DTMF is required")
    return NO_CONTENT


def _play_channel(sim: SimEngine, c: Call) -> Result:
    ch = sim.stasis_channel(c.path["channelId"])
    medias = c.list_param("media")
    if not medias:
        raise SimHttpError(400, "missing required parameter media")
    lang = c.query.get("lang") or ch.language
    snapshot = sim.start_playback(
        f"channel:{ch.id}", ch.app, medias, lang, c.query.get("playbackId")
    )
    return 201, snapshot


def _record_channel(sim: SimEngine, c: Call) -> Result:
    ch = sim.stasis_channel(c.path["channelId"])
    if ch.bridge_id:
        raise SimHttpError(409, "Channel is currently bridged with other channels")
    return 201, _start_recording(sim, c, f"channel:{ch.id}", ch.app)


def _start_recording(sim: SimEngine, c: Call, target: str, app: str) -> dict[str, Any]:
    return sim.start_recording(
        target,
        app,
        c.require("name"),
        c.require("format"),
        max_duration=c.int_param("maxDurationSeconds"),
        if_exists=c.query.get("ifExists"),
        terminate_on=c.query.get("terminateOn"),
    )


def _get_var(sim: SimEngine, c: Call) -> Result:
    ch = sim.stasis_channel(c.path["channelId"])
    return 200, {"value": sim.get_variable(ch, c.require("variable"))}


def _set_var(sim: SimEngine, c: Call) -> Result:
    ch = sim.stasis_channel(c.path["channelId"])
    sim.set_variable(ch, c.require("variable"), c.query.get("value"))
    return NO_CONTENT


def _snoop(sim: SimEngine, c: Call) -> Result:
    target = sim.get_channel(c.path["channelId"])
    ch = sim.snoop(target, c.require("app"), c.query.get("appArgs"), c.query.get("snoopId"))
    return 200, ch.snapshot()


def _continue(sim: SimEngine, c: Call) -> Result:
    sim.continue_in_dialplan(sim.stasis_channel(c.path["channelId"]))
    return NO_CONTENT


def _create_bridge(sim: SimEngine, c: Call) -> Result:
    bridge = sim.create_bridge(c.query.get("type"), c.query.get("bridgeId"), c.query.get("name"))
    return 200, bridge.snapshot()


def _add_channel(sim: SimEngine, c: Call) -> Result:
    sim.add_to_bridge(sim.get_bridge(c.path["bridgeId"]), c.list_param("channel"))
    return NO_CONTENT


def _remove_channel(sim: SimEngine, c: Call) -> Result:
    sim.remove_from_bridge(sim.get_bridge(c.path["bridgeId"]), c.list_param("channel"))
    return NO_CONTENT


def _bridge_moh(on: bool) -> Handler:
    def handler(sim: SimEngine, c: Call) -> Result:
        sim.get_bridge(c.path["bridgeId"]).moh_class = (
            (c.query.get("mohClass") or "default") if on else None
        )
        return NO_CONTENT

    return handler


def _play_bridge(sim: SimEngine, c: Call) -> Result:
    bridge = sim.get_bridge(c.path["bridgeId"])
    medias = c.list_param("media")
    if not medias:
        raise SimHttpError(400, "missing required parameter media")
    target = f"bridge:{bridge.id}"
    lang = c.query.get("lang") or "en"
    return 201, sim.start_playback(
        target, bridge.app or sim.app, medias, lang, c.query.get("playbackId")
    )


def _record_bridge(sim: SimEngine, c: Call) -> Result:
    bridge = sim.get_bridge(c.path["bridgeId"])
    return 201, _start_recording(sim, c, f"bridge:{bridge.id}", bridge.app or sim.app)


def _stored(sim: SimEngine, c: Call) -> str:
    name = c.path["recordingName"]
    if name not in sim.stored_recordings:
        raise SimHttpError(404, "Recording not found")
    return name


def _delete_stored(sim: SimEngine, c: Call) -> Result:
    name = _stored(sim, c)
    del sim.stored_recordings[name]
    sim.stored_durations.pop(name, None)
    return NO_CONTENT


def _stored_file(sim: SimEngine, c: Call) -> Result:
    # Asterisk streams the file's bytes; the simulator makes an 8 kHz mono WAV of a 440 Hz
    # tone as long as the recording lasted (at least one second, so players accept it).
    name = _stored(sim, c)
    return 200, wav_tone(max(1, sim.stored_durations.get(name, 1)))


def wav_tone(seconds: int, rate: int = 8000) -> bytes:
    """A small 16-bit mono WAV: what a simulated recording's file holds."""
    frames = bytearray()
    for i in range(seconds * rate):
        sample = int(8000 * math.sin(2 * math.pi * 440 * i / rate))
        frames += sample.to_bytes(2, "little", signed=True)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return out.getvalue()


def _finish_live(state: str) -> Handler:
    def handler(sim: SimEngine, c: Call) -> Result:
        sim.finish_recording(sim.live_recording(c.path["recordingName"]).name, state)
        return NO_CONTENT

    return handler


def _ok(fn: Callable[[SimEngine, Call], Any]) -> Handler:
    return lambda sim, c: (200, fn(sim, c))


def _then_204(fn: Callable[[SimEngine, Call], Any]) -> Handler:
    def handler(sim: SimEngine, c: Call) -> Result:
        fn(sim, c)
        return NO_CONTENT

    return handler


R = SimRoute
SIM_ROUTES: tuple[SimRoute, ...] = (
    # Static paths before templated ones so /channels/create is not read as a channel id.
    R("GET", "/channels", "list", _ok(lambda s, c: [ch.snapshot() for ch in s.channels.values()])),
    R("POST", "/channels", "originate", _originate),
    R("POST", "/channels/create", "create", _create),
    R("GET", _CH, "get", _ok(lambda s, c: s.get_channel(c.path["channelId"]).snapshot())),
    R("DELETE", _CH, "hangup", _hangup),
    R("POST", _CH + "/continue", "continueInDialplan", _continue),
    R("POST", _CH + "/redirect", "redirect", _redirect),
    R("POST", _CH + "/answer", "answer", _answer),
    R("POST", _CH + "/ring", "ring", _flag("ringing", True)),
    R("DELETE", _CH + "/ring", "ringStop", _flag("ringing", False)),
    R("POST", _CH + "/dtmf", "sendDTMF", _send_dtmf),
    R("POST", _CH + "/mute", "mute", _flag("muted", lambda c: c.query.get("direction", "both"))),
    R("DELETE", _CH + "/mute", "unmute", _flag("muted", "")),
    R("POST", _CH + "/hold", "hold", _flag("on_hold", True)),
    R("DELETE", _CH + "/hold", "unhold", _flag("on_hold", False)),
    R(
        "POST",
        _CH + "/moh",
        "startMoh",
        _flag("moh_class", lambda c: c.query.get("mohClass", "default")),
    ),
    R("DELETE", _CH + "/moh", "stopMoh", _flag("moh_class", None)),
    R("POST", _CH + "/play", "play", _play_channel),
    R("POST", _CH + "/record", "record", _record_channel),
    R("GET", _CH + "/variable", "getChannelVar", _get_var),
    R("POST", _CH + "/variable", "setChannelVar", _set_var),
    R("POST", _CH + "/snoop", "snoopChannel", _snoop),
    R("POST", _CH + "/dial", "dial", _dial),
    R("GET", "/bridges", "list", _ok(lambda s, c: [b.snapshot() for b in s.bridges.values()])),
    R("POST", "/bridges", "create", _create_bridge),
    R("GET", _BR, "get", _ok(lambda s, c: s.get_bridge(c.path["bridgeId"]).snapshot())),
    R(
        "DELETE",
        _BR,
        "destroy",
        _then_204(lambda s, c: s.destroy_bridge(s.get_bridge(c.path["bridgeId"]))),
    ),
    R("POST", _BR + "/addChannel", "addChannel", _add_channel),
    R("POST", _BR + "/removeChannel", "removeChannel", _remove_channel),
    R("POST", _BR + "/moh", "startMoh", _bridge_moh(True)),
    R("DELETE", _BR + "/moh", "stopMoh", _bridge_moh(False)),
    R("POST", _BR + "/play", "play", _play_bridge),
    R("POST", _BR + "/record", "record", _record_bridge),
    R(
        "GET",
        "/playbacks/{playbackId}",
        "get",
        _ok(lambda s, c: s.get_playback(c.path["playbackId"]).snapshot()),
    ),
    R(
        "DELETE",
        "/playbacks/{playbackId}",
        "stop",
        _then_204(lambda s, c: s.stop_playback(c.path["playbackId"])),
    ),
    R(
        "POST",
        "/playbacks/{playbackId}/control",
        "control",
        _then_204(lambda s, c: s.control_playback(c.path["playbackId"], c.require("operation"))),
    ),
    R(
        "GET",
        "/recordings/stored",
        "listStored",
        _ok(lambda s, c: [{"name": n, "format": f} for n, f in s.stored_recordings.items()]),
    ),
    R(
        "GET",
        "/recordings/stored/{recordingName}",
        "getStored",
        _ok(lambda s, c: {"name": _stored(s, c), "format": s.stored_recordings[_stored(s, c)]}),
    ),
    R("DELETE", "/recordings/stored/{recordingName}", "deleteStored", _delete_stored),
    R("GET", "/recordings/stored/{recordingName}/file", "getStoredFile", _stored_file),
    R(
        "GET",
        "/recordings/live/{recordingName}",
        "getLive",
        _ok(lambda s, c: s.live_recording(c.path["recordingName"]).snapshot()),
    ),
    R("POST", "/recordings/live/{recordingName}/stop", "stop", _finish_live("done")),
    R("DELETE", "/recordings/live/{recordingName}", "cancel", _finish_live("canceled")),
)
