"""Bus throughput and latency: outbox -> relay -> Celery -> handler, end to end.

    python bench/bus_throughput.py                       # embedded, redis, rabbitmq
    python bench/bus_throughput.py --only redis --events 50000

Per configuration it runs two phases against a fresh database:

* throughput: publish --events events in transactions of --tx events, as fast as one
  publisher (or --publishers) can, and count events handled per second from the first event's
  `created_at` to the last delivery's `done_at`;
* latency: offer --rate events/s for --seconds seconds, one event per transaction (the
  API's shape), then read back per event `done_at - created_at` (both stamped in the database
  rows) and `done_at - commit`, where `commit` is the wall-clock time at which the publisher's
  COMMIT returned (kept in memory by this process, keyed by the payload's `seq`).

`done_at` is stamped when the handler returns, inside the batch transaction that commits a
little later (at most one batch's remaining run time): it is "handler ran", not "effect visible".

Configurations (this process always plays `huitong serve`: it publishes and runs a relay that
its own commits wake, as the API does; the relay writes Delivery rows and sends id chunks):

* embedded: SQLite file, memory:// broker, Celery worker in a thread of this process (what
  `huitong serve` does with the default broker);
* redis: PostgreSQL database `huitong_bench` (created and dropped here) + Redis db 15
  (flushed), `huitong worker` subprocess(es) with the prefork pool and, as in production,
  their own relay too (polling, since no local commit wakes it; --no-worker-relay turns it off);
* rabbitmq: the same with RabbitMQ, on a vhost `huitong_bench` created and deleted here (the
  test suite uses the default vhost and the same queue name).

The bench's Module (topic `bench.ping.sent`, subscriber `bench.pong`, which adds one audit
entry: a small realistic effect) is loaded by the workers through
HUITONG_EXTRA_MODULES=bench.bus_throughput:module with the repo root on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from comms.audit import service as audit
from comms.auth.principal import Principal
from comms.bus import Event, EventPayload, HandlerContext, SubscriberSet, publish
from comms.bus.models import Delivery, DeliveryStatus, OutboxEvent
from comms.db.tenancy import scoped_to, unscoped
from comms.modules import Module

ROOT = Path(__file__).resolve().parent.parent
MODULE_REF = "bench.bus_throughput:module"
SECRET = "bench-secret-key-that-is-long-enough-for-hs256"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "huitong_bench"
REDIS_URL = "redis://127.0.0.1:6379/15"
AMQP_VHOST = "huitong_bench"
AMQP_URL = f"amqp://guest:guest@127.0.0.1:5672/{AMQP_VHOST}"
SUBSCRIBER = "bench.pong"


# ---------------------------------------------------------------- the bench's module


class PingSent(EventPayload):
    topic: ClassVar[str] = "bench.ping.sent"
    version: ClassVar[int] = 1

    seq: int
    sent_at: float  # time.time() when the publisher built the event


subs = SubscriberSet("bench")


@subs.on(PingSent, name="pong")
async def pong(ctx: HandlerContext, event: Event[PingSent]) -> None:
    # BENCH_EFFECT=none measures the bus alone; the default adds one row, like most handlers.
    if os.environ.get("BENCH_EFFECT", "audit") == "audit":
        audit.record(
            ctx.session,
            Principal.system(event.tenant_id),
            "bench.pong",
            "bench_ping",
            event.payload.seq,
        )


module = Module(name="bench", topics=(PingSent,), subscribers=tuple(subs))


# ---------------------------------------------------------------- measuring


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile, q in [0, 100]."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * len(s) + 0.5) - 1))
    return s[k]


TICK = os.sysconf("SC_CLK_TCK")


def _procs() -> Iterator[tuple[int, int, float, str]]:
    """(pid, pgid, cpu seconds, cmdline) of every process we can read."""
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        rest = stat.rsplit(")", 1)[1].split()
        yield int(d.name), int(rest[2]), (int(rest[11]) + int(rest[12])) / TICK, cmd


@dataclass
class Cpu:
    """CPU seconds used by this process, the worker process groups and our PG backends."""

    worker_pgids: set[int] = field(default_factory=set)
    pg_db: str | None = None

    def sample(self) -> dict[str, float]:
        t = os.times()
        out = {"bench": t.user + t.system, "workers": 0.0, "pg": 0.0}
        for _pid, pgid, cpu, cmd in _procs():
            if pgid in self.worker_pgids:
                out["workers"] += cpu
            elif self.pg_db and cmd.startswith("postgres: ") and f" {self.pg_db} " in cmd:
                out["pg"] += cpu
        return out


def cpu_delta(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: b[k] - a[k] for k in a}


@dataclass
class Result:
    name: str
    setup: str
    events: int = 0
    published_per_s: float = 0.0
    handled_per_s: float = 0.0
    drain_s: float = 0.0
    thr_cpu: dict[str, float] = field(default_factory=dict)
    lat_cpu: dict[str, float] = field(default_factory=dict)
    lat_offered: float = 0.0
    lat_achieved: float = 0.0
    lat_events: int = 0
    created_p50: float = float("nan")
    created_p99: float = float("nan")
    commit_p50: float = float("nan")
    commit_p99: float = float("nan")
    commit_max: float = float("nan")
    relay_p50: float = float("nan")  # commit -> the relay's claim (Delivery.handed_at)
    relay_p99: float = float("nan")
    publish_behind: float = 0.0  # how much longer than planned the offered load took
    not_done: int = 0
    error: str = ""


# ---------------------------------------------------------------- database helpers


def _ts(dt: datetime) -> float:
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


async def max_outbox_id(hub: Any) -> int:
    async with hub.db.session() as s:
        unscoped(s)
        return int(await s.scalar(select(func.coalesce(func.max(OutboxEvent.id), 0))) or 0)


async def count_done(hub: Any, after_event: int) -> int:
    async with hub.db.session() as s:
        unscoped(s)
        n = await s.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(
                Delivery.event_id > after_event,
                Delivery.subscriber == SUBSCRIBER,
                Delivery.status == DeliveryStatus.DONE,
            )
        )
        return int(n or 0)


async def wait_done(hub: Any, after_event: int, n: int, within: float, label: str) -> int:
    deadline = time.monotonic() + within
    last_print = time.monotonic()
    done = 0
    while time.monotonic() < deadline:
        done = await count_done(hub, after_event)
        if done >= n:
            return done
        if time.monotonic() - last_print > 3:
            print(f"    {label}: {done}/{n} handled", file=sys.stderr, flush=True)
            last_print = time.monotonic()
        # Coarse: the figures come from the rows' timestamps, and each count costs the
        # database a scan that would compete with the workers.
        await asyncio.sleep(0.25)
    return done


async def rows_since(hub: Any, after_event: int) -> list[tuple[int, float, float, float | None]]:
    """(seq, created_at, handed_at, done_at) of the bench's deliveries after `after_event`."""
    async with hub.db.session() as s:
        unscoped(s)
        rows = (
            await s.execute(
                select(
                    OutboxEvent.payload,
                    OutboxEvent.created_at,
                    Delivery.handed_at,
                    Delivery.done_at,
                )
                .join(Delivery, Delivery.event_id == OutboxEvent.id)
                .where(OutboxEvent.id > after_event, Delivery.subscriber == SUBSCRIBER)
            )
        ).all()
    return [
        (p["seq"], _ts(c), _ts(h) if h else float("nan"), _ts(d) if d else None)
        for p, c, h, d in rows
    ]


