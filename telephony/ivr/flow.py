"""The flow document: typed nodes, so a typo in a node type or field fails at the door."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

NodeId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Digit = Annotated[str, Field(pattern=r"^[0-9*#]$")]


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Play(_Node):
    """`media` may name flow variables, `sound:order-{status}` or `digits:{number}`: the
    variable's value is put in at play time (see `telephony.ivr.say`)."""

    type: Literal["play"]
    media: str = Field(min_length=1)
    next: NodeId


class Menu(_Node):
    type: Literal["menu"]
    prompt: str = Field(min_length=1)
    options: dict[Digit, NodeId] = Field(min_length=1)
    timeout: float = Field(5.0, gt=0, le=60)
    retries: int = Field(2, ge=0, le=10)
    invalid_prompt: str | None = None
    # Where the caller goes after the last retry with no key pressed.
    on_timeout: NodeId | None = None
    # Where the caller goes after the last retry with only wrong keys (default: on_timeout).
    on_invalid: NodeId | None = None


class Gather(_Node):
    type: Literal["gather"]
    prompt: str = Field(min_length=1)
    digits: int = Field(ge=1, le=32)
    terminator: Digit | None = "#"
    timeout: float = Field(5.0, gt=0, le=60)
    variable: str = Field(min_length=1, max_length=64)
    next: NodeId
    on_timeout: NodeId | None = None


class WeeklyHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekdays: list[int] = Field(min_length=1)  # Monday = 0
    start: time
    end: time


class Condition(_Node):
    type: Literal["condition"]
    check: Literal["business_hours", "caller_in_segment"]
    hours: list[WeeklyHours] = Field(default_factory=list)
    holidays: list[date] = Field(default_factory=list)
    segment: str | None = None
    then: NodeId
    otherwise: NodeId = Field(alias="else")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Lookup(_Node):
    type: Literal["lookup"]
    source: Literal["internal", "http"]
    query: str = Field(min_length=1, description="internal query name or URL (http)")
    timeout: float = Field(2.0, gt=0, le=10)
    variable: str = Field(min_length=1, max_length=64)
    # An internal query answering a mapping (e.g. `crm.contact_by_phone`): the key to keep.
    field: str | None = Field(None, min_length=1, max_length=64)
    next: NodeId
    on_error: NodeId


class RouteTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["queue", "member", "short_number", "external"]
    value: str = Field(min_length=1, max_length=100)


class Route(_Node):
    type: Literal["route"]
    target: RouteTarget
    # Where to go when the target does not answer (e.g. voicemail); None hangs up.
    on_failure: NodeId | None = None


class Voicemail(_Node):
    type: Literal["voicemail"]
    mailbox: str = Field(min_length=1, max_length=100)
    prompt: str | None = None


class Hangup(_Node):
    type: Literal["hangup"]


Node = Annotated[
    Play | Menu | Gather | Condition | Lookup | Route | Voicemail | Hangup,
    Field(discriminator="type"),
]
# Nodes that wait for the caller: a cycle must pass through one, or it spins forever.
INPUT_TYPES = frozenset({"menu", "gather"})


class FlowDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: NodeId
    nodes: dict[NodeId, Node] = Field(min_length=1)
    # BCP 47 language of `text:` prompts (spoken by Twilio's <Say>).
    language: str = Field(
        "zh-CN", min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
    )


AnyNode = Play | Menu | Gather | Condition | Lookup | Route | Voicemail | Hangup


def edges(node: AnyNode) -> list[tuple[str, str]]:
    """(label, target) for every way out of a node."""
    out: list[tuple[str, str | None]] = []
    if isinstance(node, Play):
        out = [("next", node.next)]
    elif isinstance(node, Gather):
        out = [("next", node.next), ("on_timeout", node.on_timeout)]
    elif isinstance(node, Lookup):
        out = [("next", node.next), ("on_error", node.on_error)]
    elif isinstance(node, Menu):
        out = [(f"option {d}", t) for d, t in node.options.items()]
        out += [("on_timeout", node.on_timeout), ("on_invalid", node.on_invalid)]
    elif isinstance(node, Condition):
        out = [("then", node.then), ("else", node.otherwise)]
    elif isinstance(node, Route):
        out = [("on_failure", node.on_failure)]
    return [(label, target) for label, target in out if target is not None]
