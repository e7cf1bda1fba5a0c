"""Every ARI operation the client uses, in one table a contract test checks against the spec."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClientOperation:
    """One (method, path template, params) the client may send, named by the spec nickname."""

    nickname: str
    method: str
    path: str
    query: frozenset[str] = frozenset()
    body: frozenset[str] = frozenset()


def _op(
    nickname: str, method: str, path: str, *query: str, body: tuple[str, ...] = ()
) -> ClientOperation:
    return ClientOperation(nickname, method, path, frozenset(query), frozenset(body))


_CH = "/channels/{channelId}"
_BR = "/bridges/{bridgeId}"
_REC_PARAMS = ("name", "format", "maxDurationSeconds", "maxSilenceSeconds", "ifExists", "beep")

CLIENT_OPERATIONS: dict[str, ClientOperation] = {
    # channels
    "channels.list": _op("list", "GET", "/channels"),
    "channels.originate": _op(
        "originate",
        "POST",
        "/channels",
        "endpoint",
        "extension",
        "context",
        "priority",
        "label",
        "app",
        "appArgs",
        "callerId",
        "timeout",
        "channelId",
        "otherChannelId",
        "originator",
        "formats",
        body=("variables",),
    ),
    "channels.create": _op(
        "create",
        "POST",
        "/channels/create",
        "endpoint",
        "app",
        "appArgs",
        "channelId",
        "otherChannelId",
        "originator",
        "formats",
        body=("variables",),
    ),
    "channels.get": _op("get", "GET", _CH),
    "channels.hangup": _op("hangup", "DELETE", _CH, "reason", "reason_code"),
    "channels.continue_in_dialplan": _op(
        "continueInDialplan", "POST", _CH + "/continue", "context", "extension", "priority", "label"
    ),
    "channels.redirect": _op("redirect", "POST", _CH + "/redirect", "endpoint"),
    "channels.answer": _op("answer", "POST", _CH + "/answer"),
    "channels.ring": _op("ring", "POST", _CH + "/ring"),
    "channels.ring_stop": _op("ringStop", "DELETE", _CH + "/ring"),
    "channels.send_dtmf": _op(
        "sendDTMF", "POST", _CH + "/dtmf", "dtmf", "before", "between", "duration", "after"
    ),
    "channels.mute": _op("mute", "POST", _CH + "/mute", "direction"),
    "channels.unmute": _op("unmute", "DELETE", _CH + "/mute", "direction"),
    "channels.hold": _op("hold", "POST", _CH + "/hold"),
    "channels.unhold": _op("unhold", "DELETE", _CH + "/hold"),
    "channels.start_moh": _op("startMoh", "POST", _CH + "/moh", "mohClass"),
    "channels.stop_moh": _op("stopMoh", "DELETE", _CH + "/moh"),
    "channels.play": _op(
        "play", "POST", _CH + "/play", "media", "lang", "offsetms", "skipms", "playbackId"
    ),
    "channels.record": _op("record", "POST", _CH + "/record", *_REC_PARAMS, "terminateOn"),
    "channels.get_variable": _op("getChannelVar", "GET", _CH + "/variable", "variable"),
    "channels.set_variable": _op("setChannelVar", "POST", _CH + "/variable", "variable", "value"),
    "channels.snoop": _op(
        "snoopChannel", "POST", _CH + "/snoop", "spy", "whisper", "app", "appArgs", "snoopId"
    ),
    "channels.dial": _op("dial", "POST", _CH + "/dial", "caller", "timeout"),
    # bridges
    "bridges.list": _op("list", "GET", "/bridges"),
    "bridges.create": _op("create", "POST", "/bridges", "type", "bridgeId", "name"),
    "bridges.get": _op("get", "GET", _BR),
    "bridges.destroy": _op("destroy", "DELETE", _BR),
    "bridges.add_channel": _op(
        "addChannel",
        "POST",
        _BR + "/addChannel",
        "channel",
        "role",
        "absorbDTMF",
        "mute",
        "inhibitConnectedLineUpdates",
    ),
    "bridges.remove_channel": _op("removeChannel", "POST", _BR + "/removeChannel", "channel"),
    "bridges.start_moh": _op("startMoh", "POST", _BR + "/moh", "mohClass"),
    "bridges.stop_moh": _op("stopMoh", "DELETE", _BR + "/moh"),
    "bridges.play": _op(
        "play", "POST", _BR + "/play", "media", "lang", "offsetms", "skipms", "playbackId"
    ),
    "bridges.record": _op("record", "POST", _BR + "/record", *_REC_PARAMS, "terminateOn"),
    # playbacks
    "playbacks.get": _op("get", "GET", "/playbacks/{playbackId}"),
    "playbacks.stop": _op("stop", "DELETE", "/playbacks/{playbackId}"),
    "playbacks.control": _op("control", "POST", "/playbacks/{playbackId}/control", "operation"),
    # recordings
    "recordings.list_stored": _op("listStored", "GET", "/recordings/stored"),
    "recordings.get_stored": _op("getStored", "GET", "/recordings/stored/{recordingName}"),
    "recordings.get_stored_file": _op(
        "getStoredFile", "GET", "/recordings/stored/{recordingName}/file"
    ),
    "recordings.delete_stored": _op("deleteStored", "DELETE", "/recordings/stored/{recordingName}"),
    "recordings.get_live": _op("getLive", "GET", "/recordings/live/{recordingName}"),
    "recordings.stop_live": _op("stop", "POST", "/recordings/live/{recordingName}/stop"),
    "recordings.cancel_live": _op("cancel", "DELETE", "/recordings/live/{recordingName}"),
    # events: the WebSocket. api_key (user:password) is ARI's generic auth parameter, accepted
    # on every URL but not part of any operation in the Swagger files, so it is not listed.
    "events.websocket": _op("eventWebsocket", "GET", "/events", "app", "subscribeAll"),
}
