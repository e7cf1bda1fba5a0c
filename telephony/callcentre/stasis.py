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
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.tenancy import scoped_to, unscoped
from comms.queries import UnknownQuery
from telephony.callcentre import queueing as qc
from telephony.callcentre import service
from telephony.callcentre.control import CONSULT_PREFIX
from telephony.callcentre.models import Agent, Queue, QueueCall
from telephony.callcentre.stasis_base import Binding, log
from telephony.callcentre.stasis_clock import QueueClock
from telephony.callcentre.stasis_offers import QueueOffers
from telephony.callcentre.state import EntryState
from telephony.calls import service as calls
from telephony.calls.state import CallState
from telephony.vpmn.models import Disposition

PRIORITY_BOOST = 10

__all__ = ["Binding", "QueueCalls"]


class QueueCalls(QueueClock, QueueOffers):
    """Drives queued callers; every decision is persisted before the next ARI command."""

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
                elif binding.role == "external":
                    await self._external_answered(binding)
        elif kind == "ChannelDestroyed":
            channel_id = event["channel"]["id"]
            consult = channel_id.startswith(CONSULT_PREFIX)
            if channel_id not in self.channels and not consult:
                return
            async with self.lock:
                # Looked up under the lock: a hand-over may have bound a consultation leg
                # while this event waited.
                binding = self.channels.get(channel_id)
                if binding is not None:
                    await self._channel_gone(binding, channel_id)
                elif consult:
                    await self._consult_gone(channel_id, event)
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

    async def _channel_gone(self, binding: Binding, channel_id: str) -> None:
        self.channels.pop(channel_id, None)
        if binding.role in ("caller", "callback"):
            await self._caller_gone(binding, channel_id)
        elif binding.role == "external":
            await self._external_gone(binding)
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
            if binding.role == "caller" and entry.overflow_target == "callback":
                # The original channel of a call-back request, hung up on purpose: the queue
                # call lives on (it may already be offered to an agent) and the call it came
                # in on ends here.
                if entry.call_id is not None:
                    call = await calls.get_call(s, entry.call_id)
                    await calls.end_call(s, call, Disposition.NO_ANSWER, "callback requested")
                await s.commit()
                return
            legs = qc.legs(entry)
            agents = [a for a in [await s.get(Agent, uuid.UUID(x)) for x in legs.values()] if a]
            disposition, reason = Disposition.CANCELLED, "caller hung up in queue"
            if entry.extra.get("external"):
                # Transferred out to a number: the caller was talking to that party.
                hangups, bridge = [entry.extra["external"]], entry.bridge_id
                disposition, reason = Disposition.ANSWERED, "caller hung up"
            elif entry.state in (EntryState.WAITING, EntryState.OFFERED):
                qc.abandoned(s, entry, now)
                qc.release_ringing(s, agents, now, "caller hung up")
                hangups = list(legs)
            elif entry.state is EntryState.ANSWERED and entry.ended_at is None:
                qc.ended(s, entry, queue, agents[0] if agents else None, now)
                hangups, bridge = list(legs), entry.bridge_id
                hangups += await self._drop_consult(s, entry, now)
                disposition, reason = Disposition.ANSWERED, "caller hung up"
            elif entry.state is EntryState.OVERFLOWED:
                disposition, reason = Disposition.NO_ANSWER, f"overflow: {entry.overflow_target}"
            if entry.call_id is not None:
                call = await calls.get_call(s, entry.call_id)
                await calls.end_call(s, call, disposition, reason)
                await qc.attach_recording(s, call.id)
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
        rebind: dict[str, Binding] = {}
        requeued: QueueCall | None = None
        back: tuple[str, str, str] | None = None
        out: tuple[str, str, int] | None = None
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
                if entry.state in qc.WAITING:
                    requeued = entry
            elif entry.state is EntryState.ANSWERED and entry.ended_at is None:
                qc.ended(s, entry, queue, agent, now)
                bridge = entry.bridge_id
                transfer = entry.extra.get("transfer")
                if transfer and transfer.get("kind") == "attended":
                    rebind = await self._handed_over(s, entry, transfer, now)
                    if not rebind and entry.call_id is not None:
                        # The consulted party hung up before the hand-over: the call is over.
                        hangup = entry.channel_id
                        call = await calls.get_call(s, entry.call_id)
                        await calls.end_call(
                            s, call, Disposition.ANSWERED, "transferred party left"
                        )
                elif transfer and transfer.get("number"):
                    out = await self._transferred_out(s, entry, transfer["number"], now)
                elif transfer:
                    moved = await self._transferred(s, entry, transfer, now)
                elif "consult_for" in entry.extra:
                    back = await self._consult_over(s, entry)
                else:
                    hangup = entry.channel_id
                    if entry.call_id is not None:
                        call = await calls.get_call(s, entry.call_id)
                        await calls.end_call(s, call, Disposition.ANSWERED, "agent hung up")
                        await qc.attach_recording(s, call.id)
            await qc.publish_stats(s, queue, now)
            await s.commit()
        if out is not None:
            await self._ring_out(binding, entry.channel_id, entry.bridge_id, out)
            return
        if rebind:
            # The consulted party's leg is now the call's agent (or external) leg; if it ended
            # while the hand-over was on its way, settle that now.
            self.channels.update(rebind)
            for channel, moved_to in rebind.items():
                if channel in self.vanished:
                    self.vanished.discard(channel)
                    await self._channel_gone(moved_to, channel)
            return
        if back is not None:
            await self._back_to_caller(*back)
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
        if requeued is not None:
            self.acd.caller_waiting(requeued)  # no timestamp shows a caller back in line
        if redispatch is not None:
            await self._dispatch(binding.tenant_id, redispatch)

    # ------------------------------------------------------------------ reconcile

    async def reconcile(self, alive: set[str]) -> None:
        """After a (re)connect: rebind live channels, settle the ones that vanished."""
        async with self.lock:
            async with self.db.session() as s:
                unscoped(s)
                entries = await qc.open_entries(s)
            gone: list[tuple[Binding, str]] = []
            for entry in entries:
                # A queue consultation's channel_id names no channel (consult.py).
                placeholder = "consult_for" in entry.extra
                if entry.state is not EntryState.CALLBACK_REQUESTED and not placeholder:
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
            self.acd.expire()
            for binding, channel in gone:
                await self._channel_gone(binding, channel)
