"""The call-centre clock: wrap-ups that end, callers past max wait (overflow), announcements.

Asterisk queues playbacks on a channel and music on hold does not come back by itself after
one, so an announcement stops MOH and PlaybackFinished restarts it.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.tenancy import unscoped
from telephony.callcentre import queueing as qc
from telephony.callcentre import service
from telephony.callcentre.models import Agent, Overflow, Queue, QueueCall
from telephony.callcentre.stasis_base import Binding, QueueCallsBase, log
from telephony.callcentre.state import AgentState, EntryState
from telephony.calls import service as calls


class QueueClock(QueueCallsBase):
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
                if entry.state is not EntryState.WAITING or "consult_for" in entry.extra:
                    continue  # a consultation waits without a channel: no overflow, no prompts
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