async def publish_tx(hub: Any, tenant_id: uuid.UUID, seqs: range) -> float:
    """One transaction publishing one event per seq; returns the time its COMMIT returned."""
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        for seq in seqs:
            publish(s, PingSent.topic, PingSent(seq=seq, sent_at=time.time()))
        await s.commit()
    return time.time()


# ---------------------------------------------------------------- the two phases


async def warm_up(hub: Any, tenant_id: uuid.UUID, within: float = 60) -> None:
    """A few small transactions, so workers are up and every pool child has connected."""
    wm = await max_outbox_id(hub)
    for i in range(20):
        await publish_tx(hub, tenant_id, range(-1000 - i * 10, -1000 - i * 10 + 10))
        await asyncio.sleep(0.02)
    if await wait_done(hub, wm, 200, within, "warm-up") < 200:
        raise RuntimeError("warm-up events were not handled: are the workers running?")


async def throughput(
    hub: Any, tenant_id: uuid.UUID, args: argparse.Namespace, cpu: Cpu, res: Result
) -> None:
    n, tx = args.events, args.tx
    wm = await max_outbox_id(hub)
    batches = deque(range(start, min(start + tx, n)) for start in range(0, n, tx))

    async def publisher() -> None:
        while batches:
            await publish_tx(hub, tenant_id, batches.popleft())

    c0 = cpu.sample()
    t0 = time.time()
    await asyncio.gather(*(publisher() for _ in range(args.publishers)))
    t_pub = time.time()
    done = await wait_done(hub, wm, n, args.timeout, "throughput")
    res.thr_cpu = cpu_delta(c0, cpu.sample())
    rows = await rows_since(hub, wm)
    created = [c for _, c, _, _ in rows]
    finished = [d for *_, d in rows if d is not None]
    res.events = done
    res.published_per_s = n / (t_pub - t0)
    if finished:
        first, last = min(created), max(finished)
        res.handled_per_s = done / (last - first)
        res.drain_s = last - t_pub
    res.not_done += n - done


