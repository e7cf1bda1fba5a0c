"""Checks a flow must pass before it is published, each with a message naming the node."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from telephony.ivr import say
from telephony.ivr.flow import INPUT_TYPES, FlowDocument, Gather, Lookup, Menu, Play, Route, edges


@dataclass(frozen=True)
class Problem:
    node: str | None
    code: str
    message: str


@dataclass(frozen=True)
class Targets:
    """What route targets may name; None means "not checked" (e.g. queues not configured)."""

    short_numbers: Collection[str] | None = None
    queues: Collection[str] | None = None
    valid_external: Callable[[str], bool] | None = None


def parse(document: Any) -> tuple[FlowDocument | None, list[Problem]]:
    """The typed document, or the schema problems (unknown node types, missing fields)."""
    try:
        return FlowDocument.model_validate(document), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            node = loc[1] if len(loc) > 1 and loc[0] == "nodes" else None
            code = "unknown_node_type" if err["type"] == "union_tag_invalid" else "schema"
            where = ".".join(loc)
            problems.append(Problem(node, code, f"{where}: {err['msg']}"))
        return None, problems


def check(flow: FlowDocument, targets: Targets | None = None) -> list[Problem]:
    """Graph and target checks on a parsed flow."""
    targets = targets or Targets()
    problems: list[Problem] = []
    nodes = flow.nodes
    known = _variables(flow)
    if flow.start not in nodes:
        problems.append(Problem(None, "unknown_node", f"start names unknown node {flow.start!r}"))
    for node_id, node in nodes.items():
        for label, target in edges(node):
            if target not in nodes:
                problems.append(
                    Problem(
                        node_id, "unknown_node", f"{node_id}.{label} -> unknown node {target!r}"
                    )
                )
        if isinstance(node, Menu) and node.on_timeout is None:
            problems.append(
                Problem(node_id, "menu_without_timeout", f"menu {node_id} has no on_timeout path")
            )
        if isinstance(node, Route):
            problems += _check_route(node_id, node, targets)
        if isinstance(node, Play):
            problems += _check_media(node_id, node, known)
    problems += _unreachable(flow)
    problems += _silent_loops(flow)
    return problems


def _variables(flow: FlowDocument) -> set[str]:
    """Variables some node sets: gathered digits and lookup answers."""
    return {n.variable for n in flow.nodes.values() if isinstance(n, Gather | Lookup)}


def _check_media(node_id: str, node: Play, known: set[str]) -> list[Problem]:
    where = f"nodes.{node_id}.media"
    try:
        used = say.names(node.media)
    except say.BadTemplate as exc:
        return [Problem(node_id, "bad_media", f"{where}: {exc}")]
    return [
        Problem(node_id, "unknown_variable", f"{where}: no node sets variable {name!r}")
        for name in used
        if name not in known
    ]


def _check_route(node_id: str, node: Route, targets: Targets) -> list[Problem]:
    kind, value = node.target.kind, node.target.value
    known: Collection[str] | None = None
    if kind in ("member", "short_number"):
        known = targets.short_numbers
    elif kind == "queue":
        known = targets.queues
    elif targets.valid_external is not None and not targets.valid_external(value):
        return [Problem(node_id, "unknown_target", f"{node_id}: {value!r} is not a phone number")]
    if known is not None and value not in known:
        return [Problem(node_id, "unknown_target", f"{node_id}: no {kind} {value!r}")]
    return []


def _unreachable(flow: FlowDocument) -> list[Problem]:
    seen: set[str] = set()
    todo = [flow.start]
    while todo:
        current = todo.pop()
        if current in seen or current not in flow.nodes:
            continue
        seen.add(current)
        todo.extend(t for _, t in edges(flow.nodes[current]))
    return [
        Problem(n, "unreachable", f"node {n} cannot be reached from {flow.start}")
        for n in flow.nodes
        if n not in seen
    ]


def _silent_loops(flow: FlowDocument) -> list[Problem]:
    """Cycles made only of nodes that never wait for the caller (play, condition, lookup)."""
    silent = {n for n, node in flow.nodes.items() if node.type not in INPUT_TYPES}
    graph = {n: [t for _, t in edges(flow.nodes[n]) if t in silent] for n in silent}
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(silent, white)
    problems: list[Problem] = []
    reported: set[frozenset[str]] = set()

    def visit(n: str, path: list[str]) -> None:
        colour[n] = grey
        path.append(n)
        for t in graph[n]:
            if colour[t] == grey:
                cycle = path[path.index(t) :]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    loop = " -> ".join([*cycle, t])
                    problems.append(
                        Problem(t, "loop_without_input", f"loop with no caller input: {loop}")
                    )
            elif colour[t] == white:
                visit(t, path)
        path.pop()
        colour[n] = black

    for n in sorted(silent):
        if colour[n] == white:
            visit(n, [])
    return problems


def validate(document: Any, targets: Targets | None = None) -> list[Problem]:
    """Every problem with a flow document; empty means it may be published."""
    flow, problems = parse(document)
    if flow is None:
        return problems
    return check(flow, targets)
