"""Engine-neutral flow interpreter: both the ARI runner and TwiML rendering step through it.

The interpreter decides; engines only perform. Silent nodes (condition, lookup) are evaluated
here until a node needs the caller or the network: that node comes back as a Step.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from comms.queries import UnknownQuery
from telephony.ivr import say
from telephony.ivr.flow import (
    Condition,
    FlowDocument,
    Gather,
    Hangup,
    Lookup,
    Menu,
    Play,
    Route,
    RouteTarget,
    Voicemail,
)
from telephony.vpmn.resolve import to_e164

log = logging.getLogger(__name__)

# (query, variables, timeout) -> value, or raise for the on_error path.
LookupFn = Callable[[str, dict[str, str], float], Awaitable[str]]
SegmentFn = Callable[[str, str], Awaitable[bool]]  # (segment, caller) -> member?
# A named query of the hub's registry (comms/queries.py), asked for the call's tenant.
AskFn = Callable[[str, Mapping[str, str]], Awaitable[Any]]
SEGMENT_QUERY = "crm.in_segment"
MAX_SILENT_STEPS = 100  # validation refuses silent loops; this guards unvalidated documents


class FlowError(RuntimeError):
    """The document cannot be run (it skipped validation)."""


@dataclass
class CallContext:
    caller: str
    local_now: datetime  # the tenant's wall clock
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    kind: Literal["play", "collect", "route", "voicemail", "hangup"]
    node: str
    media: tuple[str, ...] = ()
    max_digits: int = 1
    terminator: str | None = None
    timeout: float = 0.0
    target: RouteTarget | None = None
    mailbox: str | None = None
    next: str | None = None  # play: where to go when the media finished


def query_args(ctx: CallContext) -> dict[str, str]:
    """What an internal query is asked with: the flow's variables, plus `caller` (as
    received) and `phone` (E.164) unless the flow set variables of those names itself."""
    return {"caller": ctx.caller, "phone": to_e164(ctx.caller) or ctx.caller, **ctx.variables}


def answer_value(answer: Any, field: str | None) -> str | None:
    """The text a lookup stores: a scalar answer as text (`True` -> "true"), or with `field`
    that key of a mapping answer; None (the error path) for no answer, a mapping without
    `field` (or lacking it), or anything else (a list)."""
    if field is not None:
        if not isinstance(answer, Mapping):
            log.warning("IVR lookup: field %r asked of a non-mapping answer", field)
            return None
        answer = answer.get(field)
    if answer is None:
        return None
    if isinstance(answer, bool):
        return "true" if answer else "false"
    if isinstance(answer, str | int | float):
        return str(answer)
    log.warning("IVR lookup: a %s answer needs a lookup `field`", type(answer).__name__)
    return None


@dataclass
class Runner:
    flow: FlowDocument
    lookup: LookupFn | None = None
    in_segment: SegmentFn | None = None
    ask: AskFn | None = None

    async def enter(self, node_id: str, ctx: CallContext, *, retry: bool = False) -> Step:
        """Run silent nodes from ``node_id`` on and return the first step needing an engine."""
        for _ in range(MAX_SILENT_STEPS):
            node = self.flow.nodes.get(node_id)
            if node is None:
                raise FlowError(f"unknown node {node_id!r}")
            if isinstance(node, Condition):
                node_id = node.then if await self._holds(node, ctx) else node.otherwise
                continue
            if isinstance(node, Lookup):
                node_id = await self._lookup(node, ctx)
                continue
            return self._step(node_id, node, retry, ctx)
        raise FlowError("too many steps without caller input (a silent loop)")

    def _step(
        self,
        node_id: str,
        node: Play | Menu | Gather | Route | Voicemail | Hangup,
        retry: bool,
        ctx: CallContext,
    ) -> Step:
        if isinstance(node, Play):
            try:
                said = say.fill(node.media, ctx.variables)
            except say.BadTemplate:
                said = None  # an unvalidated document; validation refuses it before publishing
            if said is None:
                log.warning("IVR play %s: a variable of %r is unset or unsafe", node_id, node.media)
                return Step("play", node_id, (), next=node.next)
            return Step("play", node_id, (said,), next=node.next)
        if isinstance(node, Menu):
            media = (
                (node.invalid_prompt, node.prompt)
                if retry and node.invalid_prompt
                else (node.prompt,)
            )
            return Step("collect", node_id, media, 1, None, node.timeout)
        if isinstance(node, Gather):
            return Step(
                "collect", node_id, (node.prompt,), node.digits, node.terminator, node.timeout
            )
        if isinstance(node, Route):
            return Step("route", node_id, target=node.target)
        if isinstance(node, Voicemail):
            prompt: tuple[str, ...] = (node.prompt,) if node.prompt else ()
            return Step("voicemail", node_id, prompt, mailbox=node.mailbox)
        return Step("hangup", node_id)

    async def _holds(self, node: Condition, ctx: CallContext) -> bool:
        if node.check == "caller_in_segment":
            if node.segment is None:
                return False
            try:
                return await self._in_segment(node.segment, ctx.caller)
            except UnknownQuery:
                log.warning("IVR condition: no installed package answers %s", SEGMENT_QUERY)
            except Exception:  # an outside failure takes the else path, never drops the call
                log.warning("IVR condition: %s failed", SEGMENT_QUERY, exc_info=True)
            return False
        now = ctx.local_now
        if now.date() in node.holidays:
            return False
        t = now.time().replace(tzinfo=None)
        return any(now.weekday() in h.weekdays and h.start <= t < h.end for h in node.hours)

    async def _in_segment(self, segment: str, caller: str) -> bool:
        if self.in_segment is not None:
            return await self.in_segment(segment, caller)
        if self.ask is None:
            return False
        phone = to_e164(caller) or caller
        return await self.ask(SEGMENT_QUERY, {"segment": segment, "phone": phone}) is True

    async def _lookup(self, node: Lookup, ctx: CallContext) -> str:
        try:
            if node.source == "internal" and self.ask is not None:
                answer = await asyncio.wait_for(self.ask(node.query, query_args(ctx)), node.timeout)
                value = answer_value(answer, node.field)
                if value is None:
                    return node.on_error  # nothing known (no such order): the error path says so
                ctx.variables[node.variable] = value
                return node.next
            if self.lookup is None:
                return node.on_error
            ctx.variables[node.variable] = await self.lookup(
                node.query, dict(ctx.variables), node.timeout
            )
        except UnknownQuery:
            log.warning("IVR lookup: no installed package answers %r", node.query)
            return node.on_error
        except Exception:  # any failure of an outside system takes the error path
            log.warning("IVR lookup %r failed", node.query, exc_info=True)
            return node.on_error
        return node.next

    def after_input(
        self, node_id: str, digits: str | None, attempt: int, ctx: CallContext
    ) -> tuple[str, bool]:
        """Where a collect step leads: (node, is_retry). ``attempt`` counts from 1."""
        node = self.flow.nodes[node_id]
        if isinstance(node, Gather):
            value = (digits or "").rstrip(node.terminator or "")
            if not value:
                return (
                    (node.on_timeout or node.next, False)
                    if node.on_timeout
                    else (
                        node.next,
                        False,
                    )
                )
            ctx.variables[node.variable] = value
            return node.next, False
        if not isinstance(node, Menu):
            raise FlowError(f"{node_id} does not take input")
        if digits and digits[:1] in node.options:
            return node.options[digits[:1]], False
        if attempt <= node.retries:
            return node_id, bool(digits)  # ask again; a wrong key hears the invalid prompt
        if digits and node.on_invalid:
            return node.on_invalid, False
        if node.on_timeout is None:
            raise FlowError(f"menu {node_id} has no on_timeout path")
        return node.on_timeout, False
