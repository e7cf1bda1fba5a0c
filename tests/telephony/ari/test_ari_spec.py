"""The ARI spec loader and validators behave like Asterisk's own checks."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from telephony.ari.spec import SPEC_DIR_ENV, AriSpec, find_spec_dir
from telephony.ari.spec_types import PRIMITIVES


def stasis_start() -> dict[str, Any]:
    """A StasisStart as Asterisk sends it for Stasis(huitong,inbound) on a PJSIP call."""
    return {
        "type": "StasisStart",
        "timestamp": "2026-11-26T10:00:00.123+0000",
        "args": ["inbound"],
        "channel": {
            "id": "1732615200.42",
            "name": "PJSIP/trunk-0000002a",
            "state": "Ring",
            "protocol_id": "a84d2c@10.0.0.2",
            "caller": {"name": "Alice", "number": "+8613800138000"},
            "connected": {"name": "", "number": ""},
            "accountcode": "",
            "dialplan": {
                "context": "from-trunk",
                "exten": "100",
                "priority": 2,
                "app_name": "Stasis",
                "app_data": "huitong,inbound",
            },
            "creationtime": "2026-11-26T10:00:00.100+0000",
            "language": "en",
        },
        "asterisk_id": "02:42:ac:11:00:02",
        "application": "huitong",
    }


def test_loads_every_resource_listed_in_resources_json(ari_spec: AriSpec) -> None:
    assert set(ari_spec.resources) >= {"channels", "bridges", "events", "playbacks", "recordings"}
    play = ari_spec.operation("POST", "/channels/{channelId}/play")
    assert play is not None and play.nickname == "play"
    assert play.params("query")["media"].allow_multiple
    assert play.params("query")["media"].required
    hangup = ari_spec.operation("DELETE", "/channels/{channelId}")
    assert hangup is not None
    reason = hangup.params("query")["reason"].allowable_values
    assert reason is not None and "no_answer" in reason.values
    websocket = ari_spec.operation("GET", "/events")
    assert websocket is not None and websocket.upgrade == "websocket"


def test_every_type_referenced_by_a_model_resolves(ari_spec: AriSpec) -> None:
    # Guards the loader: a missed file or a renamed model would leave dangling types.
    for model in ari_spec.models.values():
        for prop in model.properties.values():
            inner = re.sub(r"^List\[(.*)\]$", r"\1", prop.type)
            assert inner in ari_spec.models or inner in PRIMITIVES, (model.id, prop.name)
        for sub in model.sub_types:
            assert sub in ari_spec.models


def test_events_inherit_message_and_event_properties(ari_spec: AriSpec) -> None:
    assert ari_spec.ancestors("StasisStart") == ["Message", "Event", "StasisStart"]
    props = ari_spec.all_properties("StasisStart")
    assert {"type", "asterisk_id", "application", "timestamp", "args", "channel"} <= set(props)
    assert props["type"].required and not props["asterisk_id"].required
    assert "ChannelDtmfReceived" in ari_spec.event_types()


def test_valid_event_passes(ari_spec: AriSpec) -> None:
    assert ari_spec.validate_event(stasis_start()) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda e: e["channel"]["dialplan"].pop("priority"), "missing required field 'priority'"),
        (lambda e: e["channel"]["dialplan"].update(priority="2"), "not a valid long"),
        (lambda e: e["channel"]["caller"].pop("number"), "caller: missing required field"),
        (lambda e: e.update(timestamp="26/11/2026 10:00"), "not a valid Date"),
        (lambda e: e.update(args="inbound"), "expected list"),
        (lambda e: e.update(args=[1]), "args[0]"),
        (lambda e: e.update(extra=1), "undocumented field 'extra'"),
        (lambda e: e["channel"].update(state="Talking"), "not one of"),
        (lambda e: e.pop("application"), "missing required field 'application'"),
        (lambda e: e.update(type="NoSuchEvent"), "unknown message type"),
    ],
)
def test_invalid_events_are_reported(ari_spec: AriSpec, mutate: Any, expected: str) -> None:
    event = copy.deepcopy(stasis_start())
    mutate(event)
    problems = ari_spec.validate_event(event)
    assert any(expected in p for p in problems), problems


def test_int_and_boolean_types_are_strict(ari_spec: AriSpec) -> None:
    base = {"type": "ChannelDtmfReceived", "application": "a", "digit": "1"}
    base["timestamp"] = "2026-11-26T10:00:00Z"
    base["channel"] = stasis_start()["channel"]
    assert ari_spec.validate_event({**base, "duration_ms": 100}) == []
    assert ari_spec.validate_event({**base, "duration_ms": 2**40})  # beyond Swagger int32
    assert ari_spec.validate_event({**base, "duration_ms": True})  # JSON true is no int
    hangup = {"type": "ChannelHangupRequest", "application": "a", "channel": base["channel"]}
    hangup["timestamp"] = base["timestamp"]
    assert ari_spec.validate_event({**hangup, "soft": True}) == []
    assert ari_spec.validate_event({**hangup, "soft": 1})


def test_check_operation_reports_each_kind_of_mismatch(ari_spec: AriSpec) -> None:
    ok = ari_spec.check_operation("POST", "/channels/{channelId}/answer", nickname="answer")
    assert ok == []
    assert "not in the ARI spec" in ari_spec.check_operation("PUT", "/channels/{channelId}")[0]
    assert "no such path" in ari_spec.check_operation("GET", "/calls")[0]
    unknown = ari_spec.check_operation("POST", "/channels/{channelId}/play", ["media", "volume"])
    assert unknown == ["POST /channels/{channelId}/play: no query parameter 'volume'"]
    missing = ari_spec.check_operation("POST", "/channels/{channelId}/play", ["lang"])
    assert missing == ["POST /channels/{channelId}/play: required query parameter 'media' unused"]
    nick = ari_spec.check_operation("GET", "/channels", nickname="listChannels")
    assert "nickname" in nick[0]


def test_query_values_are_checked_like_asterisk_parses_them(ari_spec: AriSpec) -> None:
    hangup = ari_spec.operation("DELETE", "/channels/{channelId}")
    add = ari_spec.operation("POST", "/bridges/{bridgeId}/addChannel")
    record = ari_spec.operation("POST", "/channels/{channelId}/record")
    assert hangup is not None and add is not None and record is not None
    assert hangup.check_query_values({"reason": "busy"}) == []
    assert "not one of" in hangup.check_query_values({"reason": "bored"})[0]
    assert add.check_query_values({"channel": "a,b", "absorbDTMF": "yes"}) == []
    assert "not a boolean" in add.check_query_values({"channel": "a", "mute": "maybe"})[0]
    assert "missing required" in add.check_query_values({})[0]
    assert "unknown query parameter" in add.check_query_values({"channel": "a", "x": "1"})[0]
    ok = {"name": "n", "format": "wav", "maxDurationSeconds": "10"}
    assert record.check_query_values(ok) == []
    assert "below minimum" in record.check_query_values({**ok, "maxDurationSeconds": "-1"})[0]
    assert "not an integer" in record.check_query_values({**ok, "maxDurationSeconds": "ten"})[0]


def test_spec_dir_comes_from_env_var_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ari_spec: AriSpec
) -> None:
    real = find_spec_dir()
    assert real is not None
    monkeypatch.setenv(SPEC_DIR_ENV, str(tmp_path))
    assert find_spec_dir() is None  # explicit but empty: no silent fallback
    monkeypatch.setenv(SPEC_DIR_ENV, str(real))
    assert find_spec_dir() == real
    assert AriSpec.load(real).models.keys() == ari_spec.models.keys()
