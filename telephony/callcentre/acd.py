"""Automatic call distribution as a pure, incremental index: no I/O, no clock, no database.

A `QueueBook` holds one queue's waiting callers in a heap ordered by (priority, entered_at)
and its available agents in heaps ordered by the strategy's key, so a decision costs
O(log n) per pairing rather than a scan of every caller and agent. Removals are lazy (a
tombstone per id), which keeps add/remove O(log n) too.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from telephony.callcentre.models import Strategy


@dataclass(frozen=True, slots=True)
class Caller:
    id: Hashable
    entered_at: float  # seconds (any epoch, the same for every caller and `now`)
    priority: int = 0  # higher first


@dataclass(frozen=True, slots=True)
class AgentInfo:
    id: Hashable
    idle_since: float = 0.0
    last_offered: float = float("-inf")  # never offered: first in round-robin
    skills: Mapping[str, int] = field(default_factory=dict)
    order: int = 0  # stable tie-break (e.g. membership order)


@dataclass(frozen=True, slots=True)
class Rules:
    strategy: Strategy = Strategy.LONGEST_IDLE
    skills: Mapping[str, int] = field(default_factory=dict)  # required skill -> min level
    fallback_after: float | None = None  # seconds of waiting after which any agent will do


@dataclass(frozen=True, slots=True)
class Offer:
    caller_id: Hashable
    agent_ids: tuple[Hashable, ...]  # several only under ring_all


def qualifies(skills: Mapping[str, int], required: Mapping[str, int]) -> bool:
    return all(skills.get(name, 0) >= level for name, level in required.items())


class QueueBook:
    """One queue's callers and available agents; `decide` pairs them per the rules."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._seq = itertools.count()
        self._callers: list[tuple[int, float, int, Hashable]] = []
        self._by_age: list[tuple[float, int, Hashable]] = []
        self._caller_ok: dict[Hashable, int] = {}  # id -> live sequence number
        self._skilled: list[tuple[Any, ...]] = []
        self._others: list[tuple[Any, ...]] = []
        self._agent_ok: dict[Hashable, int] = {}

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls, rules: Rules, callers: Iterable[Caller], agents: Iterable[AgentInfo]
    ) -> QueueBook:
        """Index a snapshot in O(n) (heapify), for a process that starts from the database."""
        book = cls(rules)
        for c in callers:
            seq = next(book._seq)
            book._caller_ok[c.id] = seq
            book._callers.append((-c.priority, c.entered_at, seq, c.id))
            book._by_age.append((c.entered_at, seq, c.id))
        for a in agents:
            heap, item = book._agent_item(a)
            heap.append(item)
        heapq.heapify(book._callers)
        heapq.heapify(book._by_age)
        heapq.heapify(book._skilled)
        heapq.heapify(book._others)
        return book

    def add_caller(self, c: Caller) -> None:
        seq = next(self._seq)
        self._caller_ok[c.id] = seq
        heapq.heappush(self._callers, (-c.priority, c.entered_at, seq, c.id))
        heapq.heappush(self._by_age, (c.entered_at, seq, c.id))

    def remove_caller(self, caller_id: Hashable) -> None:
        self._caller_ok.pop(caller_id, None)

    def add_agent(self, a: AgentInfo) -> None:
        """An agent became available (or its key changed: the newest entry wins)."""
        heap, item = self._agent_item(a)
        heapq.heappush(heap, item)

    def remove_agent(self, agent_id: Hashable) -> None:
        self._agent_ok.pop(agent_id, None)

    def _agent_item(self, a: AgentInfo) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
        seq = next(self._seq)
        self._agent_ok[a.id] = seq
        strategy = self.rules.strategy
        if strategy is Strategy.ROUND_ROBIN:
            key: tuple[Any, ...] = (a.last_offered, a.order)
        elif strategy is Strategy.SKILLS:
            score = sum(a.skills.get(name, 0) for name in self.rules.skills)
            key = (-score, a.idle_since, a.order)
        else:
            key = (a.idle_since, a.order)
        heap = self._skilled if qualifies(a.skills, self.rules.skills) else self._others
        return heap, (*key, seq, a.id)

    # ------------------------------------------------------------------ deciding

    @property
    def waiting(self) -> int:
        return len(self._caller_ok)

    @property
    def available(self) -> int:
        return len(self._agent_ok)

    def _live_top(self, heap: list[tuple[Any, ...]], ok: dict[Hashable, int]) -> Any:
        while heap:
            item = heap[0]
            if ok.get(item[-1]) == item[-2]:
                return item
            heapq.heappop(heap)  # a tombstone or a superseded key
        return None

    def _take_agent(self, heap: list[tuple[Any, ...]]) -> Hashable | None:
        top = self._live_top(heap, self._agent_ok)
        if top is None:
            return None
        heapq.heappop(heap)
        agent_id: Hashable = top[-1]
        del self._agent_ok[agent_id]
        return agent_id

    def decide(self, now: float) -> list[Offer]:
        """Pair waiting callers with available agents; the pairs leave the book."""
        if self.rules.strategy is Strategy.RING_ALL:
            return self._ring_all(now)
        offers: list[Offer] = []
        while True:
            head = self._live_top(self._callers, self._caller_ok)
            if head is None:
                break
            agent = self._take_agent(self._skilled)
            if agent is not None:
                offers.append(Offer(head[-1], (agent,)))
                del self._caller_ok[head[-1]]
                continue
            # No qualified agent: the longest waiter past the fall-back may take anyone.
            late = self._late_caller(now)
            if late is None:
                break
            agent = self._take_agent(self._others)
            if agent is None:
                break
            offers.append(Offer(late, (agent,)))
            del self._caller_ok[late]
        return offers

    def _late_caller(self, now: float) -> Hashable | None:
        after = self.rules.fallback_after
        if after is None or not self._others:
            return None
        oldest = self._live_top(self._by_age, self._caller_ok)
        if oldest is None or now - oldest[0] < after:
            return None
        caller_id: Hashable = oldest[-1]
        return caller_id

    def _ring_all(self, now: float) -> list[Offer]:
        # ring_all rings every free qualified agent for the caller at the head; the first
        # to answer wins, the others go back to the book when their legs are hung up.
        head = self._live_top(self._callers, self._caller_ok)
        if head is None:
            return []
        caller = head[-1]
        agents: list[Hashable] = []
        while (agent := self._take_agent(self._skilled)) is not None:
            agents.append(agent)
        if not agents and self._late_caller(now) is not None:
            caller = self._late_caller(now)
            while (agent := self._take_agent(self._others)) is not None:
                agents.append(agent)
        if not agents:
            return []
        del self._caller_ok[caller]
        return [Offer(caller, tuple(agents))]
