"""From a business event to a notice, part by part.

    python bench/event_to_notice.py stock                  # PostgreSQL, 20 writers, one item
    python bench/event_to_notice.py stock --writers 20 --moves 200

Parts:

* stock (erp): --writers concurrent writers, each its own connection and one transaction per
  movement, apply random receipts and issues to ONE item in one warehouse through
  `erp.stock.ledger.change` (the conditional UPDATE every stock route uses), on a fresh
  PostgreSQL database `huitong_bench_stock` (created, migrated and dropped here). The item has
  a reorder point, so the low-stock flag and its events are part of the work. Printed:
  movements committed per second, refusals (an issue that would take stock below zero is
  refused, not clamped), latency per movement (p50/p99), and the checks that make the figure
  honest: the sum of the ledger equals on_hand, no movement left on_hand below zero, and
  erp.stock.low / erp.stock.replenished alternate (one notice per dip).

* latency (erp -> notifications -> comms): REAL `erp.order.confirmed` events. Orders are
  created as drafts before the clock starts (one per event, each for its own customer number,
  lines spread over 50 items so confirms do not queue on one stock row); then, at the offered
  rate, each order is confirmed by `erp.orders.service.move_order` in its own transaction (the
  reservation, the state change and the event commit together). A notifications rule (urgent,
  "the contact on the event", SMS then email) turns the event into a notice and queues the SMS
  through comms' messages service; comms' sender submits it to smpp34's SMSC, which runs in
  a separate process. Latency = SMSC's arrival stamp - the moment the confirming COMMIT
  returned (both wall clock, same machine). PostgreSQL database `huitong_notice_bench`, Redis
  db 11 (BENCH_PG_DB / BENCH_REDIS_URL), --workers x `huitong worker --pool prefork`
  subprocesses. The confirms run in --publishers processes of their own (ERP front ends, as
  API processes would; --sessions transactions in flight each; one offered schedule dealt
  round-robin over them; they run no relay); this process only relays (`serve` with the
  relay, no worker), so a pile-up of confirms cannot starve the relay. The relay learns of
  their commits by its poll (--poll-interval) or by an earlier pass; achieved/s is the
  number of confirms over the time from the first offered instant to the last COMMIT.
  Hops (p50, rows' own timestamps): relay = event created -> handed to the broker; to notice =
  handed -> notice created (broker, worker queue, rule handler); to sender = SMS queued ->
  claimed by comms' sender; to SMSC = claimed -> submit_sm arrived. CPU per SMS, by process,
  from /proc over the offer (start to last arrival): the publisher processes, this process
  (the relay), the worker trees, the PostgreSQL backends connected to the bench database
  (not the server's shared background processes; those serving the publishers, known by
  their application_name, apart from the rest) and the SMSC, net of each one's idle burn
  measured for 3 s before the offers; printed only when every SMS arrived (a backlog's work
  is half done), except the publishers' share and their backends', complete once every
  confirm has returned.
  The server here runs without autovacuum: unless `--autovacuum none`, a stand-in on its own
  connection VACUUM (ANALYZE)s the tables past autovacuum's thresholds once the drafts and the
  warm-up are in, then ANALYZEs past the thresholds every second (its backend counts in "PG
  other"); without statistics the confirm's order lookup walked every order of the tenant.
  `bench/notice_cost.py` splits the same path by part, in one process.

    python bench/event_to_notice.py                        # both parts, latency at 10 and 500/s
    python bench/event_to_notice.py latency --rates 10,500 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.proc_cpu import reference_ms  # noqa: E402
from comms.bus.loop import run as run_loop  # noqa: E402
from comms.bus.models import OutboxEvent  # noqa: E402
from comms.bus.publish import TOPICS_KEY  # noqa: E402
from comms.db.engine import Database  # noqa: E402
from comms.db.migrate import upgrade  # noqa: E402
from comms.db.tenancy import scoped_to  # noqa: E402
from comms.hub import Hub  # noqa: E402
from comms.settings import Settings  # noqa: E402
from comms.tenants.service import create_tenant  # noqa: E402
from erp.stock import ledger  # noqa: E402
from erp.stock.models import Item, MovementKind, StockLevel, StockMovement, Warehouse  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = os.environ.get("BENCH_STOCK_DB", "huitong_bench_stock")
PG_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}"
SECRET = "bench-secret-key-that-is-long-enough-for-hs256"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _writer(
    db: Database, tenant_id: uuid.UUID, item_id: uuid.UUID, wh_id: uuid.UUID, n: int, seed: int
) -> tuple[int, int, list[float]]:
    """(movements committed, refused, seconds per attempt)."""
    rnd = random.Random(seed)
    done = refused = 0
    took: list[float] = []
    async with db.session() as s:
        scoped_to(s, tenant_id)
        item = await s.get(Item, item_id)
        wh = await s.get(Warehouse, wh_id)
        await s.commit()
    assert item is not None and wh is not None
    for _ in range(n):
        delta = rnd.choice([5, 3, -2, -3, -4, 1, -1])
        kind = MovementKind.RECEIPT if delta > 0 else MovementKind.ISSUE
        t0 = time.perf_counter()
        async with db.session() as s:
            scoped_to(s, tenant_id)
            try:
                await ledger.change(s, item, wh, delta, kind=kind, reason=f"bench {seed}")
            except ledger.NotEnoughStock:
                await s.rollback()
                refused += 1
            else:
                await s.commit()
                done += 1
        took.append(time.perf_counter() - t0)
    return done, refused, took


async def stock(args: argparse.Namespace) -> int:
    await _admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{PG_DB}"')
    tmp = Path(tempfile.mkdtemp(prefix="huitong-bench-"))
    try:
        settings = Settings(database_url=PG_URL, data_dir=tmp, secret_key=SECRET)  # type: ignore[arg-type]
        hub = Hub(settings)
        await asyncio.to_thread(upgrade, PG_URL, hub.modules)
        async with hub.db.session() as s:
            made = await create_tenant(s, hub.credentials, "bench", "bench@bench.cn", "password-1")
        tid = made.tenant.id
        async with hub.db.session() as s:
            scoped_to(s, tid)
            item = Item(sku="BENCH-1", name="bench item", reorder_point=20, reorder_qty=100)
            wh = Warehouse(code="BENCH", name="bench warehouse")
            s.add_all([item, wh])
            await s.flush()
            await ledger.change(s, item, wh, args.initial, kind=MovementKind.RECEIPT)
            await s.commit()
        db = Database(PG_URL, info={TOPICS_KEY: hub.topics}, pool_size=args.writers)
        t0 = time.perf_counter()
        results = await asyncio.gather(
            *(_writer(db, tid, item.id, wh.id, args.moves, n) for n in range(args.writers))
        )
        wall = time.perf_counter() - t0
        await db.dispose()
        async with hub.db.session() as s:
            scoped_to(s, tid)
            level = await s.scalar(select(StockLevel).where(StockLevel.item_id == item.id))
            ledger_sum = await s.scalar(
                select(func.sum(StockMovement.quantity)).where(StockMovement.item_id == item.id)
            )
            below = await s.scalar(
                select(func.count()).select_from(StockMovement).where(StockMovement.after < 0)
            )
            topics = list(
                await s.scalars(
                    select(OutboxEvent.topic)
                    .where(OutboxEvent.topic.in_(["erp.stock.low", "erp.stock.replenished"]))
                    .order_by(OutboxEvent.id)
                )
            )
        await hub.stop()
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    assert level is not None
    done = sum(r[0] for r in results)
    refused = sum(r[1] for r in results)
    lat = sorted(x for r in results for x in r[2])
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    alternate = all(a != b for a, b in itertools.pairwise(topics))
    print(f"stock: {args.writers} writers x {args.moves} movements on one item (PostgreSQL)")
    print(f"  committed movements   {done}  ({done / wall:,.0f}/s over {wall:.2f} s)")
    print(f"  refused (would go <0) {refused}")
    print(f"  attempts/s            {(done + refused) / wall:,.0f}")
    print(f"  latency p50 / p99     {statistics.median(lat) * 1000:.1f} / {p99 * 1000:.1f} ms")
    print(f"  on_hand {level.on_hand}  ledger sum {ledger_sum}  initial {args.initial}")
    print(f"  low/replenished notices {len(topics)}, alternating: {alternate}")
    ok = level.on_hand == ledger_sum and below == 0 and level.on_hand >= 0 and alternate
    print("  no lost update, never negative:", "OK" if ok else "FAILED")
    return 0 if ok else 1


ORDER_NO = re.compile(rb"SO-(\d+)")
N_ITEMS = 50


def _smsc_proc(port_q: Any, stamps: Any, stop: Any) -> None:
    """The SMSC in its own process: stamps each submit_sm's arrival by the order number."""
    from bench.notice_latency import Smsc

    async def run() -> None:
        smsc = Smsc(ORDER_NO)
        await smsc.start()
        port_q.put(smsc.port)
        sent = 0
        while not stop.is_set():
            await asyncio.sleep(0.05)
            new = list(smsc.arrived.items())[sent:]
            sent += len(new)
            for item in new:
                stamps.put(item)
        await smsc.stop()

    asyncio.run(run())


