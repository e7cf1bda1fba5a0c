"""Flow validation: clear errors for unknown nodes and targets, dead nodes, silent loops."""

from __future__ import annotations

import copy
from typing import Any

from ivr_samples import GOOD

from telephony.ivr.validate import Targets, validate
from telephony.vpmn.resolve import to_e164

TARGETS = Targets(
    short_numbers={"6001"}, queues={"sales"}, valid_external=lambda v: bool(to_e164(v))
)


def problems(doc: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(p.node, p.code) for p in validate(doc, TARGETS)]


def edited(**nodes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(GOOD)
    for name, node in nodes.items():
        if node is None:
            del doc["nodes"][name]
        else:
            doc["nodes"][name] = node
    return doc


def test_good_flow_has_no_problems() -> None:
    assert problems(GOOD) == []


def test_unknown_node_type_is_named() -> None:
    [problem] = validate(edited(bye={"type": "teleport"}), TARGETS)
    assert (problem.node, problem.code) == ("bye", "unknown_node_type")
    assert "teleport" in problem.message


def test_edge_to_a_missing_node_is_reported_with_its_label() -> None:
    doc = edited(closed={"type": "play", "media": "sound:closed", "next": "nowhere"})
    found = validate(doc, TARGETS)
    assert ("closed", "unknown_node") in [(p.node, p.code) for p in found]
    assert any("closed.next -> unknown node 'nowhere'" in p.message for p in found)


def test_unknown_route_targets_are_reported() -> None:
    doc = edited(
        sales={"type": "route", "target": {"kind": "queue", "value": "nope"}},
        operator={
            "type": "route",
            "target": {"kind": "member", "value": "6999"},
            "on_failure": "vm",
        },
    )
    assert sorted(problems(doc)) == [("operator", "unknown_target"), ("sales", "unknown_target")]


def test_external_target_must_be_a_phone_number() -> None:
    doc = edited(sales={"type": "route", "target": {"kind": "external", "value": "abc"}})
    assert problems(doc) == [("sales", "unknown_target")]


def test_unreachable_nodes_are_reported() -> None:
    doc = edited(orphan={"type": "hangup"})
    assert problems(doc) == [("orphan", "unreachable")]


def test_loop_with_no_input_is_refused() -> None:
    doc = edited(
        closed={"type": "play", "media": "sound:closed", "next": "again"},
        again={"type": "play", "media": "sound:again", "next": "closed"},
    )
    codes = problems(doc)
    assert ("bye", "unreachable") in codes
    [loop] = [p for p in validate(doc, TARGETS) if p.code == "loop_without_input"]
    assert loop.node in {"closed", "again"} and "closed" in loop.message


def test_loop_through_a_menu_is_fine() -> None:
    doc = edited(vm={"type": "play", "media": "sound:sorry", "next": "menu"})
    assert problems(doc) == []


def test_menu_without_timeout_path_is_refused() -> None:
    menu = copy.deepcopy(GOOD["nodes"]["menu"])
    del menu["on_timeout"]
    assert problems(edited(menu=menu)) == [("menu", "menu_without_timeout")]


def test_unknown_start_is_reported() -> None:
    doc = copy.deepcopy(GOOD)
    doc["start"] = "missing"
    assert (None, "unknown_node") in problems(doc)


def test_schema_errors_name_the_field() -> None:
    doc = edited(order={"type": "gather", "prompt": "p", "variable": "x", "next": "find"})
    [problem] = validate(doc, TARGETS)
    assert (
        problem.code == "schema"
        and "nodes.order" in problem.message
        and "digits" in problem.message
    )


def test_play_media_may_name_a_variable_some_node_sets() -> None:
    doc = edited(
        closed={"type": "play", "media": "sound:x-{order_no},digits:{order}", "next": "bye"}
    )
    assert problems(doc) == []


def test_play_media_naming_an_unknown_variable_or_a_bad_brace_is_reported() -> None:
    doc = edited(closed={"type": "play", "media": "sound:order-{status}", "next": "bye"})
    [problem] = validate(doc, TARGETS)
    assert (problem.node, problem.code) == ("closed", "unknown_variable")
    assert problem.message == "nodes.closed.media: no node sets variable 'status'"
    for media in ("sound:order-{", "sound:{a.b}", "sound:{}", "digits:{order_no!r}"):
        doc = edited(closed={"type": "play", "media": media, "next": "bye"})
        assert problems(doc) == [("closed", "bad_media")], media
