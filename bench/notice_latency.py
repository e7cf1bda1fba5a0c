"""Notice latency: a committed event to the SMS submitted at the SMSC, through the whole path.

    python bench/notice_latency.py                      # 10/s and 500/s, 10 s each
    python bench/notice_latency.py --rates 500 --seconds 20 --workers 2

Path measured: the publisher commits an `erp.benchstock.low` event (one event per
transaction, the ERP service's shape) -> relay -> Celery on Redis -> the notifications
handler matches a rule and queues an SMS through comms' messages service (outbox) -> relay ->
Celery -> comms' sender -> SMPP submit_sm -> smpp34's SMSC (an independent SMPP server,
in this process). Latency per event = time the SMSC received submit_sm - time the
publisher's COMMIT returned (both wall clock in this process). Two relay hops and two
Celery hops are inside it.

Setup: PostgreSQL database `huitong_notice_bench` (created and dropped here), Redis db 11
(flushed), N `huitong worker` subprocesses (prefork pool, their own relay, as in
production); this process plays `huitong serve` (publishes, relays what it commits). Each
event has its own contact number, so carrier caps (per recipient, duplicates) do not apply.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import smpp34

from comms.bus import EventPayload, publish
from comms.db.tenancy import scoped_to
from comms.modules import Module

ROOT = Path(__file__).resolve().parent.parent
MODULE_REF = "bench.notice_latency:module"
SECRET = "bench-secret-key-that-is-long-enough-for-hs256"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Overridable so that two runs on one machine do not drop each other's database or queue.
PG_DB = os.environ.get("BENCH_PG_DB", "huitong_notice_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
SEQ = re.compile(rb"#(\d+)")


class BenchStockLow(EventPayload):
    """Shaped like erp.stock.low; its own name so the real ERP topic never clashes."""

    topic: ClassVar[str] = "erp.benchstock.low"
    version: ClassVar[int] = 1

    seq: int
    sku: str
    on_hand: int
    contact_phone: str
    summary: str


module = Module(name="bench_notice", topics=(BenchStockLow,))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, min(len(s) - 1, round(q / 100 * len(s) + 0.5) - 1))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Smsc:
    """smpp34's server; stamps the arrival of each submit_sm by the `#seq` in its text."""

    def __init__(self, seq: re.Pattern[bytes] = SEQ) -> None:
        self.seq = seq
        self.port = free_port()
        self.server = smpp34.Server("127.0.0.1", self.port, system_id="BENCHSMSC")
        self.arrived: dict[int, float] = {}
        self.submits = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.server.start()
        self._task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        while True:
            ev = await self.server.next()
            if isinstance(ev, smpp34.Esme | smpp34.Unbound):
                continue
            now = time.time()
            self.submits += 1
            m = self.seq.search(bytes(ev.short_message))
            if m:
                self.arrived.setdefault(int(m.group(1)), now)
            ev.accept(str(self.submits))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.server.stop()


async def pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def worker_env(db_url: str, smpp_url: str, tmp: Path, poll: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUITONG_")}
    env.update(
        HUITONG_DATABASE_URL=db_url,
        HUITONG_BROKER_URL=REDIS_URL,
        HUITONG_DATA_DIR=str(tmp),
        HUITONG_SECRET_KEY=SECRET,
        HUITONG_EXTRA_MODULES=MODULE_REF,
        HUITONG_LOG_LEVEL="WARNING",
        HUITONG_SMS_PROVIDER="smpp",
        HUITONG_SMPP_URL=smpp_url,
        HUITONG_BUS_POLL_INTERVAL=str(poll),
        PYTHONPATH=os.pathsep.join(p for p in [str(ROOT), env.get("PYTHONPATH", "")] if p),
    )
    return env


def start_workers(args: argparse.Namespace, env: dict[str, str], tmp: Path) -> list[Any]:
    exe = Path(sys.executable).parent / "huitong"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "comms.cli"]
    procs = []
    for i in range(args.workers):
        with (tmp / f"worker-{i}.log").open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [*cmd, "worker", "--pool", "prefork", "--concurrency", str(args.concurrency)],
                    env=env,
                    cwd=str(tmp),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    return procs