async def latency(
    hub: Any, tenant_id: uuid.UUID, args: argparse.Namespace, cpu: Cpu, res: Result
) -> None:
    n = int(args.rate * args.seconds)
    base = 10_000_000  # seqs distinct from the throughput phase's
    wm = await max_outbox_id(hub)
    commit_at: dict[int, float] = {}
    in_flight = asyncio.Semaphore(4)  # < pool_size: no overflow connect churn
    tasks: list[asyncio.Task[None]] = []

    async def one(seq: int) -> None:
        async with in_flight:
            commit_at[seq] = await publish_tx(hub, tenant_id, range(seq, seq + 1))

    c0 = cpu.sample()
    t0 = time.perf_counter() + 0.05
    for i in range(n):
        target = t0 + i / args.rate
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(base + i)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    done = await wait_done(hub, wm, n, max(30.0, args.timeout / 2), "latency")
    res.lat_cpu = cpu_delta(c0, cpu.sample())
    rows = await rows_since(hub, wm)
    by_created = [d - c for _, c, _, d in rows if d is not None]
    by_commit = [d - commit_at[q] for q, _, _, d in rows if d is not None and q in commit_at]
    relayed = [h - commit_at[q] for q, _, h, _ in rows if q in commit_at]
    res.lat_offered = args.rate
    res.lat_achieved = n / elapsed
    res.lat_events = done
    res.publish_behind = elapsed - n / args.rate
    res.created_p50, res.created_p99 = pct(by_created, 50), pct(by_created, 99)
    res.commit_p50, res.commit_p99 = pct(by_commit, 50), pct(by_commit, 99)
    res.commit_max = max(by_commit, default=float("nan"))
    res.relay_p50, res.relay_p99 = pct(relayed, 50), pct(relayed, 99)
    res.not_done += n - done


# ---------------------------------------------------------------- processes and services


def worker_env(settings: Any, args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUITONG_")}
    env.update(
        HUITONG_DATABASE_URL=settings.database_url,
        HUITONG_BROKER_URL=settings.broker_url,
        HUITONG_DATA_DIR=str(settings.data_dir),
        HUITONG_SECRET_KEY=SECRET,
        HUITONG_EXTRA_MODULES=MODULE_REF,
        HUITONG_LOG_LEVEL="WARNING",
        HUITONG_BUS_RELAY="true" if args.worker_relay else "false",
        HUITONG_WORKER_CONCURRENCY=str(args.concurrency),
        PYTHONPATH=os.pathsep.join(p for p in [str(ROOT), env.get("PYTHONPATH", "")] if p),
        BENCH_EFFECT=args.effect,
    )
    for key, value in args.set:
        env[f"HUITONG_{key.upper()}"] = value
    return env


def huitong_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "huitong"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "comms.cli"]


def start_workers(
    settings: Any, args: argparse.Namespace, logdir: Path
) -> list[tuple[subprocess.Popen[bytes], Path]]:
    procs = []
    for i in range(args.workers):
        log = logdir / f"worker-{i}.log"
        with log.open("wb") as out:
            p = subprocess.Popen(
                [
                    *huitong_cmd(),
                    "worker",
                    "--pool",
                    args.pool,
                    "--concurrency",
                    str(args.concurrency),
                ],
                env=worker_env(settings, args),
                cwd=str(logdir),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: we stop exactly what we start
            )
        procs.append((p, log))
    return procs


def stop_workers(procs: list[tuple[subprocess.Popen[bytes], Path]]) -> None:
    for p, _ in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    for p, log in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=5)
        # Pool children that outlived their parent (they share its process group).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        if p.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL) or os.environ.get(
            "BENCH_SHOW_WORKER_LOG"
        ):
            tail = log.read_text(errors="replace")[-3000:]
            print(f"    worker exited {p.returncode}; log tail:\n{tail}", file=sys.stderr)


async def pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def pg_url(query: str = "") -> str:
    url = make_url(PG_ADMIN).set(drivername="postgresql+asyncpg", database=PG_DB)
    if query:
        url = url.update_query_string(query)
    return url.render_as_string(hide_password=False)