async def _confirm(db: Database, tid: uuid.UUID, order_id: uuid.UUID) -> float:
    from erp.orders import service as orders
    from erp.orders.models import OrderStatus

    async with db.session() as s:
        scoped_to(s, tid)
        order = await orders.get_order(s, order_id)
        await orders.move_order(s, order, OrderStatus.CONFIRMED, reason="bench")
        await s.commit()
    return time.time()


def _publisher_proc(db_url: str, tid: uuid.UUID, sessions: int, cmds: Any, done: Any) -> None:
    """An ERP front end in its own process: confirms the orders it is given, each at its
    offered instant (wall clock), with at most `sessions` transactions in flight; reports
    when each one's COMMIT returned. It runs no relay (the bench process relays)."""
    from bench import notice_latency as nl
    from comms.bus.topics import TopicRegistry
    from comms.modules import discover_modules

    async def run() -> None:
        modules = [*discover_modules(), nl.module]
        topics = TopicRegistry(t for m in modules for t in m.topics)
        db = Database(
            db_url,
            info={TOPICS_KEY: topics},
            pool_size=sessions,
            connect_args={"server_settings": {"application_name": PUBLISHER_APP}},
        )
        done.put(("ready", os.getpid()))
        while (cmd := await asyncio.to_thread(cmds.get)) is not None:
            plan: list[tuple[float, int, uuid.UUID]] = cmd
            gate = asyncio.Semaphore(sessions)
            commit_at: dict[int, float] = {}

            async def one(
                number: int, oid: uuid.UUID, gate: asyncio.Semaphore, into: dict[int, float]
            ) -> None:
                async with gate:
                    into[number] = await _confirm(db, tid, oid)

            tasks = []
            for at, number, oid in plan:
                delay = at - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(number, oid, gate, commit_at)))
            await asyncio.gather(*tasks)
            done.put(("done", commit_at))
        await db.dispose()

    run_loop(run())  # uvloop, as uvicorn runs the API processes it stands for


