"""Call-centre speed: ACD decision time, and the console fan-out of a queue update.

    python bench/acd.py [--agents 1000] [--callers 10000] [--decisions 5000]
                        [--consoles 1000] [--rounds 50] [--client-procs 2] [--deflate]
    python bench/acd.py --section acd        # or: --section index, --section fanout

Section "ACD decision" (1,000 agents, 10,000 waiting callers, one queue):
Method: index a snapshot once (`QueueBook.build`, timed separately: a Stasis process does it
at start-up and after a reconnect), then repeat the live cycle the Stasis app runs on every
change: an agent becomes free (add_agent), a caller arrives (add_caller), decide. Each
decision is timed with perf_counter_ns around add_agent + add_caller + decide; median and
p99 are printed for every strategy. Target: p99 < 5 ms.

Section "index" (bench/acd_index.py has the method): the Stasis app's resident ACD index
against a SQLite database: the cost of one offer (delta queries + decide) and of a rebuild.

Section "console fan-out" (bench/console_fanout.py has the method): one queue update
published through the Redis fan-out reaches N real `/ws/console` sockets of one API process;
median/p99 of "last console reached". Target: < 250 ms for 1,000 consoles. Needs Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time

from telephony.callcentre.acd import AgentInfo, Caller, QueueBook, Rules
from telephony.callcentre.models import Strategy

SKILLS = ("billing", "mandarin", "cantonese", "english", "returns")


def run(strategy: Strategy, agents: int, callers: int, decisions: int, seed: int) -> None:
    rng = random.Random(seed)
    rules = Rules(strategy, skills={"billing": 2}, fallback_after=60)
    people = [
        AgentInfo(
            f"agent-{i}",
            idle_since=rng.uniform(0, 1000),
            last_offered=rng.uniform(0, 1000),
            skills={s: rng.randint(0, 5) for s in SKILLS},
            order=i,
        )
        for i in range(agents)
    ]
    waiting = [
        Caller(f"caller-{i}", rng.uniform(0, 1000), priority=rng.choice((0, 0, 0, 1)))
        for i in range(callers)
    ]
    t0 = time.perf_counter_ns()
    # Every agent busy but one tenth: the realistic steady state of a loaded centre.
    book = QueueBook.build(rules, waiting, people[: agents // 10])
    build_ms = (time.perf_counter_ns() - t0) / 1e6
    book.decide(now=1000.0)
    samples: list[float] = []
    now = 1000.0
    for n in range(decisions):
        now += 0.5
        agent = people[rng.randrange(agents)]
        t = time.perf_counter_ns()
        book.add_agent(AgentInfo(agent.id, now, now, agent.skills, agent.order))
        book.add_caller(Caller(f"new-{n}", now))
        offers = book.decide(now)
        samples.append((time.perf_counter_ns() - t) / 1e6)
        if not offers:
            book.remove_agent(agent.id)
    samples.sort()
    p99 = samples[int(len(samples) * 0.99) - 1]
    print(
        f"strategy={strategy.value:<12} agents={agents} waiting={book.waiting} "
        f"build_ms={build_ms:.1f} decide_median_ms={statistics.median(samples):.4f} "
        f"decide_p99_ms={p99:.4f} max_ms={samples[-1]:.3f}"
    )


def fanout(args: argparse.Namespace) -> None:
    import console_fanout  # bench/ is on sys.path when this file runs as a script

    args.clients = args.consoles
    asyncio.run(console_fanout.bench(args))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--section", choices=("all", "acd", "index", "fanout"), default="all")
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--callers", type=int, default=10_000)
    parser.add_argument("--decisions", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--index-cycles", type=int, default=300)
    parser.add_argument("--consoles", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between updates")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--deflate", action="store_true")
    args = parser.parse_args()
    args.profile = None
    if args.section in ("all", "acd"):
        print("== ACD decision")
        for strategy in Strategy:
            run(strategy, args.agents, args.callers, args.decisions, args.seed)
    if args.section in ("all", "index"):
        import acd_index  # bench/ is on sys.path when this file runs as a script

        print("== ACD index against the database")
        asyncio.run(acd_index.bench(args))
    if args.section in ("all", "fanout"):
        print("== console fan-out")
        fanout(args)


if __name__ == "__main__":
    main()