def rabbitmqctl(*argv: str) -> bool:
    try:
        r = subprocess.run(["rabbitmqctl", *argv], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


# ---------------------------------------------------------------- one configuration


async def run_config(name: str, args: argparse.Namespace, tmp: Path) -> Result:
    from comms.db.migrate import upgrade
    from comms.hub import Hub
    from comms.modules import discover_modules
    from comms.settings import Settings
    from comms.tenants.service import create_tenant

    embedded = name == "embedded"
    if embedded:
        db_url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        broker = "memory://"
        setup = "SQLite + memory://, worker thread + relay in-process"
    else:
        db_url = pg_url(args.pg_query)
        broker = REDIS_URL if name == "redis" else AMQP_URL
        relays = "bench + worker relays" if args.worker_relay else "bench relay only"
        setup = (
            f"PostgreSQL + {name}, {args.workers} x `huitong worker --pool {args.pool} "
            f"--concurrency {args.concurrency}`, {relays}"
        )
    res = Result(name, setup)
    overrides: dict[str, Any] = {k.lower(): v for k, v in args.set}
    settings = Settings(
        database_url=db_url,
        broker_url=broker,
        data_dir=tmp,
        secret_key=SECRET,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        extra_modules="",
        log_level="WARNING",
        **overrides,
    )
    os.environ["BENCH_EFFECT"] = args.effect
    modules = [*discover_modules(), module]
    cpu = Cpu(pg_db=None if embedded else PG_DB)

    workers: list[tuple[subprocess.Popen[bytes], Path]] = []
    hub = None
    try:
        if not embedded:
            await pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
            await pg_admin(f'CREATE DATABASE "{PG_DB}"')
            if name == "redis":
                flush_redis(REDIS_URL)
            else:
                rabbitmqctl("delete_vhost", AMQP_VHOST)
                if not (
                    rabbitmqctl("add_vhost", AMQP_VHOST)
                    and rabbitmqctl("set_permissions", "-p", AMQP_VHOST, "guest", ".*", ".*", ".*")
                ):
                    raise RuntimeError(f"could not create RabbitMQ vhost {AMQP_VHOST!r}")
        await asyncio.to_thread(upgrade, db_url, modules)
        hub = Hub(settings, modules)
        await hub.start(relay=True, worker=embedded)
        async with hub.db.session() as s:
            new = await create_tenant(
                s, hub.credentials, "bench", "admin@bench.example.cn", "bench-password-1"
            )
        tenant_id = new.tenant.id
        if not embedded:
            workers = start_workers(settings, args, tmp)
            cpu.worker_pgids = {p.pid for p, _ in workers}
        print(f"  {name}: warming up", file=sys.stderr, flush=True)
        await warm_up(hub, tenant_id)
        print(f"  {name}: throughput, {args.events} events", file=sys.stderr, flush=True)
        await throughput(hub, tenant_id, args, cpu, res)
        print(
            f"  {name}: latency, {args.rate:g}/s for {args.seconds:g} s",
            file=sys.stderr,
            flush=True,
        )
        await latency(hub, tenant_id, args, cpu, res)
    except Exception as exc:
        res.error = f"{type(exc).__name__}: {exc}"
        print(f"  {name}: FAILED {res.error}", file=sys.stderr, flush=True)
    finally:
        stop_workers(workers)
        if hub is not None:
            await hub.stop()
        if not embedded:
            with contextlib.suppress(Exception):  # already reported if the service is down
                await pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
            with contextlib.suppress(Exception):
                if name == "redis":
                    flush_redis(REDIS_URL)
                else:
                    rabbitmqctl("delete_vhost", AMQP_VHOST)
    return res


# ---------------------------------------------------------------- report


def _cpu(c: dict[str, float], events: int) -> str:
    if not c or not events:
        return "-"
    k = events / 1000
    return f"{c['bench'] / k:.2f} / {c['workers'] / k:.2f} / {c['pg'] / k:.2f}"


def report(results: list[Result], args: argparse.Namespace) -> str:
    ms = 1000.0
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines = [
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, {mem:.0f} GiB RAM, "
        f"Python {sys.version.split()[0]}",
        f"events={args.events} tx={args.tx} publishers={args.publishers} "
        f"rate={args.rate:g}/s seconds={args.seconds:g} effect={args.effect} "
        f"workers={args.workers}x {args.pool} c={args.concurrency}"
        + ("" if args.worker_relay else " no-worker-relay")
        + "".join(f" {k}={v}" for k, v in args.set)
        + (f" pg-query={args.pg_query}" if args.pg_query else ""),
        "",
        "Throughput (events/s; CPU seconds per 1,000 events: bench process / worker processes / "
        "PostgreSQL backends)",
        "",
        "| config | published/s | handled/s | drain after last commit | CPU bench/workers/pg |",
        "|---|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.published_per_s:,.0f} | {r.handled_per_s:,.0f} | "
            f"{r.drain_s:.2f} s | {_cpu(r.thr_cpu, r.events)} |"
        )
    lines += [
        "",
        "Latency at a fixed offered rate (one event per transaction)",
        "",
        "| config | offered/s | achieved/s | created→done p50 | p99 | commit→done p50 | p99 | "
        "max | commit→claimed p50 | p99 | not handled | CPU bench/workers/pg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.lat_offered:g} | {r.lat_achieved:,.0f} | "
            f"{r.created_p50 * ms:.1f} ms | {r.created_p99 * ms:.1f} ms | "
            f"{r.commit_p50 * ms:.1f} ms | {r.commit_p99 * ms:.1f} ms | "
            f"{r.commit_max * ms:.1f} ms | {r.relay_p50 * ms:.1f} ms | {r.relay_p99 * ms:.1f} ms | "
            f"{r.not_done} | {_cpu(r.lat_cpu, r.lat_events)} |"
        )
    lines.append("")
    for r in results:
        lines.append(f"- {r.name}: {r.setup}" + (f" — ERROR {r.error}" if r.error else ""))
        if r.lat_offered and r.lat_achieved < 0.95 * r.lat_offered:
            lines.append(
                f"  - {r.name}: the publisher could not keep up with {r.lat_offered:g}/s (fell "
                f"{r.publish_behind:.1f} s behind schedule): this configuration is saturated "
                "at that rate, and its commit stamps are late (event loop busy), so read "
                "created→done."
            )
    lines += [
        "",
        "created→done: Delivery.done_at - OutboxEvent.created_at (both stamped in the rows; "
        "created_at is set just before the INSERT, so it includes the publishing commit). "
        "commit→done: done_at - the moment the publisher's COMMIT returned. commit→claimed: "
        "Delivery.handed_at (stamped when the relay pass starts, so it can precede the "
        "publisher's own view of its commit) - commit. done_at is stamped when the handler "
        "returns, before its batch transaction commits.",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--events", type=int, default=20_000, help="throughput phase events")
    p.add_argument("--tx", type=int, default=100, help="events per publishing transaction")
    p.add_argument("--publishers", type=int, default=1, help="concurrent publishing tasks")
    p.add_argument("--rate", type=float, default=500, help="latency phase events/s")
    p.add_argument("--seconds", type=float, default=10, help="latency phase duration")
    p.add_argument("--only", default="embedded,redis,rabbitmq", help="comma-separated configs")
    p.add_argument("--workers", type=int, default=1, help="`huitong worker` processes")
    p.add_argument("--concurrency", type=int, default=2, help="pool size per worker")
    p.add_argument(
        "--pool", choices=["prefork", "solo", "threads"], default="prefork", help="worker pool"
    )
    p.add_argument(
        "--no-worker-relay",
        dest="worker_relay",
        action="store_false",
        help="workers run no relay (only this process's relay, woken by its commits)",
    )
    p.add_argument(
        "--pg-query",
        default="",
        help="query string added to the PostgreSQL URL of this process and the workers, "
        "e.g. prepared_statement_cache_size=500",
    )
    p.add_argument("--effect", choices=["audit", "none"], default="audit", help="handler effect")
    p.add_argument("--timeout", type=float, default=120, help="max wait for the backlog")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        type=lambda kv: tuple(kv.split("=", 1)),
        metavar="KEY=VALUE",
        help="a Settings field for this process and the workers, e.g. bus_batch_size=1000",
    )
    args = p.parse_args(argv)
    args.only = [c.strip() for c in args.only.split(",") if c.strip()]
    unknown = set(args.only) - {"embedded", "redis", "rabbitmq"}
    if unknown:
        p.error(f"unknown config(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = []
    started = time.monotonic()
    for name in args.only:
        tmp = Path(tempfile.mkdtemp(prefix=f"huitong-bench-{name}-"))
        try:
            results.append(asyncio.run(run_config(name, args, tmp)))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(report(results, args))
    print(f"\n(total {time.monotonic() - started:.0f} s)")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
