"""The Stasis app's ACD index against a database: what one offer costs, and what a rebuild costs.

    python bench/acd.py --section index [--agents 1000] [--callers 10000] [--index-cycles 300]

Method: a fresh SQLite file (migrations), one tenant, one longest-idle queue, N agents (a tenth
available) and M waiting queue calls, bulk-inserted. `AcdIndex.rebuild` is timed (start-up,
reconnect, the periodic check; before this index the Stasis app paid a reload like it on every
offer). Then each cycle, untimed: one agent goes available and one caller enters (as the API
and the Stasis app commit them); timed: `AcdIndex.sync` (the delta queries) + `decide` for the
queue, which is what an offer now costs before its row check. Median and p99 per cycle.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def bench(args: argparse.Namespace) -> None:
    from comms.auth.models import Role, User
    from comms.db.base import utcnow
    from comms.db.engine import Database
    from comms.db.migrate import upgrade
    from comms.db.tenancy import unscoped
    from comms.modules import discover_modules
    from comms.tenants.models import Tenant
    from telephony.callcentre.acd_index import AcdIndex
    from telephony.callcentre.models import Agent, Membership, Queue, QueueCall, Strategy
    from telephony.callcentre.state import AgentState, EntryState

    data = Path(tempfile.mkdtemp(prefix="huitong-acd-"))
    db_url = f"sqlite+aiosqlite:///{data / 'bench.db'}"
    await asyncio.to_thread(upgrade, db_url, discover_modules())
    db = Database(db_url)
    tenant, queue = uuid.uuid4(), uuid.uuid4()
    now = utcnow()
    users = [uuid.uuid4() for _ in range(args.agents)]
    agents = [uuid.uuid4() for _ in range(args.agents)]
    free = args.agents // 10
    async with db.session() as s:
        unscoped(s)
        s.add(Tenant(id=tenant, name="bench-acd"))
        s.add(Queue(id=queue, tenant_id=tenant, name="q", strategy=Strategy.LONGEST_IDLE))
        await s.flush()
        await s.execute(
            insert(User),
            [
                {"id": u, "tenant_id": tenant, "email": f"a{i}@acd.bench", "name": f"a{i}",
                 "password_hash": "-", "role": Role.AGENT}
                for i, u in enumerate(users)
            ],
        )  # fmt: skip
        await s.execute(
            insert(Agent),
            [
                {"id": a, "tenant_id": tenant, "user_id": users[i], "name": f"a{i}",
                 "endpoint": f"PJSIP/a{i}", "skills": {},
                 "state": AgentState.AVAILABLE if i < free else AgentState.ON_CALL,
                 "state_since": now - timedelta(hours=1),
                 "idle_since": now - timedelta(seconds=i) if i < free else None}
                for i, a in enumerate(agents)
            ],
        )  # fmt: skip
        await s.execute(
            insert(Membership),
            [{"tenant_id": tenant, "agent_id": a, "queue_id": queue} for a in agents],
        )
        await s.execute(
            insert(QueueCall),
            [
                {"tenant_id": tenant, "queue_id": queue, "channel_id": f"c{i}",
                 "caller": f"+86137{i:08d}", "state": EntryState.WAITING,
                 "entered_at": now - timedelta(hours=3) + timedelta(seconds=i / 2),
                 "extra": {}}
                for i in range(args.callers)
            ],
        )  # fmt: skip
        await s.commit()
    index = AcdIndex(recheck_seconds=1e9)
    rebuilds: list[float] = []
    for _ in range(3):
        async with db.session() as s:
            unscoped(s)
            t = time.perf_counter()
            await index.rebuild(s, utcnow())
            rebuilds.append((time.perf_counter() - t) * 1000)
    index.decide(queue, utcnow())  # the agents free at start take the oldest callers
    busy = agents[free:]
    samples: list[float] = []
    offered = 0
    for n in range(args.index_cycles):
        async with db.session() as s:
            unscoped(s)
            agent = await s.get(Agent, busy[n % len(busy)])
            assert agent is not None
            if agent.state is not AgentState.AVAILABLE:
                agent.state = AgentState.AVAILABLE
                agent.state_since = agent.idle_since = utcnow()
            s.add(
                QueueCall(
                    tenant_id=tenant, queue_id=queue, channel_id=f"n{n}", caller="+8613800000000",
                    state=EntryState.WAITING, entered_at=utcnow(), extra={},
                )
            )  # fmt: skip
            await s.commit()
        async with db.session() as s:
            unscoped(s)
            t = time.perf_counter()
            await index.sync(s, utcnow())
            offers = index.decide(queue, utcnow())
            samples.append((time.perf_counter() - t) * 1000)
            offered += len(offers)
    await db.dispose()
    print(
        f"agents={args.agents} waiting={args.callers} "
        f"rebuild_ms={'/'.join(f'{r:.0f}' for r in rebuilds)} "
        f"offer_median_ms={statistics.median(samples):.2f} "
        f"offer_p99_ms={pct(samples, 99):.2f} offers={offered}/{args.index_cycles} "
        f"rebuilds={index.rebuilds}"
    )