def stop_workers(procs: list[Any], tmp: Path) -> None:
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    for i, p in enumerate(procs):
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
        if p.returncode not in (0, -signal.SIGTERM):
            tail = (tmp / f"worker-{i}.log").read_text(errors="replace")[-2000:]
            print(f"  worker exited {p.returncode}:\n{tail}", file=sys.stderr)


async def publish_one(hub: Any, tenant_id: uuid.UUID, seq: int) -> float:
    payload = BenchStockLow(
        seq=seq,
        sku=f"SKU-{seq}",
        on_hand=1,
        contact_phone=f"+86139{seq % 10**8:08d}",
        summary=f"low stock #{seq}",
    )
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        publish(s, BenchStockLow.topic, payload)
        await s.commit()
    return time.time()


HOPS = ("relay", "to notice", "to sender", "to SMSC")


async def stages(
    hub: Any,
    since: datetime,
    arrived: dict[int, float] | None = None,
    key: Callable[[dict[str, Any]], int | None] | None = None,
) -> dict[str, float]:
    """p50 ms of each hop, from the rows' own timestamps: relay = event created -> handed to
    the broker; to notice = handed -> notice created (broker, worker queue, rule handler);
    to sender = SMS queued -> claimed for sending; to SMSC = claimed -> submit_sm arrived at
    the SMSC (`arrived` by the number `key` reads from the notice's payload)."""
    from sqlalchemy import select

    from comms.bus.models import OutboxEvent
    from comms.db.tenancy import unscoped
    from comms.messages.models import Message
    from notifications.models import DeliveryAttempt, Notification

    async with hub.db.session() as s:
        unscoped(s)
        rows = (
            await s.execute(
                select(
                    OutboxEvent.created_at,
                    OutboxEvent.dispatched_at,
                    Notification.created_at,
                    Message.queued_at,
                    Message.sending_at,
                    Notification.payload,
                )
                .join(Notification, Notification.event_id == OutboxEvent.id)
                .join(DeliveryAttempt, DeliveryAttempt.notification_id == Notification.id)
                .join(Message, Message.id == DeliveryAttempt.message_id)
                .where(Notification.created_at >= since)
            )
        ).all()

    def ms(a: datetime | None, b: datetime | None) -> float | None:
        return None if a is None or b is None else (b - a).total_seconds() * 1000

    hops: dict[str, list[float]] = {h: [] for h in HOPS}
    for created, handed, noticed, queued, sending, payload in rows:
        for hop, value in (
            ("relay", ms(created, handed)),
            ("to notice", ms(handed, noticed)),
            ("to sender", ms(queued, sending)),
        ):
            if value is not None:
                hops[hop].append(value)
        n = key(payload) if key is not None and arrived is not None else None
        if n is not None and arrived is not None and n in arrived and sending is not None:
            hops["to SMSC"].append((arrived[n] - sending.timestamp()) * 1000)
    return {h: pct(v, 50) for h, v in hops.items()}


async def offer(
    hub: Any, tenant_id: uuid.UUID, smsc: Smsc, rate: float, seconds: float, base: int
) -> dict[str, Any]:
    n = int(rate * seconds)
    started = datetime.now(UTC)
    commit_at: dict[int, float] = {}
    gate = asyncio.Semaphore(8)

    async def one(seq: int) -> None:
        async with gate:
            commit_at[seq] = await publish_one(hub, tenant_id, seq)

    tasks = []
    t0 = time.perf_counter() + 0.05
    for i in range(n):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(base + i)))
    await asyncio.gather(*tasks)
    achieved = n / (time.perf_counter() - t0)
    deadline = time.monotonic() + 60 + n / 50
    while time.monotonic() < deadline:
        if all(base + i in smsc.arrived for i in range(n)):
            break
        await asyncio.sleep(0.05)
    lat = [smsc.arrived[q] - c for q, c in commit_at.items() if q in smsc.arrived]
    hops = await stages(hub, started, smsc.arrived, lambda p: p.get("seq"))
    return {
        "hops": hops,
        "offered": rate,
        "achieved": achieved,
        "events": n,
        "at_smsc": len(lat),
        "p50": pct(lat, 50) * 1000,
        "p99": pct(lat, 99) * 1000,
        "max": max(lat, default=float("nan")) * 1000,
    }


