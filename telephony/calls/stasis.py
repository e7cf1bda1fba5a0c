"""ARI callbacks of a call to a VPMN member: route, ring with group ringback, bridge, hang up.

Telephony facts this follows:
- The caller's channel stays unanswered while the callee rings, so the ringback tone goes out
  as early media (Asterisk sends 183 Session Progress with the first audio on an unanswered
  PJSIP channel) and the caller is not charged for the ringing time.
- On answer: stop the tone, answer the caller, then bridge, in that order, so the caller never
  hears the tone over the callee's "hello".
- Legs made with /channels/create are in Stasis from the start; the far end's answer arrives
  as Dial ANSWER on the leg (the peer), which the client dispatches on that leg's lane.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.tenancy import scoped_to
from telephony.ari import AriClient, AriError
from telephony.calls import service as calls
from telephony.calls.directory import DirectoryCache
from telephony.calls.models import Call, CallLeg, LegRole
from telephony.calls.state import CallState
from telephony.stasis.live import LiveCall, LiveCalls, rebind_legs, safely
from telephony.vpmn.models import Disposition
from telephony.vpmn.resolve import Action, MemberView, PlanView, Resolution, resolve

log = logging.getLogger(__name__)

# Which tone a caller hears for this resolution at this moment (None: plain ringing).
RingbackLookup = Callable[[AsyncSession, Resolution, datetime], Awaitable[str | None]]
# Offered a call nobody answered (tenant, call, caller channel, ringback playback id); True
# when it took the caller over (voicemail), so the caller is not hung up.
UnansweredHook = Callable[[uuid.UUID, uuid.UUID, str, str | None], Awaitable[bool]]
LEG_ARG = "leg"
BUSY_CAUSES = frozenset({17})


async def no_ringback(session: AsyncSession, resolution: Resolution, at: datetime) -> None:
    return None


def tenant_from_args(args: list[str]) -> uuid.UUID | None:
    """The dialplan names the tenant: Stasis(huitong,tenant=<uuid>)."""
    for arg in args:
        key, _, value = arg.partition("=")
        if key == "tenant":
            try:
                return uuid.UUID(value)
            except ValueError:
                return None
    return None


class CallFlows:
    """Drives calls into the VPMN; every decision is persisted before the next ARI command."""

    def __init__(
        self,
        ari: AriClient,
        db: Database,
        live: LiveCalls,
        *,
        ringback: RingbackLookup = no_ringback,
        directory_seconds: float = 5.0,
        unanswered: UnansweredHook | None = None,
    ) -> None:
        self.ari = ari
        self.db = db
        self.live = live
        self.ringback = ringback
        # A member added or changed reaches new calls within this many seconds.
        self.directories = DirectoryCache(directory_seconds)
        self.unanswered = unanswered

    def session(self, tenant_id: uuid.UUID) -> Any:
        s = self.db.sessionmaker()
        scoped_to(s, tenant_id)
        return s

    # ------------------------------------------------------------------ call arrives

    async def on_stasis_start(self, event: dict[str, Any]) -> None:
        channel = event["channel"]
        args = [str(a) for a in event.get("args", [])]
        if args[:1] == [LEG_ARG] or self.live.find(channel["id"]) is not None:
            return  # a leg we created ourselves
        tenant_id = tenant_from_args(args)
        if tenant_id is None:
            log.warning("StasisStart without tenant=<uuid> in args %r: rejecting", args)
            await self._hangup(channel["id"], "unallocated")
            return
        await self.start_inbound(
            tenant_id,
            channel_id=channel["id"],
            caller=channel["caller"]["number"],
            dialled=channel["dialplan"]["exten"],
            endpoint=channel["name"],
        )

    async def start_inbound(
        self, tenant_id: uuid.UUID, *, channel_id: str, caller: str, dialled: str, endpoint: str
    ) -> LiveCall:
        # One transaction opens the call and plans its first ringing step: each commit costs
        # more than every ARI command of the set-up together (bench/RESULTS.md).
        async with self.session(tenant_id) as s:
            plan, members = await self._directory(s, tenant_id)
            resolution = resolve(plan, members, caller=caller, dialled=dialled)
            call, caller_leg = await calls.open_inbound(
                s,
                tenant_id,
                caller=caller,
                callee=dialled,
                channel_id=channel_id,
                endpoint=endpoint,
                in_network=resolution.in_network,
                member_id=resolution.member.id if resolution.member else None,
                # One flush at commit: the call is inserted already ringing, legs together.
                flush=False,
            )
            tone = None
            legs: list[tuple[str, str, int]] = []
            live = LiveCall(
                call_id=call.id,
                tenant_id=tenant_id,
                caller_channel=channel_id,
                state=call.state,
                targets=resolution.targets,
            )
            if resolution.action is Action.ANNOUNCE:
                calls.transition(s, call, CallState.ANNOUNCING, "unknown number")
            else:
                tone = live.ringback = await self.ringback(s, resolution, utcnow())
                legs = self._plan_step(s, call, live)
            live.state = call.state
            await s.commit()
            live.row, live.leg_rows[channel_id] = call, caller_leg
        self.live.add(live)
        async with live.lock:
            if resolution.action is Action.ANNOUNCE:
                # Unknown numbers hear why, as early media, never silence; hangup follows
                # PlaybackFinished.
                live.announcement_id = live.next_playback_id("announce")
                await self._safely(
                    self.ari.channels.play(
                        channel_id,
                        resolution.announcement or "sound:ss-noservice",
                        playback_id=live.announcement_id,
                    )
                )
            else:
                assert tone == live.ringback
                await self._start_ringback(live)
                await self._ring_step(live, legs)
        return live

    async def _directory(
        self, s: AsyncSession, tenant_id: uuid.UUID
    ) -> tuple[PlanView, tuple[MemberView, ...]]:
        return await self.directories.get(s, tenant_id)

    async def _start_ringback(self, live: LiveCall) -> None:
        if live.ringback:
            live.playback_id = live.next_playback_id("ringback")
            await self._safely(
                self.ari.channels.play(
                    live.caller_channel, live.ringback, playback_id=live.playback_id
                )
            )
        else:
            await self._safely(self.ari.channels.ring(live.caller_channel))

    async def _dial_step(self, live: LiveCall) -> None:
        """Dial every target of the current step (one for sequential, all for simultaneous)."""
        async with self._rows(live) as (s, call, _):
            legs = self._plan_step(s, call, live)
        await self._ring_step(live, legs)

    def _plan_step(self, s: AsyncSession, call: Call, live: LiveCall) -> list[tuple[str, str, int]]:
        """Persist the current step's callee legs (the caller's session commits them)."""
        legs: list[tuple[str, str, int]] = []
        for i, target in enumerate(t for t in live.targets if t.step == live.step):
            leg_id = f"{live.call_id}-{live.step}-{i}"
            live.leg_rows[leg_id] = calls.add_callee_leg(
                s, call, leg_id, target.endpoint, live.step
            )
            legs.append((leg_id, target.endpoint, target.timeout))
        calls.mark_ringing(s, call, live.ringback)
        return legs

    async def _ring_step(self, live: LiveCall, legs: list[tuple[str, str, int]]) -> None:
        live.state = CallState.RINGING
        for leg_id, _, _ in legs:
            live.ringing.add(leg_id)
            self.live.bind(leg_id, live)
        for leg_id, endpoint, timeout in legs:
            try:
                await self.ari.channels.create(
                    endpoint, self.ari.app, app_args=LEG_ARG, channel_id=leg_id
                )
                await self.ari.channels.dial(
                    leg_id, caller=live.caller_channel, ring_timeout=timeout
                )
            except AriError as exc:
                log.warning("call %s: cannot dial %s: %s", live.call_id, endpoint, exc)
                await self._leg_gone(live, leg_id, cause=None)
                if live.state is CallState.ENDED:
                    return

    # ------------------------------------------------------------------ answer

    async def on_dial(self, event: dict[str, Any]) -> None:
        if event.get("dialstatus") != "ANSWER":
            return  # failures end in ChannelDestroyed, handled there
        leg_id = event["peer"]["id"]
        live = self.live.find(leg_id)
        if live is None:
            return
        async with live.lock:
            if live.state is not CallState.RINGING or leg_id not in live.ringing:
                # Simultaneous ringing: a second phone answered a moment too late.
                await self._hangup(leg_id, "answered_elsewhere")
                return
            await self._answer(live, leg_id)

    async def _answer(self, live: LiveCall, leg_id: str) -> None:
        live.ringing.discard(leg_id)
        live.answered_leg = leg_id
        live.state = CallState.ANSWERED
        if live.playback_id:
            await self._safely(self.ari.playbacks.stop(live.playback_id))
        else:
            await self._safely(self.ari.channels.ring_stop(live.caller_channel))
        for other in list(live.ringing):
            await self._hangup(other, "answered_elsewhere")
        bridge_id = f"call-{live.call_id}"
        live.bridge_id = bridge_id
        await self._safely(self.ari.channels.answer(live.caller_channel))
        await self._safely(self.ari.bridges.create("mixing", bridge_id=bridge_id))
        await self._safely(self.ari.bridges.add_channel(bridge_id, [live.caller_channel, leg_id]))
        async with self._rows(live) as (s, call, legs):
            calls.mark_answered(s, call, legs[leg_id], bridge_id, legs[live.caller_channel])

    # ------------------------------------------------------------------ media

    async def on_playback_finished(self, event: dict[str, Any]) -> None:
        playback = event["playback"]
        target = str(playback.get("target_uri", ""))
        live = self.live.find(target.removeprefix("channel:"))
        if live is None:
            return
        async with live.lock:
            if playback["id"] == live.announcement_id:
                await self._hangup(live.caller_channel, "unallocated")
            elif playback["id"] == live.playback_id and live.state is CallState.RINGING:
                # Tones are short recordings: loop them until the callee answers.
                await self._start_ringback(live)

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
        if channel_id == live.caller_channel:
            await self._caller_gone(live, cause)
        elif channel_id == live.answered_leg:
            await self._hangup(live.caller_channel, "normal")
            await self._finish(live, Disposition.ANSWERED, "callee hung up")
        else:
            await self._leg_gone(live, channel_id, cause)

    async def _caller_gone(self, live: LiveCall, cause: int | None) -> None:
        if live.state is CallState.ANSWERED:
            if live.answered_leg:
                await self._hangup(live.answered_leg, "normal")
            await self._finish(live, Disposition.ANSWERED, "caller hung up")
            return
        for leg in list(live.ringing):
            await self._hangup(leg, "normal")
        if live.state is CallState.ANNOUNCING:
            await self._finish(live, Disposition.FAILED, "unknown number")
        else:
            await self._finish(live, Disposition.CANCELLED, "caller hung up while ringing")

    async def _leg_gone(self, live: LiveCall, leg_id: str, cause: int | None) -> None:
        if leg_id not in live.ringing:
            return  # a leg we hung up ourselves (answered elsewhere) finishing off
        live.ringing.discard(leg_id)
        live.last_cause = cause
        async with self._rows(live) as (_, _, legs):
            if leg_id in legs:
                calls.mark_leg_gone(legs[leg_id], cause)
        if live.ringing or live.state is not CallState.RINGING:
            return  # another phone of this step still rings
        if any(t.step > live.step for t in live.targets):
            live.step += 1  # sequential: desk did not answer, try the mobile
            await self._dial_step(live)
            return
        busy = cause in BUSY_CAUSES
        taken = self.unanswered is not None and await self.unanswered(
            live.tenant_id, live.call_id, live.caller_channel, live.playback_id
        )
        if not taken:
            await self._hangup(live.caller_channel, "busy" if busy else "no_answer")
        await self._finish(
            live,
            Disposition.BUSY if busy else Disposition.NO_ANSWER,
            "busy" if busy else "no answer",
        )

    async def _finish(self, live: LiveCall, disposition: Disposition, reason: str) -> None:
        live.state = CallState.ENDED
        if live.bridge_id:
            await self._safely(self.ari.bridges.destroy(live.bridge_id))
        async with self._rows(live) as (s, call, legs):
            directory = await self._directory(s, live.tenant_id)
            await calls.end_call(
                s, call, disposition, reason, legs=list(legs.values()), directory=directory
            )
        self.live.drop(live)

    # ------------------------------------------------------------------ reconcile

    def adopt(self, call: Call, legs: list[CallLeg]) -> LiveCall:
        """Rebuild a call this process did not know (it restarted) from its persisted rows."""
        live = self.live.by_id.get(call.id)
        if live is not None:
            return live
        caller = next(leg for leg in legs if leg.role is LegRole.CALLER)
        live = LiveCall(
            call_id=call.id,
            tenant_id=call.tenant_id,
            caller_channel=caller.channel_id,
            state=call.state,
            bridge_id=call.bridge_id,
            ringback=call.ringback_media,
            row=call,
            leg_rows={leg.channel_id: leg for leg in legs},
        )
        return rebind_legs(self.live, live, legs)

    # ------------------------------------------------------------------ helpers

    @asynccontextmanager
    async def _rows(
        self, live: LiveCall
    ) -> AsyncIterator[tuple[AsyncSession, Call, dict[str, CallLeg]]]:
        """One transaction on the call's rows, committed on exit.

        The rows this process committed last are re-attached rather than read back (two
        SELECTs per step otherwise); after a failed transaction they are read afresh.
        """
        async with self.session(live.tenant_id) as s:
            try:
                if live.row is None:
                    live.row = await calls.get_call(s, live.call_id)
                    live.leg_rows = {
                        leg.channel_id: leg for leg in await calls.legs_of(s, live.call_id)
                    }
                else:
                    s.add(live.row)
                    s.add_all(live.leg_rows.values())
                yield s, live.row, live.leg_rows
                await s.commit()
            except BaseException:
                live.row, live.leg_rows = None, {}
                raise

    async def _hangup(self, channel_id: str, reason: Any) -> None:
        await self._safely(self.ari.channels.hangup(channel_id, reason))

    async def _safely(self, request: Awaitable[Any]) -> Any:
        return await safely(request)
