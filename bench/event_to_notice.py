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

  The notice part (event -> notifications -> SMS/email) is added by the notifications work.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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
PG_DB = "huitong_bench_stock"
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parts = p.add_subparsers(dest="part", required=True)
    st = parts.add_parser("stock", help="stock movements per second, 20 writers on one item")
    st.add_argument("--writers", type=int, default=20)
    st.add_argument("--moves", type=int, default=200, help="movements per writer")
    st.add_argument("--initial", type=int, default=50, help="stock received before the run")
    args = p.parse_args(argv)
    if args.part == "stock":
        return asyncio.run(stock(args))
    return 2


if __name__ == "__main__":
    sys.exit(main())
