"""ARI callbacks of queued calls: enter, music on hold, announcements, offers, bridge, overflow.

Telephony facts this follows:
- A queued caller is answered at once (music on hold needs an answered channel, and callers
  are told their place), unlike a member call, whose ringback goes out as early media.
- Agent legs are made with /channels/create + /dial, with the queue's ring timeout as ARI's
  dial timeout: an unanswered offer ends as ChannelDestroyed (cause 19) on the leg.
- Asterisk queues playbacks on a channel and music on hold does not come back by itself
  after one, so an announcement stops MOH and PlaybackFinished of its last part restarts it.
- The database is the truth: every decision is committed before the ARI command that carries
  it out, and `reconcile` rebuilds the channel map from open queue calls after a restart.

One lock serialises this process's decisions (one writer: SQLite's model, and simple); the
work under it is a few indexed queries and ARI requests per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.tenancy import scoped_to, unscoped
from comms.queries import Queries, UnknownQuery
from telephony.ari import AriClient, AriError
from telephony.callcentre import queueing as qc
from telephony.callcentre import service
from telephony.callcentre.acd import Offer
from telephony.callcentre.control import CONSULT_PREFIX
from telephony.callcentre.models import Agent, Overflow, Queue, QueueCall
from telephony.callcentre.state import AgentState, EntryState
from telephony.calls import service as calls
from telephony.calls.models import LegRole
from telephony.calls.state import CallState
from telephony.vpmn import service as vpmn
from telephony.vpmn.models import Disposition

log = logging.getLogger(__name__)

LEG_ARG = "leg"  # the same marker calls/stasis.py uses: StasisStart of our own legs is ignored
PRIORITY_BOOST = 10


@dataclass(frozen=True)
class Binding:
    tenant_id: uuid.UUID
    entry_id: uuid.UUID
    role: str  # caller | agent | callback (the leg calling a callback customer)


class QueueCalls:
    """Drives queued callers; every decision is persisted before the next ARI command."""

    def __init__(
        self,
        ari: AriClient,
        db: Database,
        *,
        queries: Queries | None = None,
        tick_seconds: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ari = ari
        self.db = db
        self.queries = queries
        self.tick_seconds = tick_seconds
        self.clock = clock
        self.channels: dict[str, Binding] = {}
        self.lock = asyncio.Lock()
        self._ticker: asyncio.Task[None] | None = None

    def session(self, tenant_id: uuid.UUID) -> AsyncSession:
        s = self.db.sessionmaker()
        scoped_to(s, tenant_id)
        return s

    def start(self) -> None:
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick_forever(), name="callcentre-tick")

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None

    # ------------------------------------------------------------------ a caller arrives

    async def try_start(self, event: dict[str, Any], tenant_id: uuid.UUID | None) -> bool:
        """Queue the caller if the dialled number is one of a queue's DIDs."""
        channel = event["channel"]
        dialled = str(channel["dialplan"]["exten"])
        async with self.db.session() as s:
            if tenant_id is None:
                unscoped(s)
            else:
                scoped_to(s, tenant_id)
            found = next((q for q in await s.scalars(select(Queue)) if dialled in q.dids), None)
            if found is None:
                return False
            tenant_id, queue_id = found.tenant_id, found.id
        await self.enqueue(
            tenant_id,
            channel_id=channel["id"],
            caller=channel["caller"]["number"],
            queue=str(queue_id),
            endpoint=channel["name"],
            dialled=dialled,
        )
        return True

    async def enqueue(
        self,
        tenant_id: uuid.UUID,
        *,
        channel_id: str,
        caller: str,
        queue: str,
        endpoint: str,
        dialled: str = "",
        priority: int = 0,
    ) -> QueueCall | None:
        """Put a caller in a queue named by name or id; None (and busy) if there is none."""
        async with self.lock:
            now = self.clock()
            async with self.session(tenant_id) as s:
                target = await self._find_queue(s, queue)
                if target is None:
                    log.warning("no queue %r for tenant %s", queue, tenant_id)
                    await self._safely(
                        self.ari.channels.play(channel_id, "sound:all-circuits-busy-now")
                    )
                    await self._safely(self.ari.channels.hangup(channel_id, "congestion"))
                    return None
                call, _ = await calls.open_inbound(
                    s,
                    tenant_id,
                    caller=caller,
                    callee=dialled or target.name,
                    channel_id=channel_id,
                    endpoint=endpoint,
                    in_network=False,
                    member_id=None,
                )
                call.queue = target.name
                calls.transition(s, call, CallState.RINGING, "queued")
                priority += await self._segment_boost(s, target, caller)
                full = target.max_length is not None and (
                    await qc.waiting_count(s, target.id) >= target.max_length
                )
                entry = await qc.enter(
                    s,
                    target,
                    call_id=call.id,
                    channel_id=channel_id,
                    caller=caller,
                    priority=priority,
                    now=now,
                )
                await qc.publish_stats(s, target, now)
                await s.commit()
            self.channels[channel_id] = Binding(tenant_id, entry.id, "caller")
            await self._safely(self.ari.channels.answer(channel_id))
            await self._safely(self.ari.channels.start_moh(channel_id, target.moh_class))
            if full:
                await self._overflow(tenant_id, entry.id, "queue full")
            else:
                await self._dispatch(tenant_id, target.id)
            return entry

    async def _find_queue(self, s: AsyncSession, ref: str) -> Queue | None:
        try:
            found = await s.get(Queue, uuid.UUID(ref))
            if found is not None:
                return found
        except ValueError:
            pass
        return await service.queue_by_name(s, ref)

    async def _segment_boost(self, s: AsyncSession, queue: Queue, caller: str) -> int:
        # CRM may be absent (UnknownQuery) or down: a caller is never refused for that.
        if not queue.priority_segment or self.queries is None:
            return 0
        try:
            inside = await self.queries.ask(
                s, "crm.in_segment", {"segment": queue.priority_segment, "phone": caller}
            )
        except UnknownQuery:
            return 0
        except Exception:
            log.exception("crm.in_segment failed; caller queued without priority")
            return 0
        return PRIORITY_BOOST if inside else 0

    # ------------------------------------------------------------------ offering

    async def _dispatch(
        self,
        tenant_id: uuid.UUID,
        queue_id: uuid.UUID,
        direct: tuple[uuid.UUID, uuid.UUID | None] | None = None,
    ) -> None:
        """Offer waiting callers to free agents as the ACD decides (lock held).

        ``direct`` (entry, agent) offers one caller to one agent first (a transfer to an
        agent); if that agent is no longer free the ACD decides as usual.
        """
        now = self.clock()
        plans: list[tuple[uuid.UUID, str | None, str, str, int]] = []
        async with self.session(tenant_id) as s:
            queue = await s.get(Queue, queue_id)
            if queue is None:
                return
            offers = []
            if direct is not None and direct[1] is not None:
                chosen = await s.get(Agent, direct[1])
                if chosen is not None and chosen.state is AgentState.AVAILABLE:
                    offers = [Offer(direct[0], (chosen.id,))]
            for offer in offers or await qc.plan_offers(s, queue, now):
                entry = await s.get(QueueCall, offer.caller_id)
                assert entry is not None
                call = await calls.get_call(s, entry.call_id) if entry.call_id else None
                # A callback customer is not on the line: no caller to link the Dial to.
                on_line = entry.state is not EntryState.CALLBACK_REQUESTED
                for agent_id in offer.agent_ids:
                    agent = await s.get(Agent, agent_id)
                    assert agent is not None
                    leg_id = f"cc-{uuid.uuid4().hex}"
                    qc.offer(s, entry, agent, leg_id, now)
                    if call is not None:
                        calls.add_callee_leg(s, call, leg_id, agent.endpoint, entry.offers)
                    caller = entry.channel_id if on_line else None
                    plans.append((entry.id, caller, leg_id, agent.endpoint, queue.ring_timeout))
            if not plans:
                return
            await qc.publish_stats(s, queue, now)
            await s.commit()
        for entry_id, _, leg_id, _, _ in plans:
            self.channels[leg_id] = Binding(tenant_id, entry_id, "agent")
        for entry_id, caller, leg_id, endpoint, timeout in plans:
            try:
                await self.ari.channels.create(
                    endpoint, self.ari.app, app_args=LEG_ARG, channel_id=leg_id
                )
                await self.ari.channels.dial(
                    leg_id,
                    caller=caller if caller in self.channels else None,
                    ring_timeout=timeout,
                )
            except AriError as exc:
                log.warning("queue call %s: cannot ring %s: %s", entry_id, endpoint, exc)
                await self._leg_gone(self.channels[leg_id], leg_id)

    # ------------------------------------------------------------------ events

    async def on_event(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "Dial":
            if event.get("dialstatus") != "ANSWER":
                return
            leg_id = event["peer"]["id"]
            binding = self.channels.get(leg_id)
            if binding is None:
                return
            async with self.lock:
                if binding.role == "agent":
                    await self._agent_answered(binding, leg_id)
                elif binding.role == "callback":
                    await self._customer_answered(binding, leg_id)
        elif kind == "ChannelDestroyed":
            channel_id = event["channel"]["id"]
            binding = self.channels.get(channel_id)
            if binding is None:
                if channel_id.startswith(CONSULT_PREFIX):
                    async with self.lock:
                        await self._consult_gone(channel_id, event)
                return
            async with self.lock:
                await self._channel_gone(binding, channel_id)
        elif kind == "PlaybackFinished":
            playback = event["playback"]
            channel_id = str(playback.get("target_uri", "")).removeprefix("channel:")
            binding = self.channels.get(channel_id)
            if binding is not None and playback["id"].startswith("cc-announce-"):
                async with self.lock:
                    await self._announcement_over(binding, channel_id)
        elif kind == "RecordingFinished":
            target = str(event["recording"].get("target_uri", "")).removeprefix("channel:")
            if self.channels.get(target) is not None:
                await self._safely(self.ari.channels.hangup(target, "normal"))

    async def _agent_answered(self, binding: Binding, leg_id: str) -> None:
        now = self.clock()
        async with self.session(binding.tenant_id) as s:
            entry = await s.get(QueueCall, binding.entry_id)
            legs = qc.legs(entry) if entry is not None else {}
            if entry is None or entry.state is not EntryState.OFFERED or leg_id not in legs:
                await self._safely(self.ari.channels.hangup(leg_id, "answered_elsewhere"))
                return
            queue = await s.get(Queue, entry.queue_id)
            agent = await s.get(Agent, uuid.UUID(legs.pop(leg_id)))
            assert queue is not None and agent is not None
            others = [a for a in [await s.get(Agent, uuid.UUID(x)) for x in legs.values()] if a]
            callback = entry.state is EntryState.OFFERED and entry.overflow_target == "callback"
            bridge_id = f"cc-{entry.id}"
            qc.answered(s, entry, agent, bridge_id, now)
            qc.release_ringing(s, others, now, "answered by another agent")
            entry.extra = {**entry.extra, "legs": {leg_id: str(agent.id)}}
            if queue.record:
                entry.recording = f"callcentre/{entry.id}"
            call = await calls.get_call(s, entry.call_id) if entry.call_id else None
            if call is not None:
                call.agent = agent.name
                if not callback and call.state is CallState.RINGING:
                    rows = {leg.channel_id: leg for leg in await calls.legs_of(s, call.id)}
                    caller_leg = next(r for r in rows.values() if r.role is LegRole.CALLER)
                    calls.mark_answered(s, call, rows[leg_id], bridge_id, caller_leg)
            customer_leg = None
            if callback:
                plan = await vpmn.plan_view(s)
                customer_leg = f"cb-{uuid.uuid4().hex}"
                entry.channel_id = customer_leg
                trunk = plan.trunk_endpoint.format(number=entry.caller)
            await qc.publish_stats(s, queue, now)
            await s.commit()
        for other in legs:
            await self._safely(self.ari.channels.hangup(other, "answered_elsewhere"))
        await self._safely(self.ari.bridges.create("mixing", bridge_id=bridge_id))
        if customer_leg is not None:
            # The agent hears music while the customer who asked for a call back is rung.
            self.channels[customer_leg] = Binding(binding.tenant_id, binding.entry_id, "callback")
            await self._safely(self.ari.channels.start_moh(leg_id, queue.moh_class))
            await self._safely(
                self.ari.channels.create(
                    trunk, self.ari.app, app_args=LEG_ARG, channel_id=customer_leg
                )
            )
            await self._safely(self.ari.channels.dial(customer_leg, ring_timeout=30))
            return
        await self._safely(self.ari.channels.stop_moh(entry.channel_id))
        await self._bridge(bridge_id, entry.channel_id, leg_id, entry.recording)

    async def _bridge(
        self, bridge_id: str, caller: str, agent_leg: str, recording: str | None
    ) -> None:
        await self._safely(self.ari.bridges.add_channel(bridge_id, [caller, agent_leg]))
        if recording:
            await self._safely(self.ari.bridges.record(bridge_id, recording, "wav"))

    async def _customer_answered(self, binding: Binding, leg_id: str) -> None:
        async with self.session(binding.tenant_id) as s:
            entry = await s.get(QueueCall, binding.entry_id)
            if entry is None or entry.ended_at is not None:
                await self._safely(self.ari.channels.hangup(leg_id, "normal"))
                return
            agent_leg = next(iter(qc.legs(entry)))
            bridge_id, recording = entry.bridge_id or f"cc-{entry.id}", entry.recording
        await self._safely(self.ari.channels.stop_moh(agent_leg))
        await self._bridge(bridge_id, leg_id, agent_leg, recording)

    async def _channel_gone(self, binding: Binding, channel_id: str) -> None:
        self.channels.pop(channel_id, None)
        if binding.role in ("caller", "callback"):
            await self._caller_gone(binding, channel_id)
        else:
            await self._leg_gone(binding, channel_id)

    async def _caller_gone(self, binding: Binding, channel_id: str) -> None:
        now = self.clock()
        hangups: list[str] = []
        bridge = None
        async with self.session(binding.tenant_id) as s:
            entry = await s.get(QueueCall, binding.entry_id)
            if entry is None or entry.channel_id != channel_id:
                return  # an old channel of a callback entry
            queue = await s.get(Queue, entry.queue_id)
            assert queue is not None
            legs = qc.legs(entry)
            agents = [a for a in [await s.get(Agent, uuid.UUID(x)) for x in legs.values()] if a]
            disposition, reason = Disposition.CANCELLED, "caller hung up in queue"
            if entry.state in (EntryState.WAITING, EntryState.OFFERED):
                qc.abandoned(s, entry, now)
                qc.release_ringing(s, agents, now, "caller hung up")
                hangups = list(legs)
            elif entry.state is EntryState.ANSWERED and entry.ended_at is None:
                qc.ended(s, entry, queue, agents[0] if agents else None, now)
                hangups, bridge = list(legs), entry.bridge_id
                disposition, reason = Disposition.ANSWERED, "caller hung up"
            elif entry.state is EntryState.CALLBACK_REQUESTED:
                disposition, reason = Disposition.NO_ANSWER, "callback requested"
            elif entry.state is EntryState.OVERFLOWED:
                disposition, reason = Disposition.NO_ANSWER, f"overflow: {entry.overflow_target}"
            if entry.call_id is not None:
                call = await calls.get_call(s, entry.call_id)
                await calls.end_call(s, call, disposition, reason)
            await qc.publish_stats(s, queue, now)
            await s.commit()
        for leg in hangups:
            await self._safely(self.ari.channels.hangup(leg, "normal"))
        if bridge:
            await self._safely(self.ari.bridges.destroy(bridge))

    async def _leg_gone(self, binding: Binding, leg_id: str) -> None:
        now = self.clock()
        redispatch = None
        hangup = bridge = None
        moved: tuple[QueueCall, Queue, uuid.UUID | None] | None = None
        taken: QueueCall | None = None
        async with self.session(binding.tenant_id) as s:
            entry = await s.get(QueueCall, binding.entry_id)
            if entry is None:
                return
            legs = qc.legs(entry)
            if leg_id not in legs:
                return  # a leg we hung up ourselves (answered elsewhere, caller gone)
            agent = await s.get(Agent, uuid.UUID(legs[leg_id]))
            queue = await s.get(Queue, entry.queue_id)
            assert queue is not None
            if entry.call_id is not None:
                for row in await calls.legs_of(s, entry.call_id):
                    if row.channel_id == leg_id:
                        calls.mark_leg_gone(row, None)
            if entry.state is EntryState.OFFERED:
                qc.offer_failed(s, entry, agent, leg_id, now)
                redispatch = queue.id
            elif entry.state is EntryState.ANSWERED and entry.ended_at is None:
                qc.ended(s, entry, queue, agent, now)
                bridge = entry.bridge_id
                transfer = entry.extra.get("transfer")
                if transfer and transfer.get("kind") == "attended":
                    taken = await self._handed_over(s, entry, transfer, now)
                elif transfer:
                    moved = await self._transferred(s, entry, transfer, now)
                else:
                    hangup = entry.channel_id
                    if entry.call_id is not None:
                        call = await calls.get_call(s, entry.call_id)
                        await calls.end_call(s, call, Disposition.ANSWERED, "agent hung up")
            await qc.publish_stats(s, queue, now)
            await s.commit()
        if taken is not None:
            # The colleague's consultation leg is now the call's agent leg.
            self.channels[taken.channel_id] = Binding(binding.tenant_id, taken.id, "caller")
            for leg in qc.legs(taken):
                self.channels[leg] = Binding(binding.tenant_id, taken.id, "agent")
            return
        if moved is not None:
            new_entry, target_queue, direct = moved
            self.channels[new_entry.channel_id] = Binding(binding.tenant_id, new_entry.id, "caller")
            if bridge:
                await self._safely(self.ari.bridges.destroy(bridge))
            await self._safely(
                self.ari.channels.start_moh(new_entry.channel_id, target_queue.moh_class)
            )
            await self._dispatch(binding.tenant_id, target_queue.id, direct=(new_entry.id, direct))
            return
        if hangup:
            await self._safely(self.ari.channels.hangup(hangup, "normal"))
        if bridge:
            await self._safely(self.ari.bridges.destroy(bridge))
        if redispatch is not None:
            await self._dispatch(binding.tenant_id, redispatch)

    async def _transferred(
        self, s: AsyncSession, entry: QueueCall, transfer: dict[str, str], now: datetime
    ) -> tuple[QueueCall, Queue, uuid.UUID | None]:
        """A blind transfer the agent asked for (control.py): the caller queues again."""
        direct = uuid.UUID(transfer["agent_id"]) if "agent_id" in transfer else None
        queue_id = uuid.UUID(transfer["queue_id"]) if "queue_id" in transfer else entry.queue_id
        target = await s.get(Queue, queue_id) or await s.get(Queue, entry.queue_id)
        assert target is not None
        to = f"agent:{direct}" if direct else f"queue:{target.id}"
        qc.transferred(s, entry, "blind", to, now)
        moved = await qc.enter(
            s,
            target,
            call_id=entry.call_id,
            channel_id=entry.channel_id,
            caller=entry.caller,
            priority=entry.priority,
            now=now,
        )
        if entry.call_id is not None:
            call = await calls.get_call(s, entry.call_id)
            call.queue = target.name
        return moved, target, direct

    async def _handed_over(
        self, s: AsyncSession, entry: QueueCall, transfer: dict[str, str], now: datetime
    ) -> QueueCall | None:
        """An attended transfer completed: the consulted agent owns the call from now."""
        other = await s.get(Agent, uuid.UUID(transfer["agent_id"]))
        queue = await s.get(Queue, entry.queue_id)
        if other is None or queue is None or other.state is not AgentState.RINGING:
            return None
        qc.transferred(s, entry, "attended", f"agent:{other.id}", now)
        taken = await qc.enter(
            s,
            queue,
            call_id=entry.call_id,
            channel_id=entry.channel_id,
            caller=entry.caller,
            priority=entry.priority,
            now=now,
        )
        qc.move_entry(taken, EntryState.OFFERED)
        taken.offered_at = now
        taken.offers = 1
        taken.extra = {"legs": {transfer["leg"]: str(other.id)}}
        qc.answered(s, taken, other, entry.bridge_id or f"cc-{entry.id}", now)
        if entry.call_id is not None:
            call = await calls.get_call(s, entry.call_id)
            call.agent = other.name
        return taken

    async def _consult_gone(self, channel_id: str, event: dict[str, Any]) -> None:
        """A consultation leg ended before its transfer completed: back to the caller."""
        entry_id = channel_id.removeprefix(CONSULT_PREFIX)[:36]
        try:
            parsed = uuid.UUID(entry_id)
        except ValueError:
            return
        now = self.clock()
        async with self.db.session() as s:
            unscoped(s)
            entry = await s.get(QueueCall, parsed)
            found = entry.extra.get("consult") if entry is not None else None
            if entry is None or not found or found["leg"] != channel_id:
                return
            if entry.extra.get("transfer") or entry.ended_at is not None:
                return  # completed (the leg lives on as the call's) or the call is over
            scoped_to(s, entry.tenant_id)
            extra = dict(entry.extra)
            extra.pop("consult")
            entry.extra = extra
            other = await s.get(Agent, uuid.UUID(found["agent_id"]))
            if other is not None and other.state is AgentState.RINGING:
                # Never picked up: the same rule as an unanswered offer.
                rang_out = event["channel"].get("state") != "Up"
                target = AgentState.NOT_READY if rang_out else AgentState.AVAILABLE
                service.move_agent(s, other, target, "consultation ended", now=now)
            await s.commit()
            bridge, leg = entry.bridge_id or f"cc-{entry.id}", next(iter(qc.legs(entry)))
        await self._safely(self.ari.bridges.add_channel(bridge, [leg]))
        await self._safely(self.ari.bridges.stop_moh(bridge))
        await self._safely(self.ari.bridges.destroy(found["bridge"]))

    # ------------------------------------------------------------------ overflow

    async def _overflow(self, tenant_id: uuid.UUID, entry_id: uuid.UUID, why: str) -> None:
        now = self.clock()
        async with self.session(tenant_id) as s:
            entry = await s.get(QueueCall, entry_id)
            queue = await s.get(Queue, entry.queue_id) if entry else None
            if entry is None or queue is None or entry.state is not EntryState.WAITING:
                return
            channel = entry.channel_id
            target, next_queue = queue.overflow, None
            if target is Overflow.QUEUE and queue.overflow_queue_id is not None:
                next_queue = await s.get(Queue, queue.overflow_queue_id)
            if target is Overflow.QUEUE and next_queue is not None:
                qc.overflowed(s, entry, "queue", now, next_queue.id)
                moved = await qc.enter(
                    s,
                    next_queue,
                    call_id=entry.call_id,
                    channel_id=channel,
                    caller=entry.caller,
                    priority=entry.priority,
                    now=now,
                )
                if entry.call_id is not None:
                    call = await calls.get_call(s, entry.call_id)
                    call.queue = next_queue.name
                await s.commit()
                self.channels[channel] = Binding(tenant_id, moved.id, "caller")
                await self._dispatch(tenant_id, next_queue.id)
                return
            if target is Overflow.VOICEMAIL and queue.overflow_mailbox:
                qc.overflowed(s, entry, "voicemail", now)
                await s.commit()
                await self._safely(self.ari.channels.stop_moh(channel))
                await self._safely(
                    self.ari.channels.record(
                        channel,
                        f"voicemail/{queue.overflow_mailbox}/{uuid.uuid4().hex}",
                        "wav",
                        max_duration_seconds=120,
                        max_silence_seconds=10,
                        beep=True,
                        terminate_on="#",
                    )
                )
                return
            if target is Overflow.CALLBACK:
                # The caller keeps their place (entered_at) and is called back by an agent.
                qc.overflowed(s, entry, "callback", now)
                await s.commit()
                await self._safely(self.ari.channels.stop_moh(channel))
                await self._safely(
                    self.ari.channels.play(channel, "sound:queue-callback-registered")
                )
                await self._safely(self.ari.channels.hangup(channel, "normal"))
                return
            log.info("queue call %s: %s and no overflow target: busy", entry.id, why)
            qc.overflowed(s, entry, "busy", now)
            await s.commit()
        await self._safely(self.ari.channels.hangup(channel, "busy"))

    # ------------------------------------------------------------------ announcements

    async def _announce(self, tenant_id: uuid.UUID, entry_id: uuid.UUID) -> None:
        now = self.clock()
        async with self.session(tenant_id) as s:
            entry = await s.get(QueueCall, entry_id)
            if entry is None or entry.state is not EntryState.WAITING:
                return
            place = await qc.position(s, entry)
            entry.extra = {**entry.extra, "announced_at": now.isoformat(), "announcing": True}
            expected = await self._expected_wait(s, entry, place)
            await s.commit()
        media = (
            ["sound:queue-youarenext"]
            if place == 1
            else ["sound:queue-thereare", f"digits:{place - 1}", "sound:queue-callswaiting"]
        )
        if expected is not None:
            media += [
                "sound:queue-holdtime",
                f"digits:{max(1, round(expected / 60))}",
                "sound:queue-minutes",
            ]
        channel = entry.channel_id
        await self._safely(self.ari.channels.stop_moh(channel))
        await self._safely(
            self.ari.channels.play(channel, media, playback_id=f"cc-announce-{uuid.uuid4().hex}")
        )

    async def _expected_wait(self, s: AsyncSession, entry: QueueCall, place: int) -> float | None:
        recent = list(
            await s.scalars(
                select(QueueCall.handle_seconds)
                .where(QueueCall.queue_id == entry.queue_id, QueueCall.handle_seconds.is_not(None))
                .order_by(QueueCall.ended_at.desc())
                .limit(50)
            )
        )
        staffed = [
            a
            for a in await service.agents_of_queue(s, entry.queue_id)
            if a.state not in (AgentState.LOGGED_OUT, AgentState.PAUSED)
        ]
        if not recent or not staffed:
            return None
        handle = sum(h for h in recent if h is not None) / len(recent)
        return place * handle / len(staffed)

    async def _announcement_over(self, binding: Binding, channel_id: str) -> None:
        async with self.session(binding.tenant_id) as s:
            entry = await s.get(QueueCall, binding.entry_id)
            if entry is None or entry.state is not EntryState.WAITING:
                return
            queue = await s.get(Queue, entry.queue_id)
            entry.extra = {**entry.extra, "announcing": False}
            await s.commit()
            moh = queue.moh_class if queue else "default"
        await self._safely(self.ari.channels.start_moh(channel_id, moh))

    # ------------------------------------------------------------------ the clock

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds)
            try:
                await self.tick()
            except Exception:
                log.exception("call-centre tick failed")

    async def tick(self) -> None:
        """Wrap-ups that are over, callers past max wait, announcements due, offers to make.

        Agents made available by the API (another process) are picked up here too.
        """
        async with self.lock:
            now = self.clock()
            async with self.db.session() as s:
                unscoped(s)
                wrapped = list(
                    await s.scalars(
                        select(Agent).where(
                            Agent.state == AgentState.WRAP_UP, Agent.wrapup_until <= now
                        )
                    )
                )
                for agent in wrapped:
                    service.move_agent(s, agent, AgentState.AVAILABLE, "wrap-up over", now=now)
                waiting = list(
                    await s.execute(
                        select(QueueCall, Queue)
                        .join(Queue, Queue.id == QueueCall.queue_id)
                        .where(QueueCall.state.in_(qc.WAITING))
                    )
                )
                await s.commit()
            overdue, announce, queues = [], [], set()
            for entry, queue in waiting:
                queues.add((entry.tenant_id, queue.id))
                if entry.state is not EntryState.WAITING:
                    continue
                if queue.max_wait is not None and now - entry.entered_at >= timedelta(
                    seconds=queue.max_wait
                ):
                    overdue.append((entry.tenant_id, entry.id))
                elif queue.announce_interval and not entry.extra.get("announcing"):
                    last = entry.extra.get("announced_at")
                    since = datetime.fromisoformat(last) if last else entry.entered_at
                    if now - since >= timedelta(seconds=queue.announce_interval):
                        announce.append((entry.tenant_id, entry.id))
            for tenant_id, entry_id in overdue:
                await self._overflow(tenant_id, entry_id, "max wait")
            for tenant_id, entry_id in announce:
                await self._announce(tenant_id, entry_id)
            for tenant_id, queue_id in sorted(queues, key=str):
                await self._dispatch(tenant_id, queue_id)

    # ------------------------------------------------------------------ reconcile

    async def reconcile(self, alive: set[str]) -> None:
        """After a (re)connect: rebind live channels, settle the ones that vanished."""
        async with self.lock:
            async with self.db.session() as s:
                unscoped(s)
                entries = await qc.open_entries(s)
            gone: list[tuple[Binding, str]] = []
            for entry in entries:
                if entry.state is not EntryState.CALLBACK_REQUESTED:
                    binding = Binding(entry.tenant_id, entry.id, "caller")
                    self.channels[entry.channel_id] = binding
                    if entry.channel_id not in alive:
                        gone.append((binding, entry.channel_id))
                for leg in qc.legs(entry):
                    role = "agent"
                    self.channels[leg] = Binding(entry.tenant_id, entry.id, role)
                    if leg not in alive:
                        gone.append((self.channels[leg], leg))
            # Agent legs first: a vanished offer puts the caller back in line before a
            # vanished caller abandons it.
            gone.sort(key=lambda g: g[0].role == "caller")
            for binding, channel in gone:
                await self._channel_gone(binding, channel)

    # ------------------------------------------------------------------ helpers

    async def _safely(self, request: Awaitable[Any]) -> Any:
        # The far end can hang up between our decision and our command: a 404/409 then is
        # not an error, the ChannelDestroyed that follows settles the call.
        try:
            return await request
        except AriError as exc:
            log.info("ARI request failed (channel likely gone): %s", exc)
            return None
