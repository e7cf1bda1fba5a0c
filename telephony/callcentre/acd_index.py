"""The Stasis process's ACD index: one `QueueBook` per queue, kept in step with the database.

The database stays the truth; the index is a cache that makes an offer cost O(log n) instead
of a reload of every waiting caller. It learns changes three ways:
- deltas before each decision: agents whose `state_since` and callers whose `entered_at` are
  recent (a margin covers commit lag and clock skew between processes; both columns are set on
  every agent move and queue entry, whichever process makes them);
- hints from this process for moves no timestamp shows (an offer that rang out puts its caller
  back in line);
- a full rebuild on start and every `recheck_seconds`, which also counts and logs the drift it
  corrects (skills, memberships, queue rules edited through the API show up there).
An offer the index proposes is still checked against the rows before it is made.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from telephony.callcentre.acd import AgentInfo, Caller, Offer, QueueBook, Rules
from telephony.callcentre.models import Agent, Membership, Queue, QueueCall
from telephony.callcentre.queueing import WAITING
from telephony.callcentre.state import AgentState

log = logging.getLogger(__name__)

Snapshot = dict[uuid.UUID, tuple[set[uuid.UUID], set[uuid.UUID]]]  # queue -> (callers, agents)


def _epoch(at: datetime | None) -> float:
    return at.timestamp() if at is not None else float("-inf")


def agent_info(agent: Agent) -> AgentInfo:
    # order: the agent id's own order, as the former per-decision sort by id gave.
    return AgentInfo(
        agent.id,
        idle_since=_epoch(agent.idle_since),
        last_offered=_epoch(agent.last_offered_at),
        skills=dict(agent.skills),
        order=agent.id.int,
    )


def rules_of(queue: Queue) -> Rules:
    return Rules(queue.strategy, skills=queue.skills, fallback_after=queue.skill_fallback_seconds)


class AcdIndex:
    """Books for every queue, fed by database deltas; see the module docstring."""

    def __init__(
        self,
        *,
        margin: timedelta = timedelta(seconds=10),
        recheck_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.margin = margin
        self.recheck_seconds = recheck_seconds
        self.monotonic = monotonic
        self.books: dict[uuid.UUID, QueueBook] = {}
        self.queues_of: dict[uuid.UUID, set[uuid.UUID]] = {}  # agent -> queues
        self.callers: dict[uuid.UUID, set[uuid.UUID]] = {}  # queue -> callers in its book
        self.free: dict[uuid.UUID, set[uuid.UUID]] = {}  # queue -> agents in its book
        self._seen: dict[uuid.UUID, tuple[AgentState, datetime | None]] = {}
        self._synced: datetime | None = None
        self._built = float("-inf")
        self.rebuilds = 0
        self.drift = 0  # callers/agents a rebuild found the deltas had missed

    # ------------------------------------------------------------------ keeping in step

    async def sync(self, s: AsyncSession, now: datetime) -> None:
        """Bring the books up to date (an unscoped session: every tenant's queues)."""
        if self._synced is None or self.monotonic() - self._built >= self.recheck_seconds:
            await self.rebuild(s, now)
            return
        since = self._synced - self.margin
        self._synced = now
        changed = list(await s.scalars(select(Agent).where(Agent.state_since >= since)))
        if changed:
            await self._load_memberships(s, [a.id for a in changed])
            for agent in changed:
                self._agent_changed(agent)
        entries = await s.scalars(
            select(QueueCall).where(QueueCall.entered_at >= since, QueueCall.state.in_(WAITING))
        )
        for entry in entries:
            if entry.queue_id not in self.books:
                await self._add_queue(s, entry.queue_id)
            else:
                self.caller_waiting(entry)
        # Callers who left the line without an offer (hung up, overflowed) leave the books.
        left = await s.execute(
            select(QueueCall.queue_id, QueueCall.id).where(
                or_(QueueCall.abandoned_at >= since, QueueCall.overflowed_at >= since),
                QueueCall.state.not_in(WAITING),
            )
        )
        for queue_id, entry_id in left:
            self.forget_caller(queue_id, entry_id)

    def expire(self) -> None:
        """Rebuild before the next decision (after a reconnect: the gap is unknown)."""
        self._synced = None

    async def rebuild(self, s: AsyncSession, now: datetime) -> None:
        """Drop everything and index the database afresh (start, and the periodic check)."""
        before = self._snapshot() if self._synced is not None else None
        self.books.clear()
        self.queues_of.clear()
        self.callers.clear()
        self.free.clear()
        self._seen.clear()
        self._synced, self._built = now, self.monotonic()
        for m in await s.scalars(select(Membership)):
            self.queues_of.setdefault(m.agent_id, set()).add(m.queue_id)
        for queue in await s.scalars(select(Queue)):
            self.books[queue.id] = QueueBook(rules_of(queue))
            self.callers[queue.id], self.free[queue.id] = set(), set()
        for entry in await s.scalars(select(QueueCall).where(QueueCall.state.in_(WAITING))):
            self.caller_waiting(entry)
        for agent in await s.scalars(select(Agent)):
            self._agent_changed(agent)
        self.rebuilds += 1
        if before is not None:
            missed = self._differences(before, self._snapshot())
            if missed:
                self.drift += missed
                log.info("ACD index: the periodic check corrected %d entries", missed)

    async def _add_queue(self, s: AsyncSession, queue_id: uuid.UUID) -> None:
        """A queue created since the last rebuild: index it from its rows."""
        queue = await s.get(Queue, queue_id)
        if queue is None:
            return
        self.books[queue.id] = QueueBook(rules_of(queue))
        self.callers[queue.id], self.free[queue.id] = set(), set()
        members = list(await s.scalars(select(Membership).where(Membership.queue_id == queue_id)))
        await self._load_memberships(s, [m.agent_id for m in members])
        for entry in await s.scalars(
            select(QueueCall).where(QueueCall.queue_id == queue_id, QueueCall.state.in_(WAITING))
        ):
            self.caller_waiting(entry)
        for m in members:
            agent = await s.get(Agent, m.agent_id)
            if agent is not None:
                self._seen.pop(agent.id, None)
                self._agent_changed(agent)

    async def _load_memberships(self, s: AsyncSession, agent_ids: list[uuid.UUID]) -> None:
        rows = await s.scalars(select(Membership).where(Membership.agent_id.in_(agent_ids)))
        fresh: dict[uuid.UUID, set[uuid.UUID]] = {a: set() for a in agent_ids}
        for m in rows:
            fresh[m.agent_id].add(m.queue_id)
        for agent_id, queues in fresh.items():
            for gone in self.queues_of.get(agent_id, set()) - queues:
                self._drop_agent(gone, agent_id)
            self.queues_of[agent_id] = queues

    def _agent_changed(self, agent: Agent) -> None:
        seen = (agent.state, agent.state_since)
        if self._seen.get(agent.id) == seen:
            return  # re-read through the margin: nothing new
        self._seen[agent.id] = seen
        for queue_id in self.queues_of.get(agent.id, set()):
            if agent.state is AgentState.AVAILABLE:
                self.return_agent(queue_id, agent)
            else:
                self._drop_agent(queue_id, agent.id)

    # ------------------------------------------------------------------ hints and decisions

    def caller_waiting(self, entry: QueueCall) -> None:
        """A caller (back) in line: new, or an offer that rang out."""
        book = self.books.get(entry.queue_id)
        if book is None or entry.id in self.callers[entry.queue_id]:
            return
        book.add_caller(Caller(entry.id, entry.entered_at.timestamp(), entry.priority))
        self.callers[entry.queue_id].add(entry.id)

    def forget_caller(self, queue_id: uuid.UUID, entry_id: uuid.UUID) -> None:
        if entry_id in self.callers.get(queue_id, set()):
            self.books[queue_id].remove_caller(entry_id)
            self.callers[queue_id].discard(entry_id)

    def return_agent(self, queue_id: uuid.UUID, agent: Agent) -> None:
        book = self.books.get(queue_id)
        if book is not None:
            book.add_agent(agent_info(agent))  # the newest key wins
            self.free[queue_id].add(agent.id)

    def taken(self, agent_id: uuid.UUID) -> None:
        """The agent is offered a call outside the books (a transfer to them)."""
        for queue_id in self.queues_of.get(agent_id, set()):
            self._drop_agent(queue_id, agent_id)

    def _drop_agent(self, queue_id: uuid.UUID, agent_id: uuid.UUID) -> None:
        if agent_id in self.free.get(queue_id, set()):
            self.books[queue_id].remove_agent(agent_id)
            self.free[queue_id].discard(agent_id)

    def decide(self, queue_id: uuid.UUID, now: datetime) -> list[Offer]:
        """The queue's pairs now; they leave the books (an agent leaves every queue's)."""
        book = self.books.get(queue_id)
        if book is None:
            return []
        offers = book.decide(now.timestamp())
        for offer in offers:
            assert isinstance(offer.caller_id, uuid.UUID)
            self.callers[queue_id].discard(offer.caller_id)
            for agent_id in offer.agent_ids:
                assert isinstance(agent_id, uuid.UUID)
                self.free[queue_id].discard(agent_id)
                for other in self.queues_of.get(agent_id, set()) - {queue_id}:
                    self._drop_agent(other, agent_id)
        return offers

    # ------------------------------------------------------------------ checking

    def _snapshot(self) -> Snapshot:
        return {q: (set(self.callers[q]), set(self.free[q])) for q in self.books}

    @staticmethod
    def _differences(old: Snapshot, new: Snapshot) -> int:
        empty: tuple[set[uuid.UUID], set[uuid.UUID]] = (set(), set())
        total = 0
        for queue_id in old.keys() | new.keys():
            (c0, a0), (c1, a1) = old.get(queue_id, empty), new.get(queue_id, empty)
            total += len(c0 ^ c1) + len(a0 ^ a1)
        return total