async def main(args: argparse.Namespace) -> None:
    from comms.db.migrate import upgrade
    from comms.hub import Hub
    from comms.modules import discover_modules
    from comms.settings import Settings
    from comms.tenants.service import create_tenant
    from notifications import service as notif
    from notifications.schemas import RuleIn

    tmp = Path(tempfile.mkdtemp(prefix="notice-bench-"))
    db_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}"
    smsc = Smsc()
    await smsc.start()
    smpp_url = f"smpp://esme:secret@127.0.0.1:{smsc.port}?source_addr=HUITONG&window=100&tps=5000"
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    await pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    await pg_admin(f'CREATE DATABASE "{PG_DB}"')
    modules = [*discover_modules(), module]
    await asyncio.to_thread(upgrade, db_url, modules)
    settings = Settings(
        database_url=db_url,
        broker_url=REDIS_URL,
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
    results = []
    try:
        await hub.start(relay=True, worker=False)
        async with hub.db.session() as s:
            new = await create_tenant(
                s, hub.credentials, "bench", "admin@bench.example.cn", "bench-password-1"
            )
        tenant_id = new.tenant.id
        async with hub.db.session() as s:
            scoped_to(s, tenant_id)
            await notif.create_rule(
                s,
                hub.topics,
                RuleIn.model_validate(
                    {
                        "name": "bench",
                        "topic": BenchStockLow.topic,
                        "conditions": [{"field": "on_hand", "op": "lt", "value": 5}],
                        "recipients": [{"kind": "contact"}],
                        "channels": ["sms", "email"],
                        "urgency": "urgent",
                    }
                ),
            )
            await s.commit()
        procs = start_workers(args, worker_env(db_url, smpp_url, tmp, args.poll_interval), tmp)
        print("warming up", file=sys.stderr, flush=True)
        warm = await offer(hub, tenant_id, smsc, 20, 1.0, 1)
        if warm["at_smsc"] < warm["events"]:
            raise RuntimeError(f"warm-up SMS did not reach the SMSC: {warm}")
        base = 1_000_000
        for rate in args.rates:
            print(f"offering {rate:g}/s for {args.seconds:g} s", file=sys.stderr, flush=True)
            results.append(await offer(hub, tenant_id, smsc, rate, args.seconds, base))
            base += 1_000_000
            await asyncio.sleep(1)
    finally:
        stop_workers(procs, tmp)
        await hub.stop()
        await smsc.stop()
        await pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    print(
        f"\nPostgreSQL + Redis, {args.workers} x `huitong worker --pool prefork "
        f"--concurrency {args.concurrency}` (+ this process as serve); SMSC: smpp34 in-process; "
        f"HUITONG_BUS_POLL_INTERVAL={args.poll_interval:g}\n"
    )
    print(
        "| offered/s | achieved/s | events | SMS at SMSC | p50 ms | p99 ms | max ms | "
        + " | ".join(f"{h} p50" for h in HOPS)
        + " |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(HOPS))
    for r in results:
        print(
            f"| {r['offered']:g} | {r['achieved']:.0f} | {r['events']:,} | {r['at_smsc']:,} "
            f"| {r['p50']:.0f} | {r['p99']:.0f} | {r['max']:.0f} | "
            + " | ".join(f"{r['hops'][h]:.0f}" for h in HOPS)
            + " |"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rates", type=lambda v: [float(x) for x in v.split(",")], default=[10, 500])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=2)
    # A worker commits the SMS's queued event in a pool child: no local relay is woken, so
    # the second hop waits for a relay's poll (HUITONG_BUS_POLL_INTERVAL, default 0.2 s).
    ap.add_argument("--poll-interval", type=float, default=0.2)
    asyncio.run(main(ap.parse_args()))
