"""Twenty writers moving one item at once lose no update and never take it below zero."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import cast

import httpx
from sqlalchemy import func, select

from comms.bus.publish import TOPICS_KEY
from comms.db.engine import Database
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from erp.stock import ledger, service
from erp.stock.models import Item, MovementKind, StockLevel, StockMovement, Warehouse
from erp.stock.schemas import MovementIn
from erp_testkit import make_item, make_warehouse, published, receive
from hubtest import TenantCtx

WRITERS = 20
MOVES = 15


async def writer(db: Database, t: TenantCtx, item_id: str, wh_id: str, seed: int) -> int:
    """Random receipts and issues, each its own transaction; returns the change applied."""
    rnd = random.Random(seed)
    applied = 0
    for _ in range(MOVES):
        delta = rnd.choice([3, -2, -4, 1, -1])
        async with db.session() as s:
            scoped_to(s, t.id)
            item = await s.get(Item, uuid.UUID(item_id))
            wh = await s.get(Warehouse, uuid.UUID(wh_id))
            assert item is not None and wh is not None
            kind = MovementKind.RECEIPT if delta > 0 else MovementKind.ISSUE
            try:
                await ledger.change(s, item, wh, delta, kind=kind, reason=f"writer {seed}")
            except ledger.NotEnoughStock:
                await s.rollback()
                continue
            await s.commit()
            applied += delta
    return applied


async def test_twenty_concurrent_writers_on_one_item_lose_no_update(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    item = (await make_item(client, tenant, reorder_point=5))["id"]
    wh = (await make_warehouse(client, tenant))["id"]
    await receive(client, tenant, item, wh, 10)
    db = Database(hub.settings.database_url, info={TOPICS_KEY: hub.topics}, pool_size=WRITERS)
    try:
        applied = await asyncio.gather(*(writer(db, tenant, item, wh, n) for n in range(WRITERS)))
    finally:
        await db.dispose()
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        level = await s.scalar(select(StockLevel).where(StockLevel.item_id == uuid.UUID(item)))
        assert level is not None
        ledger_sum = await s.scalar(
            select(func.sum(StockMovement.quantity)).where(StockMovement.item_id == uuid.UUID(item))
        )
        negatives = await s.scalar(
            select(func.count())
            .select_from(StockMovement)
            .where(StockMovement.item_id == uuid.UUID(item), StockMovement.after < 0)
        )
    assert level.on_hand == ledger_sum == 10 + sum(applied)
    assert level.on_hand >= 0 and negatives == 0
    assert sum(1 for a in applied if a) > 0  # the writers really wrote
    # Low and replenished alternate strictly: one notice per dip, whatever the interleaving.
    lows, backs = (
        await published(hub, "erp.stock.low"),
        await published(hub, "erp.stock.replenished"),
    )
    assert len(lows) - len(backs) == (1 if level.low_since is not None else 0)


TRANSFER_WRITERS = 6
TRANSFERS = 20


async def transferrer(
    db: Database, t: TenantCtx, item_id: str, whs: list[str], seed: int
) -> tuple[int, int]:
    """Random transfers between the warehouses, either way; returns (done, refused)."""
    rnd = random.Random(seed)
    done = refused = 0
    for _ in range(TRANSFERS):
        src, dst = rnd.sample(whs, 2)
        body = MovementIn(
            kind=MovementKind.TRANSFER,
            item_id=uuid.UUID(item_id),
            warehouse_id=uuid.UUID(src),
            to_warehouse_id=uuid.UUID(dst),
            quantity=rnd.randint(1, 6),
        )
        async with db.session() as s:
            scoped_to(s, t.id)
            try:
                await service.move(s, body, ledger.SYSTEM)
            except ledger.NotEnoughStock:
                await s.rollback()
                refused += 1
                continue
            await s.commit()
            done += 1
    return done, refused


async def counter(db: Database, t: TenantCtx, item_id: str, whs: list[str], seed: int) -> int:
    """Stocktakes and adjustments racing the transfers; returns the change they made."""
    rnd = random.Random(seed)
    applied = 0
    for n in range(TRANSFERS):
        wh = rnd.choice(whs)
        if n % 2:
            body = MovementIn(
                kind=MovementKind.STOCKTAKE,
                item_id=uuid.UUID(item_id),
                warehouse_id=uuid.UUID(wh),
                counted=rnd.randint(5, 40),
            )
        else:
            body = MovementIn(
                kind=MovementKind.ADJUSTMENT,
                item_id=uuid.UUID(item_id),
                warehouse_id=uuid.UUID(wh),
                quantity=rnd.choice([-1, 2, 3]),
            )
        async with db.session() as s:
            scoped_to(s, t.id)
            try:
                moves = await service.move(s, body, ledger.SYSTEM)
            except ledger.NotEnoughStock:
                await s.rollback()
                continue
            await s.commit()
            applied += sum(m.quantity for m in moves)
    return applied


async def test_opposite_transfers_and_counts_at_once_never_deadlock_and_conserve_stock(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    item = (await make_item(client, tenant))["id"]
    a, b, c = [(await make_warehouse(client, tenant))["id"] for _ in range(3)]
    await receive(client, tenant, item, a, 30)
    await receive(client, tenant, item, b, 30)
    # c has no level row yet: the first transfers into it race to create one.
    whs = [a, b, c]
    db = Database(
        hub.settings.database_url, info={TOPICS_KEY: hub.topics}, pool_size=TRANSFER_WRITERS + 2
    )
    try:
        results = await asyncio.gather(
            *(transferrer(db, tenant, item, whs, n) for n in range(TRANSFER_WRITERS)),
            counter(db, tenant, item, whs, 100),
            counter(db, tenant, item, whs, 101),
        )
    finally:
        await db.dispose()
    transfers = cast(list[tuple[int, int]], results[:TRANSFER_WRITERS])
    counted = cast(list[int], results[TRANSFER_WRITERS:])
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        on_hand = dict(
            (str(wh), n)
            for wh, n in await s.execute(
                select(StockLevel.warehouse_id, StockLevel.on_hand).where(
                    StockLevel.item_id == uuid.UUID(item)
                )
            )
        )
        sums = dict(
            (str(wh), int(n))
            for wh, n in await s.execute(
                select(StockMovement.warehouse_id, func.sum(StockMovement.quantity))
                .where(StockMovement.item_id == uuid.UUID(item))
                .group_by(StockMovement.warehouse_id)
            )
        )
        transferred = await s.scalar(
            select(func.count())
            .select_from(StockMovement)
            .where(StockMovement.item_id == uuid.UUID(item), StockMovement.kind == "transfer")
        )
    assert on_hand == sums  # per warehouse, the ledger sums to on_hand
    assert sum(on_hand.values()) == 60 + sum(counted)  # transfers created or lost nothing
    assert sum(done for done, _ in transfers) > 0  # the writers really moved stock
    assert transferred == 2 * sum(done for done, _ in transfers)  # out and in, each time
    assert min(on_hand.values()) >= 0