# Where the server runs without autovacuum (this machine's does), a fresh database is planned
# as if empty: measured at 08:12, get_order's generic plan walked ix_erp_orders_tenant_id past
# every order of the tenant (2,059 rows removed by the filter per confirm) instead of the
# primary key, and the worker's lookups read 60-170 rows per event. A production server's
# autovacuum analyses; so does this stand-in (sms_throughput's thresholds, every table):
# VACUUM (ANALYZE) before the clock starts, ANALYZE every STAND_IN_EVERY s after, on a connection
# to the bench database whose backend's CPU is counted with "PG other".
STAND_IN_EVERY = 1.0  # autovacuum looks once a minute, at tables that grew by 10 %; runs last
# seconds, in which the tables grow from a few rows to thousands.


async def _stand_in(dsn: str, stop: asyncio.Event) -> dict[str, int]:
    """VACUUM (ANALYZE) / ANALYZE each table past autovacuum's default thresholds, then only
    ANALYZE (cheap on these small tables; VACUUM each second cost more than it saved)."""
    from bench.sms_throughput import (
        ANALYZE_SCALE,
        ANALYZE_THRESHOLD,
        VACUUM_INSERT_SCALE,
        VACUUM_INSERT_THRESHOLD,
        VACUUM_SCALE,
        VACUUM_THRESHOLD,
    )

    done: dict[str, int] = {"vacuum": 0, "analyze": 0}
    conn = await asyncpg.connect(dsn)
    vacuum = True
    try:
        while True:
            rows = await conn.fetch(
                """SELECT s.relname, c.reltuples, s.n_dead_tup, s.n_ins_since_vacuum,
                          s.n_mod_since_analyze
                   FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"""
            )
            for r in rows:
                n = max(float(r["reltuples"]), 0.0)  # -1: never vacuumed nor analysed
                name = r["relname"]
                if vacuum and (
                    r["n_dead_tup"] > VACUUM_THRESHOLD + VACUUM_SCALE * n
                    or r["n_ins_since_vacuum"] > VACUUM_INSERT_THRESHOLD + VACUUM_INSERT_SCALE * n
                ):
                    await conn.execute(f'VACUUM (ANALYZE) "{name}"')
                    done["vacuum"] += 1
                elif r["n_mod_since_analyze"] > ANALYZE_THRESHOLD + ANALYZE_SCALE * n:
                    await conn.execute(f'ANALYZE "{name}"')
                    done["analyze"] += 1
            vacuum = False
            try:
                await asyncio.wait_for(stop.wait(), STAND_IN_EVERY)
                return done
            except TimeoutError:
                pass
    finally:
        await conn.close()


