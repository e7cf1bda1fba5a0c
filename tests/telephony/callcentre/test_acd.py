"""The ACD's pure decisions: order, strategies, skills fall-back, priority and fairness."""

from __future__ import annotations

import heapq
import random
from collections import Counter

import pytest

from telephony.callcentre.acd import AgentInfo, Caller, QueueBook, Rules
from telephony.callcentre.models import Strategy


def test_longest_idle_agent_gets_the_longest_waiting_caller() -> None:
    book = QueueBook.build(
        Rules(Strategy.LONGEST_IDLE),
        [Caller("late", entered_at=20), Caller("early", entered_at=10)],
        [AgentInfo("fresh", idle_since=50), AgentInfo("bored", idle_since=5)],
    )
    offers = book.decide(now=60)
    assert [(o.caller_id, o.agent_ids) for o in offers] == [
        ("early", ("bored",)),
        ("late", ("fresh",)),
    ]
    assert book.waiting == 0 and book.available == 0


def test_priority_caller_jumps_ahead_of_earlier_callers() -> None:
    book = QueueBook.build(
        Rules(),
        [Caller("a", 1), Caller("b", 2), Caller("vip", 3, priority=5)],
        [AgentInfo("x")],
    )
    assert [o.caller_id for o in book.decide(now=10)] == ["vip"]
    assert book.waiting == 2


def test_round_robin_offers_the_least_recently_offered_agent() -> None:
    book = QueueBook.build(
        Rules(Strategy.ROUND_ROBIN),
        [Caller("c", 1)],
        [
            AgentInfo("recent", idle_since=0, last_offered=90),
            AgentInfo("older", idle_since=80, last_offered=10),
        ],
    )
    assert book.decide(now=100)[0].agent_ids == ("older",)


def test_skills_prefers_the_most_skilled_and_falls_back_after_the_wait() -> None:
    rules = Rules(Strategy.SKILLS, skills={"billing": 3}, fallback_after=30)
    book = QueueBook.build(
        rules,
        [Caller("c1", entered_at=0)],
        [AgentInfo("novice", skills={"billing": 1}), AgentInfo("ok", skills={"billing": 3})],
    )
    book.add_agent(AgentInfo("expert", idle_since=99, skills={"billing": 5}))
    assert book.decide(now=1)[0].agent_ids == ("expert",)
    book.add_caller(Caller("c2", entered_at=1))
    book.add_caller(Caller("c3", entered_at=2))
    assert book.decide(now=5)[0].agent_ids == ("ok",)
    # c3 waits with only the unqualified novice free: not before the fall-back time...
    assert book.decide(now=30) == []
    # ...and any agent will do once it has waited that long.
    assert [(o.caller_id, o.agent_ids) for o in book.decide(now=32)] == [("c3", ("novice",))]


def test_no_fallback_means_unqualified_agents_never_take_calls() -> None:
    book = QueueBook.build(
        Rules(skills={"fr": 1}), [Caller("c", 0)], [AgentInfo("a", skills={"de": 5})]
    )
    assert book.decide(now=10_000) == []


def test_ring_all_rings_every_free_agent_for_the_head_caller() -> None:
    book = QueueBook.build(
        Rules(Strategy.RING_ALL),
        [Caller("c1", 0), Caller("c2", 1)],
        [AgentInfo("a", order=1), AgentInfo("b", order=0)],
    )
    offers = book.decide(now=5)
    assert len(offers) == 1 and offers[0].caller_id == "c1"
    assert set(offers[0].agent_ids) == {"a", "b"}
    assert book.decide(now=5) == []


def test_removed_callers_and_agents_are_skipped() -> None:
    book = QueueBook.build(Rules(), [Caller("gone", 0), Caller("here", 1)], [AgentInfo("x")])
    book.add_agent(AgentInfo("paused", idle_since=-1))
    book.remove_caller("gone")
    book.remove_agent("paused")
    assert [(o.caller_id, o.agent_ids) for o in book.decide(now=2)] == [("here", ("x",))]


def test_re_adding_an_agent_uses_its_newest_key() -> None:
    book = QueueBook(Rules())
    book.add_agent(AgentInfo("a", idle_since=1))
    book.add_agent(AgentInfo("b", idle_since=2))
    book.add_agent(AgentInfo("a", idle_since=3))  # took a call meanwhile
    book.add_caller(Caller("c", 0))
    assert book.decide(now=4)[0].agent_ids == ("b",)
    assert book.available == 1


def simulate(strategy: Strategy, agents: int, calls: int, seed: int) -> Counter[str]:
    """A discrete-event contact centre: Poisson arrivals, random handle times, one queue."""
    rng = random.Random(seed)
    book = QueueBook(Rules(strategy))
    names = [f"agent-{i}" for i in range(agents)]
    for i, name in enumerate(names):
        book.add_agent(AgentInfo(name, idle_since=0, order=i))
    last_offered: dict[str, float] = {}
    taken: Counter[str] = Counter()
    events: list[tuple[float, int, str, str]] = []  # (time, seq, kind, who)
    t = 0.0
    for n in range(calls):
        # Offered load ~90% of capacity: queues form, agents idle now and then.
        t += rng.expovariate(agents * 0.9 / 100.0)
        heapq.heappush(events, (t, n, "arrive", f"call-{n}"))
    seq = calls
    while events:
        now, _, kind, who = heapq.heappop(events)
        if kind == "arrive":
            book.add_caller(Caller(who, now))
        else:
            book.add_agent(
                AgentInfo(
                    who,
                    idle_since=now,
                    last_offered=last_offered[who],
                    order=names.index(who),
                )
            )
        for offer in book.decide(now):
            agent = str(offer.agent_ids[0])
            taken[agent] += 1
            last_offered[agent] = now
            seq += 1
            heapq.heappush(events, (now + rng.uniform(20, 180), seq, "free", agent))
    return taken


@pytest.mark.parametrize("strategy", [Strategy.LONGEST_IDLE, Strategy.ROUND_ROBIN])
def test_no_agent_is_starved_over_ten_thousand_calls(strategy: Strategy) -> None:
    taken = simulate(strategy, agents=25, calls=10_000, seed=7)
    assert sum(taken.values()) == 10_000
    assert len(taken) == 25
    fair_share = 10_000 / 25
    assert min(taken.values()) > 0.8 * fair_share, taken
    assert max(taken.values()) < 1.2 * fair_share, taken


def test_a_fixed_order_would_starve_agents_under_light_load() -> None:
    """The fairness check can fail: ordering by a fixed rank starves the last agents."""
    book = QueueBook(Rules(Strategy.LONGEST_IDLE))
    for i in range(5):
        # Every agent claims the same idle time, as a broken "first in the list" ACD would.
        book.add_agent(AgentInfo(f"a{i}", idle_since=0, order=i))
    taken: Counter[object] = Counter()
    for n in range(1000):
        book.add_caller(Caller(n, n))
        (offer,) = book.decide(now=n)
        taken[offer.agent_ids[0]] += 1
        book.add_agent(
            AgentInfo(offer.agent_ids[0], idle_since=0, order=int(str(offer.agent_ids[0])[1]))
        )
    assert taken["a4"] == 0 and taken["a0"] == 1000
