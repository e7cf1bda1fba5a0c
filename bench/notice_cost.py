"""CPU per confirmed order on the notice path, by part, in one process (no broker, no timing
noise from queues): where the milliseconds of `bench/event_to_notice.py latency` go.

    python bench/notice_cost.py                 # 300 orders, deliveries in batches of 10
    python bench/notice_cost.py --orders 500 --batch 20

Method: a fresh PostgreSQL database `huitong_notice_cost` (or $BENCH_PG_DB); the same rule
and orders as the latency bench (urgent, the contact on the event, SMS then email; one line
each over 50 items); the log SMS provider. Each order is confirmed by
`erp.orders.service.move_order` in its own transaction (timed: "erp confirm"); then the
relay's passes and the deliveries they make are run here until the bus is drained, in
batches of --batch deliveries (a worker's batch). Every subscriber's handler is timed
(process CPU, as wall in one process includes nothing else); "bus" is the drain's CPU
outside the handlers (claims, savepoints, done marks, commits, relay passes) plus the
sender's submit and record. Figures are per order: CPU ms and SQL statements sent (an
executemany counts once; BEGIN/COMMIT/SAVEPOINT included).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import event as sa_event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from comms.bus.loop import run as run_loop  # noqa: E402
from comms.db.migrate import upgrade  # noqa: E402
from comms.db.tenancy import scoped_to  # noqa: E402
from comms.hub import Hub  # noqa: E402
from comms.modules import discover_modules  # noqa: E402
from comms.settings import Settings  # noqa: E402
from comms.tenants.service import create_tenant  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DB = os.environ.get("BENCH_PG_DB", "huitong_notice_cost")
URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DB}"
SECRET = "bench-secret-key-that-is-long-enough-for-hs256"


class Keep:
    """Stands in for the broker: keeps the relay's delivery ids for this process to run."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def send(self, delivery_ids: Sequence[int]) -> None:
        self.ids.extend(delivery_ids)


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


SQL = [0]  # statements sent to PostgreSQL so far (executemany counts once)


def _count(*_: Any) -> None:
    SQL[0] += 1


def _timed(fn: Any, into: list[float]) -> Any:
    async def handler(ctx: Any, event: Any) -> None:
        t0, q0 = time.process_time(), SQL[0]
        try:
            await fn(ctx, event)
        finally:
            into[0] += 1
            into[1] += time.process_time() - t0
            into[2] += SQL[0] - q0

    return handler


async def _setup(hub: Hub, n: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    from erp.orders import service as orders
    from erp.orders.schemas import OrderIn
    from erp.stock import ledger
    from erp.stock.models import Item, MovementKind, Warehouse
    from notifications import service as notif
    from notifications.schemas import RuleIn

    async with hub.db.session() as s:
        made = await create_tenant(s, hub.credentials, "bench", "bench@bench.cn", "password-1")
    tid = made.tenant.id
    async with hub.db.session() as s:
        scoped_to(s, tid)
        rule = {
            "name": "order confirmed",
            "topic": "erp.order.confirmed",
            "recipients": [{"kind": "contact"}],
            "channels": ["sms", "email"],
            "urgency": "urgent",
        }
        await notif.create_rule(s, hub.topics, RuleIn.model_validate(rule))
        wh = Warehouse(code="COST", name="cost warehouse")
        items = [Item(sku=f"COST-{i}", name=f"item {i}") for i in range(50)]
        s.add_all([wh, *items])
        await s.flush()
        for it in items:
            await ledger.change(s, it, wh, n, kind=MovementKind.RECEIPT)
        ids = []
        for i in range(n):
            line = {"item_id": str(items[i % 50].id), "warehouse_id": str(wh.id), "qty": 1}
            body = {
                "contact_name": f"Customer {i}",
                "contact_phone": f"+86139{i:08d}",
                "lines": [{**line, "unit_price": 990}],
            }
            ids.append((await orders.create_order(s, OrderIn.model_validate(body))).id)
        await s.commit()
    return tid, ids


async def run(args: argparse.Namespace) -> None:
    from erp.orders import service as orders
    from erp.orders.models import OrderStatus

    await _admin(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{DB}"')
    modules = discover_modules()
    await asyncio.to_thread(upgrade, URL, modules)
    settings = Settings(
        database_url=URL,
        data_dir=Path(tempfile.mkdtemp(prefix="notice-cost-")),
        secret_key=SECRET,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        extra_modules="",
        log_level="WARNING",
        sms_provider="log",
    )
    keep = Keep()
    hub = Hub(settings, modules, dispatcher=keep)
    try:
        tid, ids = await _setup(hub, args.orders)
        await hub.relay.run_once()
        keep.ids.clear()
        spent: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0, 0])
        sa_event.listen(hub.db.engine.sync_engine, "before_cursor_execute", _count)
        for m in modules:
            for declared in m.subscribers:
                sub = hub.subscribers.get(declared.name)
                if sub is not None:  # frozen: a bench's probe swaps the handler in place
                    object.__setattr__(sub, "handler", _timed(sub.handler, spent[sub.name]))
                    if sub.batch is not None:  # called once per group of a batch
                        object.__setattr__(sub, "batch", _timed(sub.batch, spent[sub.name]))
        c0, q0 = time.process_time(), SQL[0]
        for oid in ids:
            async with hub.db.session() as s:
                scoped_to(s, tid)
                order = await orders.get_order(s, oid)
                await orders.move_order(s, order, OrderStatus.CONFIRMED, reason="cost")
                await s.commit()
        confirm, confirm_q = time.process_time() - c0, SQL[0] - q0
        c0, q0, deliveries = time.process_time(), SQL[0], 0
        while True:
            await hub.relay.run_once()
            batch, keep.ids = keep.ids, []
            if not batch:
                break
            for i in range(0, len(batch), args.batch):
                deliveries += len(batch[i : i + args.batch])
                await hub.run_deliveries(batch[i : i + args.batch])
        drain, drain_q = time.process_time() - c0, SQL[0] - q0
    finally:
        await hub.stop()
        await hub.db.dispose()
        await _admin(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    n = len(ids)
    handlers = sum(v[1] for v in spent.values())
    handlers_q = sum(v[2] for v in spent.values())
    print(
        f"{n} orders, {deliveries} deliveries ({deliveries / n:.1f} per order), batch {args.batch}"
    )
    print("| part | calls / order | SQL statements / order | CPU ms / order |")
    print("|---|---:|---:|---:|")
    erp_q, erp_ms = confirm_q / n, confirm / n * 1000
    print(f"| erp confirm (publisher's transaction) | 1 | {erp_q:.1f} | {erp_ms:.2f} |")
    for name, (calls, cpu, q) in sorted(spent.items(), key=lambda kv: -kv[1][1]):
        if calls:
            print(f"| handler {name} | {calls / n:.1f} | {q / n:.1f} | {cpu / n * 1000:.2f} |")
    rest, rest_q = (drain - handlers) / n * 1000, (drain_q - handlers_q) / n
    print(f"| bus and sender outside handlers | | {rest_q:.1f} | {rest:.2f} |")
    total_q = (confirm_q + drain_q) / n
    print(f"| **total** | | {total_q:.1f} | {(confirm + drain) / n * 1000:.2f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--orders", type=int, default=300)
    p.add_argument("--batch", type=int, default=10, help="deliveries per worker batch")
    run_loop(run(p.parse_args()))  # the loop the worker runs on


if __name__ == "__main__":
    main()
