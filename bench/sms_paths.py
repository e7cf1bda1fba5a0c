"""CPU per SMS of the hub's three set-wise SMS paths, in process, on PostgreSQL.

    python bench/sms_paths.py                       # 6,000 SMS, receipt batches of 32
    python bench/sms_paths.py --sms 3000 --receipt-batch 64

`bench/sms_throughput.py` measures the whole hub (API, bus, Celery, SMPP, SMSC) and its CPU
figures move with whatever else runs on the machine. This script isolates the three paths
this process's code decides: a campaign chunk's queueing (`queue_sms_batch`, 1,000 per
transaction, claimed), the sender's record (`record_outcomes`, 200 per transaction) and the
receipt sink's batch (`apply_receipts` + its status event, --receipt-batch per transaction),
and prints the process CPU time (user + system) per SMS of each, PostgreSQL's own work not
included. The heap is frozen first, as `huitong worker` does before it forks (otherwise every
garbage collection walks the start-up heap and inflates the figures). It checks at the end
that every message reached the final status its receipt says.

A database `huitong_sms_paths_<pid>` (or BENCH_PG_DB) is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = os.environ.get("BENCH_PG_DB", f"huitong_sms_paths_{os.getpid()}")
SIGNATURE = "【汇通测试】"


async def pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def run(n: int, receipt_batch: int) -> dict[str, float]:
    from sqlalchemy import func, select

    from comms.channels.sms.provider import DeliveryReceipt, ReceiptState
    from comms.db.base import utcnow
    from comms.db.migrate import upgrade
    from comms.db.tenancy import scoped_to, unscoped
    from comms.hub import Hub
    from comms.messages.bulk import Queued, SmsItem, queue_sms_batch
    from comms.messages.lifecycle import StatusBatch
    from comms.messages.models import Message, MessagingSettings
    from comms.messages.receipts import apply_receipts
    from comms.messages.record import Outcome, record_outcomes
    from comms.modules import discover_modules
    from comms.settings import Settings
    from comms.tenants.service import create_tenant

    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}"
    await pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
    await pg_admin(f'CREATE DATABASE "{PG_DB}"')
    settings = Settings(
        database_url=url,
        data_dir=Path(tempfile.mkdtemp(prefix="huitong-sms-paths-")),
        secret_key="bench-secret-key-that-is-long-enough-for-hs256",
        sms_duplicate_window=0,
    )
    hub = Hub(settings)
    try:
        await asyncio.to_thread(upgrade, url, discover_modules())
        async with hub.db.session() as s:
            new = await create_tenant(s, hub.credentials, "b", "a@b.example.cn", "pw-123456789")
            tid = new.tenant.id
        async with hub.db.session() as s:
            scoped_to(s, tid)
            s.add(MessagingSettings(sms_signature=SIGNATURE))
            await s.commit()
        gc.collect()
        gc.freeze()
        cpu = {"queue": 0.0, "record": 0.0, "receipts": 0.0}

        ids: list[uuid.UUID] = []
        for start in range(0, n, 1000):
            items = [
                SmsItem(f"+86139{i:08d}", "{{name}}您好，明早九点全员会议。", {"name": f"员工{i}"})
                for i in range(start, min(n, start + 1000))
            ]
            t0 = time.process_time()
            async with hub.db.session() as s:
                scoped_to(s, tid)
                out = await queue_sms_batch(s, settings, items, claim=True)
                await s.commit()
            cpu["queue"] += time.process_time() - t0
            ids += [o.id for o in out if isinstance(o, Queued)]

        pids: list[str] = []
        for start in range(0, len(ids), 200):
            results = [
                (mid, Outcome("smpp", ids=[f"{start + k:08X}"], segments=1))
                for k, mid in enumerate(ids[start : start + 200])
            ]
            pids += [out.ids[0] for _, out in results]
            t0 = time.process_time()
            async with hub.db.session() as s:
                scoped_to(s, tid)
                await record_outcomes(s, settings, tid, results)
                await s.commit()
            cpu["record"] += time.process_time() - t0

        done = utcnow()
        for start in range(0, len(pids), receipt_batch):
            receipts = [
                DeliveryReceipt("smpp", pid, ReceiptState.UNDELIVERED, "034", done)
                if pid.endswith("7")
                else DeliveryReceipt("smpp", pid, ReceiptState.DELIVERED, None, done)
                for pid in pids[start : start + receipt_batch]
            ]
            t0 = time.process_time()
            async with hub.db.session() as s:
                unscoped(s)
                batch = StatusBatch()
                await apply_receipts(s, receipts, batch)
                await batch.publish(s)
                await s.commit()
            cpu["receipts"] += time.process_time() - t0

        expected = {"delivered": sum(not p.endswith("7") for p in pids)}
        expected["undelivered"] = len(pids) - expected["delivered"]
        async with hub.db.session() as s:
            unscoped(s)
            rows = await s.execute(select(Message.status, func.count()).group_by(Message.status))
            found = {status.value: int(count) for status, count in rows}
        if found != expected or len(ids) != n:
            raise SystemExit(f"wrong final statuses: {found}, expected {expected}")
        return {k: v / n * 1e6 for k, v in cpu.items()}
    finally:
        await hub.db.dispose()
        await pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sms", type=int, default=6000)
    parser.add_argument("--receipt-batch", type=int, default=32)
    args = parser.parse_args()
    us = asyncio.run(run(args.sms, args.receipt_batch))
    print(
        f"{args.sms} SMS, CPU per SMS of this process: queue (chunks of 1,000) "
        f"{us['queue']:.0f} us, record (batches of 200) {us['record']:.0f} us, receipts "
        f"(batches of {args.receipt_batch}) {us['receipts']:.0f} us; load "
        f"{os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
