"""ARI callbacks of a click-to-call: ring the agent, then dial the customer, then bridge.

Telephony facts this follows:
- The agent leg is made with POST /channels (originate) and ``app``: Asterisk subscribes the
  app at once (Dial RINGING/BUSY/NOANSWER and ChannelDestroyed arrive for it), but the leg
  only enters Stasis (StasisStart with our app args) when the agent picks up.
- The agent's phone is answered before the customer's rings, so the agent hears a ringing tone
  we play (``tone:ring``, looped on PlaybackFinished) until the customer answers; the customer
  leg is made with /channels/create + /dial like a member's callee leg.
- Requests are rows (state ``new``) written by the API; this process polls and claims them
  with a conditional UPDATE, so two Stasis apps never ring the same agent twice, and a request
  made while no Stasis app runs is failed after ``CLICK_TO_CALL_TTL`` rather than placed late.
- One back end for `POST /api/v1/calls` and the console's agent dial: ``follow`` (the call
  centre's agent hook) hears "answered" and "ended" in the transaction that records them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.tenancy import scoped_to, unscoped
from telephony.ari import AriClient, AriError
from telephony.calls import service as calls
from telephony.calls.models import Call, CallLeg, LegRole
from telephony.calls.state import CallState
from telephony.stasis.live import LiveCall, LiveCalls, rebind_legs, safely
from telephony.vpmn import service as vpmn
from telephony.vpmn.models import Disposition

log = logging.getLogger(__name__)

CLICK_ARG = "c2c"  # app args of an originated agent leg
LEG_ARG = "leg"  # app args of legs the app creates itself (as in calls/stasis.py)
RING_TONE = "tone:ring"
AGENT_RING_SECONDS = 30
CUSTOMER_RING_SECONDS = 45
BUSY_CAUSES = frozenset({17})
# Q.850: normal clearing / no user responding / no answer / call rejected while it rang.
NO_ANSWER_CAUSES = frozenset({16, 18, 19, 21})


agent_channel_id = calls.click_leg
# Told "answered" / "ended" about every click-to-call, in the session that records it.
FollowFn = Callable[[AsyncSession, Call, str], Awaitable[None]]


async def follow_nothing(session: AsyncSession, call: Call, what: str) -> None:
    return None


def _unanswered(cause: int | None) -> tuple[Disposition, str]:
    if cause in BUSY_CAUSES:
        return Disposition.BUSY, "busy"
    if cause is None or cause in NO_ANSWER_CAUSES:
        return Disposition.NO_ANSWER, "no answer"
    return Disposition.FAILED, "failed"


class ClickToCall:
    """Places requested click-to-calls and drives them to a bridge or a clean end."""

    def __init__(
        self,
        ari: AriClient,
        db: Database,
        *,
        poll_interval: float = 0.5,
        agent_ring: int = AGENT_RING_SECONDS,
        customer_ring: int = CUSTOMER_RING_SECONDS,
        follow: FollowFn = follow_nothing,
    ) -> None:
        self.ari = ari
        self.db = db
        self.live = LiveCalls()
        self.poll_interval = poll_interval
        self.agent_ring = agent_ring
        self.customer_ring = customer_ring
        self.follow = follow
        # Reconciliation and placement take turns: a channel originated while /channels is
        # being listed would otherwise look vanished.
        self.gate = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def session(self, tenant_id: uuid.UUID) -> Any:
        s = self.db.sessionmaker()
        scoped_to(s, tenant_id)
        return s

    # ------------------------------------------------------------------ placing requests

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll(), name="click-to-call")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _poll(self) -> None:
        while True:
            if self.ari.connected:
                try:
                    await self.place_pending()
                except Exception:  # a database hiccup must not stop placing calls for good
                    log.exception("placing click-to-calls failed; retrying")
            await asyncio.sleep(self.poll_interval)

    async def place_pending(self) -> int:
        """Claim and originate every requested call; returns how many were placed."""
        async with self.gate:
            async with self.db.session() as s:
                unscoped(s)
                pending = await calls.pending_click_to_calls(s)
            placed = 0
            for call in pending:
                placed += await self._place(call.tenant_id, call.id)
            return placed

    async def _place(self, tenant_id: uuid.UUID, call_id: uuid.UUID) -> bool:
        channel = agent_channel_id(call_id)
        async with self.session(tenant_id) as s:
            call = await calls.get_call(s, call_id)
            age = (utcnow() - call.started_at).total_seconds()
            if call.state is CallState.NEW and age > calls.CLICK_TO_CALL_TTL:
                await calls.end_call(s, call, Disposition.FAILED, "not placed in time")
                await self.follow(s, call, "ended")
                await s.commit()
                return False
            agent = await calls.claim_click_to_call(s, call)
            if agent is None:
                return False  # another Stasis app took it
            customer = call.callee
            await s.commit()
        live = LiveCall(
            call_id=call_id,
            tenant_id=tenant_id,
            caller_channel=channel,
            state=CallState.CONNECTING,
            ringback=RING_TONE,
        )
        self.live.add(live)
        async with live.lock:
            try:
                await self.ari.channels.originate(
                    agent,
                    app=self.ari.app,
                    app_args=CLICK_ARG,
                    channel_id=channel,
                    # The agent's phone shows whom they are about to be connected to.
                    caller_id=customer,
                    ring_timeout=self.agent_ring,
                )
            except AriError as exc:
                log.warning("click-to-call %s: cannot ring the agent: %s", call_id, exc)
                await self._finish(live, Disposition.FAILED, "agent phone unreachable")
        return True

    # ------------------------------------------------------------------ agent answers

    async def on_stasis_start(self, event: dict[str, Any]) -> None:
        channel_id = event["channel"]["id"]
        live = self.live.find(channel_id)
        if live is None:
            # Not ours any more (ended while the agent picked up): release the phone.
            await self._hangup(channel_id, "normal")
            return
        async with live.lock:
            if live.state is CallState.CONNECTING and channel_id == live.caller_channel:
                await self._dial_customer(live)

    async def _dial_customer(self, live: LiveCall) -> None:
        leg_id = f"{live.call_id}-0-0"
        async with self.session(live.tenant_id) as s:
            call = await calls.get_call(s, live.call_id)
            for leg in await calls.legs_of(s, call.id):
                if leg.channel_id == live.caller_channel:
                    calls.mark_agent_answered(leg)
            resolution = await vpmn.resolve_dial(s, caller=call.caller, dialled=call.callee)
            target = resolution.targets[0] if resolution.targets else None
            if target is not None:
                calls.add_callee_leg(s, call, leg_id, target.endpoint, 0)
                calls.mark_ringing(s, call, RING_TONE)
            await s.commit()
        if target is None:
            # The member called was removed between the click and the agent's answer.
            await self._hangup(live.caller_channel, "normal")
            await self._finish(live, Disposition.FAILED, "customer number no longer reachable")
            return
        live.state = CallState.RINGING
        live.ringing.add(leg_id)
        self.live.bind(leg_id, live)
        await self._ring_agent(live)
        try:
            await self.ari.channels.create(
                target.endpoint, self.ari.app, app_args=LEG_ARG, channel_id=leg_id
            )
            await self.ari.channels.dial(
                leg_id, caller=live.caller_channel, ring_timeout=self.customer_ring
            )
        except AriError as exc:
            log.warning("click-to-call %s: cannot dial %s: %s", live.call_id, target.endpoint, exc)
            live.ringing.discard(leg_id)
            await self._hangup(leg_id, "normal")
            await self._hangup(live.caller_channel, "normal")
            await self._finish(live, Disposition.FAILED, "customer could not be dialled")

    async def _ring_agent(self, live: LiveCall) -> None:
        live.playback_id = live.next_playback_id("c2c-ring")
        await self._safely(
            self.ari.channels.play(live.caller_channel, RING_TONE, playback_id=live.playback_id)
        )

    # ------------------------------------------------------------------ customer answers

    async def on_dial(self, event: dict[str, Any]) -> None:
        if event.get("dialstatus") != "ANSWER":
            return  # failures end in ChannelDestroyed, handled there
        leg_id = event["peer"]["id"]
        live = self.live.find(leg_id)
        if live is None or leg_id == live.caller_channel:
            return  # the agent's own answer arrives as StasisStart
        async with live.lock:
            await self._answered(live, leg_id)

    async def _answered(self, live: LiveCall, leg_id: str) -> None:
        if live.state is not CallState.RINGING or leg_id not in live.ringing:
            return
        live.ringing.discard(leg_id)
        live.answered_leg = leg_id
        live.state = CallState.ANSWERED
        if live.playback_id:
            await self._safely(self.ari.playbacks.stop(live.playback_id))
        bridge_id = f"call-{live.call_id}"
        live.bridge_id = bridge_id
        await self._safely(self.ari.bridges.create("mixing", bridge_id=bridge_id))
        await self._safely(self.ari.bridges.add_channel(bridge_id, [live.caller_channel, leg_id]))
        async with self.session(live.tenant_id) as s:
            call = await calls.get_call(s, live.call_id)
            legs = {leg.channel_id: leg for leg in await calls.legs_of(s, call.id)}
            calls.mark_answered(s, call, legs[leg_id], bridge_id, legs[live.caller_channel])
            await self.follow(s, call, "answered")
            await s.commit()

    async def on_playback_finished(self, event: dict[str, Any]) -> None:
        playback = event["playback"]
        live = self.live.find(str(playback.get("target_uri", "")).removeprefix("channel:"))
        if live is None:
            return
        async with live.lock:
            if playback["id"] == live.playback_id and live.state is CallState.RINGING:
                await self._ring_agent(live)  # short tones loop until the customer answers

    # ------------------------------------------------------------------ hangups

    async def on_channel_destroyed(self, event: dict[str, Any]) -> None:
        channel_id = event["channel"]["id"]
        live = self.live.find(channel_id)
        if live is None:
            return
        async with live.lock:
            await self.channel_gone(live, channel_id, event.get("cause"))

    async def channel_gone(self, live: LiveCall, channel_id: str, cause: int | None) -> None:
        """One of the call's channels is gone (hung up, rejected, timed out, or vanished)."""
        if live.state is CallState.ENDED:
            return
        agent = channel_id == live.caller_channel
        if live.state is CallState.CONNECTING:
            if agent:
                disposition, why = _unanswered(cause)
                await self._finish(live, disposition, f"agent {why}")
            return
        if live.state is CallState.ANSWERED:
            other = live.answered_leg if agent else live.caller_channel
            if other:
                await self._hangup(other, "normal")
            who = "agent" if agent else "customer"
            await self._finish(live, Disposition.ANSWERED, f"{who} hung up")
            return
        # Ringing: the customer has not answered yet.
        if agent:
            for leg in list(live.ringing):
                await self._hangup(leg, "normal")
            await self._finish(live, Disposition.CANCELLED, "agent hung up while ringing")
        elif channel_id in live.ringing:
            live.ringing.discard(channel_id)
            disposition, why = _unanswered(cause)
            await self._hangup(live.caller_channel, "normal")
            await self._finish(live, disposition, f"customer {why}", gone=(channel_id, cause))

    async def _finish(
        self,
        live: LiveCall,
        disposition: Disposition,
        reason: str,
        gone: tuple[str, int | None] | None = None,
    ) -> None:
        live.state = CallState.ENDED
        if live.bridge_id:
            await self._safely(self.ari.bridges.destroy(live.bridge_id))
        async with self.session(live.tenant_id) as s:
            call = await calls.get_call(s, live.call_id)
            if gone is not None:
                for leg in await calls.legs_of(s, call.id):
                    if leg.channel_id == gone[0]:
                        calls.mark_leg_gone(leg, gone[1])
            await calls.end_call(s, call, disposition, reason)
            await self.follow(s, call, "ended")
            await s.commit()
        self.live.drop(live)

    # ------------------------------------------------------------------ reconcile

    def adopt(self, call: Call, legs: list[CallLeg]) -> LiveCall:
        """Rebuild a click-to-call this process did not know (it restarted) from its rows."""
        live = self.live.by_id.get(call.id)
        if live is not None:
            return live
        agent = next(leg for leg in legs if leg.role is LegRole.CALLER)
        live = LiveCall(
            call_id=call.id,
            tenant_id=call.tenant_id,
            caller_channel=agent.channel_id,
            state=call.state,
            bridge_id=call.bridge_id,
            ringback=RING_TONE,
        )
        return rebind_legs(self.live, live, legs)

    async def catch_up(self, live: LiveCall) -> None:
        """After a reconnect, with every leg alive: an answer missed during the gap (the
        agent's or the customer's phone is up) moves the call on as the event would have."""
        if live.state is CallState.CONNECTING:
            if await self._channel_state(live.caller_channel) == "Up":
                await self._dial_customer(live)
        elif live.state is CallState.RINGING:
            for leg in list(live.ringing):
                if await self._channel_state(leg) == "Up":
                    await self._answered(live, leg)

    async def _channel_state(self, channel_id: str) -> str | None:
        found = await self._safely(self.ari.channels.get(channel_id))
        return str(found["state"]) if found else None

    # ------------------------------------------------------------------ helpers

    async def _hangup(self, channel_id: str, reason: Any) -> None:
        await self._safely(self.ari.channels.hangup(channel_id, reason))

    async def _safely(self, request: Awaitable[Any]) -> Any:
        return await safely(request)