CPU_GROUPS = ("publisher", "relay", "worker", "PG for publisher", "PG other", "SMSC")
PUBLISHER_APP = "e2n-publisher"  # application_name of the publishers' connections


class Pids:
    """Who to sample: publisher processes, worker trees, the SMSC."""

    def __init__(self, publishers: list[int], workers: list[int], smsc: int) -> None:
        self.publishers, self.workers, self.smsc = publishers, workers, smsc


async def _cpu(pids: Pids) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the publisher processes, this process (the relay), the worker
    trees, the PostgreSQL backends connected to the bench database, and the SMSC process."""
    from bench import notice_latency as nl
    from bench.proc_cpu import sample, tree

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        rows = await conn.fetch(
            "SELECT pid, application_name FROM pg_stat_activity WHERE datname = $1", nl.PG_DB
        )
    finally:
        await conn.close()
    return {
        "publisher": sample(pids.publishers),
        "relay": sample([os.getpid()]),
        "worker": sample(tree(pids.workers), pids.workers),
        "PG for publisher": sample(r[0] for r in rows if r[1] == PUBLISHER_APP),
        "PG other": sample(r[0] for r in rows if r[1] != PUBLISHER_APP),
        "SMSC": sample([pids.smsc]),
    }


async def _offer_orders(
    hub: Any,
    publishers: list[tuple[Any, Any]],
    orders: list[tuple[int, uuid.UUID]],
    rate: float,
    arrived: dict[int, float],
    pull: Any,
    pids: Pids,
    idle: dict[str, float] | None = None,
) -> dict[str, Any]:
    from bench.notice_latency import pct, stages
    from bench.proc_cpu import spent

    started = datetime.now(UTC)
    cpu0, w0 = await _cpu(pids), time.perf_counter()
    # One schedule for all publishers (order i at t0 + i/rate), dealt round-robin, as a load
    # balancer spreads users' requests over the API processes.
    t0 = time.time() + 0.2
    n_pub = len(publishers)
    for k, (cmds, _) in enumerate(publishers):
        cmds.put(
            [(t0 + i / rate, num, oid) for i, (num, oid) in enumerate(orders) if i % n_pub == k]
        )
    commit_at: dict[int, float] = {}
    for _, done in publishers:
        kind, got = await asyncio.to_thread(done.get)
        assert kind == "done", kind
        commit_at.update(got)
    achieved = len(orders) / (max(commit_at.values()) - t0)
    deadline = time.monotonic() + 60 + len(orders) / 50
    while time.monotonic() < deadline:
        pull()
        if all(n in arrived for n, _ in orders):
            break
        await asyncio.sleep(0.05)
    cpu1, wall = await _cpu(pids), time.perf_counter() - w0
    lat = [arrived[n] - c for n, c in commit_at.items() if n in arrived]
    # Net of what the processes burn idle (relay polls, broker heartbeats) over the same time;
    # none when SMS are still queued (a backlog's work is neither all done nor all undone).
    idle = idle or {}
    cpu = {
        g: (spent(cpu0[g], cpu1[g]) - idle.get(g, 0.0) * wall) * 1000 / len(lat)
        if len(lat) == len(orders)
        else float("nan")
        for g in CPU_GROUPS
    }
    # The publishers' own share is known even with a backlog: their work is all done.
    for g in ("publisher", "PG for publisher"):
        cpu[g] = (spent(cpu0[g], cpu1[g]) - idle.get(g, 0.0) * wall) * 1000 / len(orders)
    hops = await stages(hub, started, arrived, _number)
    return {
        "cpu": cpu,
        "hops": hops,
        "load": os.getloadavg()[0],
        "offered": rate,
        "achieved": achieved,
        "events": len(orders),
        "at_smsc": len(lat),
        "p50": pct(lat, 50) * 1000,
        "p99": pct(lat, 99) * 1000,
        "max": max(lat, default=float("nan")) * 1000,
    }


def _number(payload: dict[str, Any]) -> int | None:
    m = ORDER_NO.search(str(payload.get("number", "")).encode())
    return int(m.group(1)) if m else None


async def latency(args: argparse.Namespace) -> int:
    """ERP commit -> SMS at the SMSC; see the module docstring."""
    import multiprocessing as mp
    import queue as queue_mod

    import redis

    from bench import notice_latency as nl
    from bench.proc_cpu import spent
    from comms.modules import discover_modules
    from erp.orders import service as orders
    from erp.orders.schemas import OrderIn
    from notifications import service as notif
    from notifications.schemas import RuleIn

    ctx = mp.get_context("spawn")
    port_q, stamps, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    smsc_p = ctx.Process(target=_smsc_proc, args=(port_q, stamps, stop), daemon=True)
    smsc_p.start()
    port = port_q.get(timeout=30)
    arrived: dict[int, float] = {}

    def pull() -> None:
        while True:
            try:
                n, at = stamps.get_nowait()
            except queue_mod.Empty:
                return
            arrived.setdefault(n, at)

    tmp = Path(tempfile.mkdtemp(prefix="e2n-bench-"))
    db_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{nl.PG_DB}"
    smpp_url = f"smpp://esme:secret@127.0.0.1:{port}?source_addr=HUITONG&window=100&tps=5000"
    redis.Redis.from_url(nl.REDIS_URL).flushdb()
    await _admin(f'DROP DATABASE IF EXISTS "{nl.PG_DB}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{nl.PG_DB}"')
    modules = [*discover_modules(), nl.module]
    await asyncio.to_thread(upgrade, db_url, modules)
    settings = Settings(
        database_url=db_url,
        broker_url=nl.REDIS_URL,
        data_dir=tmp,
        secret_key=SECRET,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        extra_modules="",
        log_level="WARNING",
        sms_provider="smpp",
        smpp_url=smpp_url,
        bus_poll_interval=args.poll_interval,
    )
    hub = Hub(settings, modules)
    procs: list[Any] = []
    pub_procs: list[Any] = []
    publishers: list[tuple[Any, Any]] = []
    results = []
    idle: dict[str, float] = {}
    stop_in = asyncio.Event()
    stand_in: asyncio.Task[dict[str, int]] | None = None
    stand_in_done: dict[str, int] | None = None
    speed: list[float] = []
    try:
        await hub.start(relay=True, worker=False)
        async with hub.db.session() as s:
            made = await create_tenant(s, hub.credentials, "bench", "bench@bench.cn", "password-1")
        tid = made.tenant.id
        total = 20 + int(sum(r * args.seconds for r in args.rates))
        async with hub.db.session() as s:
            scoped_to(s, tid)
            await notif.create_rule(
                s,
                hub.topics,
                RuleIn.model_validate(
                    {
                        "name": "order confirmed",
                        "topic": "erp.order.confirmed",
                        "recipients": [{"kind": "contact"}],
                        "channels": ["sms", "email"],
                        "urgency": "urgent",
                    }
                ),
            )
            wh = Warehouse(code="BENCH", name="bench warehouse")
            items = [Item(sku=f"E2N-{i}", name=f"item {i}") for i in range(N_ITEMS)]
            s.add_all([wh, *items])
            await s.flush()
            for it in items:
                await ledger.change(s, it, wh, total, kind=MovementKind.RECEIPT)
            await s.commit()
        print(f"creating {total:,} draft orders", file=sys.stderr, flush=True)
        drafts: list[tuple[int, uuid.UUID]] = []
        for start in range(0, total, 500):
            async with hub.db.session() as s:
                scoped_to(s, tid)
                for i in range(start, min(total, start + 500)):
                    body = OrderIn.model_validate(
                        {
                            "contact_name": f"Customer {i}",
                            "contact_phone": f"+86139{i:08d}",
                            "lines": [
                                {
                                    "item_id": str(items[i % N_ITEMS].id),
                                    "warehouse_id": str(wh.id),
                                    "qty": 1,
                                    "unit_price": 990,
                                }
                            ],
                        }
                    )
                    o = await orders.create_order(s, body)
                    drafts.append((int(o.number.removeprefix("SO-")), o.id))
                await s.commit()
        procs = nl.start_workers(
            args, nl.worker_env(db_url, smpp_url, tmp, args.poll_interval), tmp
        )
        for _ in range(args.publishers):
            cmds, done = ctx.Queue(), ctx.Queue()
            p = ctx.Process(
                target=_publisher_proc,
                args=(db_url, tid, args.sessions, cmds, done),
                daemon=True,
            )
            p.start()
            pub_procs.append(p)
            publishers.append((cmds, done))
        pub_pids = [int(done.get(timeout=60)[1]) for _, done in publishers]
        print("warming up", file=sys.stderr, flush=True)
        assert smsc_p.pid is not None
        pids = Pids(pub_pids, [int(p.pid) for p in procs], smsc_p.pid)
        warm = await _offer_orders(hub, publishers, drafts[:20], 20, arrived, pull, pids)
        if warm["at_smsc"] < warm["events"]:
            raise RuntimeError(f"warm-up SMS did not reach the SMSC: {warm}")
        if args.autovacuum == "stand-in":
            # Started before the idle measurement, so its polling is part of the idle burn.
            stand_in = asyncio.create_task(_stand_in(db_url.replace("+asyncpg", ""), stop_in))
            await asyncio.sleep(2)  # its first pass: the drafts and the warm-up analysed
        a, idle_from = await _cpu(pids), time.perf_counter()
        await asyncio.sleep(3)
        b, idle_s = await _cpu(pids), time.perf_counter() - idle_from
        idle = {g: spent(a[g], b[g]) / idle_s for g in CPU_GROUPS}
        speed.append(reference_ms())
        at = 20
        for rate in args.rates:
            n = int(rate * args.seconds)
            print(f"confirming {rate:g} orders/s for {args.seconds:g} s", file=sys.stderr)
            results.append(
                await _offer_orders(
                    hub, publishers, drafts[at : at + n], rate, arrived, pull, pids, idle
                )
            )
            at += n
            await asyncio.sleep(1)
        speed.append(reference_ms())
    finally:
        stop_in.set()
        if stand_in is not None:
            stand_in_done = await stand_in
        for cmds, _ in publishers:
            cmds.put(None)
        for p in pub_procs:
            p.join(timeout=10)
        nl.stop_workers(procs, tmp)
        await hub.stop()
        stop.set()
        smsc_p.join(timeout=10)
        await _admin(f'DROP DATABASE IF EXISTS "{nl.PG_DB}" WITH (FORCE)')
    print(
        f"latency: erp.order.confirmed commit -> submit_sm at the SMSC (own process); "
        f"{args.publishers} publisher processes x {args.sessions} sessions; "
        f"PostgreSQL + Redis, {args.workers} x `huitong worker --pool prefork --concurrency "
        f"{args.concurrency}`, HUITONG_BUS_POLL_INTERVAL={args.poll_interval:g}"
    )
    from bench.notice_latency import HOPS

    print(
        "| offered/s | achieved/s | events | SMS at SMSC | p50 ms | p99 ms | max ms | "
        + " | ".join(f"{h} p50" for h in HOPS)
        + " | load |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * (len(HOPS) + 1))
    for r in results:
        print(
            f"| {r['offered']:g} | {r['achieved']:.0f} | {r['events']:,} | {r['at_smsc']:,} "
            f"| {r['p50']:.0f} | {r['p99']:.0f} | {r['max']:.0f} | "
            + " | ".join(f"{r['hops'][h]:.0f}" for h in HOPS)
            + f" | {r['load']:.1f} |"
        )
    print(
        "\nCPU ms per SMS, by process, from the offer's start to the last arrival, net of idle "
        "(ms/s idle: " + ", ".join(f"{g} {idle[g] * 1000:.0f}" for g in CPU_GROUPS) + "); "
        "nan = not all arrived within the wait"
    )
    print("| offered/s | " + " | ".join(CPU_GROUPS) + " | total |")
    print("|---:|" + "---:|" * (len(CPU_GROUPS) + 1))
    for r in results:
        cpu = r["cpu"]
        print(
            f"| {r['offered']:g} | "
            + " | ".join(f"{cpu[g]:.1f}" for g in CPU_GROUPS)
            + f" | {sum(cpu.values()):.1f} |"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores)")
    print(
        "machine speed: reference loop (bench/proc_cpu.py) "
        + " ms before, ".join(f"{ms:.0f}" for ms in speed)
        + " ms after the offers; lower is faster"
    )
    print(
        "  autovacuum stand-in:",
        "not run (--autovacuum none)"
        if stand_in_done is None
        else f"VACUUM (ANALYZE) {stand_in_done['vacuum']}x, ANALYZE {stand_in_done['analyze']}x",
    )
    lost = sum(r["events"] - r["at_smsc"] for r in results)
    # Not arrived within the wait (60 s + 1 s per 50 events) means behind, not lost: the
    # outbox and the messages table keep them until sent.
    print(
        "  every event's SMS at the SMSC within the wait:",
        "yes" if lost == 0 else f"NO ({lost} still on the way when the bench stopped waiting)",
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("parts", nargs="*", choices=["stock", "latency"], default=[])
    p.add_argument("--writers", type=int, default=20, help="stock: concurrent writers")
    p.add_argument("--moves", type=int, default=200, help="stock: movements per writer")
    p.add_argument("--initial", type=int, default=50, help="stock: received before the run")
    p.add_argument(
        "--rates",
        type=lambda v: [float(x) for x in v.split(",")],
        default=[10.0, 500.0],
        help="latency: events/s offered, one run each",
    )
    p.add_argument("--seconds", type=float, default=10.0, help="latency: seconds per rate")
    p.add_argument("--workers", type=int, default=1, help="latency: huitong worker processes")
    p.add_argument("--publishers", type=int, default=2, help="latency: processes confirming orders")
    p.add_argument(
        "--sessions", type=int, default=8, help="latency: transactions in flight per publisher"
    )
    p.add_argument("--concurrency", type=int, default=2, help="latency: pool size per worker")
    p.add_argument("--poll-interval", type=float, default=0.2, help="latency: bus poll (s)")
    p.add_argument(
        "--autovacuum",
        choices=["stand-in", "none"],
        default="stand-in",
        help="latency: stand in for the server's autovacuum (off on this machine), or not",
    )
    args = p.parse_args(argv)
    rc = 0
    for part in args.parts or ["stock", "latency"]:
        rc |= run_loop(stock(args) if part == "stock" else latency(args))
    return rc


if __name__ == "__main__":
    sys.exit(main())
