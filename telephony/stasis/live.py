"""In-memory view of the calls this process is driving, indexed by call and by channel."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any

from telephony.ari import AriError
from telephony.calls.models import Call, CallLeg, LegRole
from telephony.calls.state import CallState, LegState
from telephony.vpmn.resolve import Target

log = logging.getLogger(__name__)


@dataclass
class LiveCall:
    call_id: uuid.UUID
    tenant_id: uuid.UUID
    caller_channel: str
    state: CallState
    targets: tuple[Target, ...] = ()
    step: int = 0
    # Callee legs still ringing in the current step, and the one that answered.
    ringing: set[str] = field(default_factory=set)
    answered_leg: str | None = None
    bridge_id: str | None = None
    ringback: str | None = None
    playback_id: str | None = None
    announcement_id: str | None = None
    playbacks: int = 0
    last_cause: int | None = None
    # The call's rows as this process last committed them (expire_on_commit is off): the
    # next transaction re-attaches them instead of reading them back. None: read them.
    row: Call | None = None
    leg_rows: dict[str, CallLeg] = field(default_factory=dict)
    # Events of one call arrive on several channel lanes at once (caller, each callee leg):
    # this lock makes the call's handlers take turns.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def next_playback_id(self, kind: str) -> str:
        self.playbacks += 1
        return f"{kind}-{self.call_id}-{self.playbacks}"


class LiveCalls:
    def __init__(self) -> None:
        self.by_id: dict[uuid.UUID, LiveCall] = {}
        self.by_channel: dict[str, LiveCall] = {}

    def add(self, live: LiveCall) -> None:
        self.by_id[live.call_id] = live
        self.by_channel[live.caller_channel] = live

    def bind(self, channel_id: str, live: LiveCall) -> None:
        self.by_channel[channel_id] = live

    def find(self, channel_id: str) -> LiveCall | None:
        return self.by_channel.get(channel_id)

    def drop(self, live: LiveCall) -> None:
        self.by_id.pop(live.call_id, None)
        for channel, other in list(self.by_channel.items()):
            if other is live:
                del self.by_channel[channel]

    def __len__(self) -> int:
        return len(self.by_id)


def rebind_legs(calls: LiveCalls, live: LiveCall, legs: Sequence[CallLeg]) -> LiveCall:
    """Rebuild a persisted call's ringing/answered callee legs into `live` and index it."""
    for leg in legs:
        if leg.role is LegRole.CALLEE and leg.state is LegState.RINGING:
            live.ringing.add(leg.channel_id)
        elif leg.role is LegRole.CALLEE and leg.state is LegState.UP:
            live.answered_leg = leg.channel_id
        calls.bind(leg.channel_id, live)
    calls.add(live)
    return live


async def safely(request: Awaitable[Any]) -> Any:
    """Await an ARI command whose channel may already be gone.

    Either phone can hang up between our decision and our command: a 404/409 then is not an
    error, the ChannelDestroyed that follows settles the call.
    """
    try:
        return await request
    except AriError as exc:
        log.info("ARI request failed (channel likely gone): %s", exc)
        return None
