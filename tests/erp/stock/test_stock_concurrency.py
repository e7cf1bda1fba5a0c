"""Twenty writers moving one item at once lose no update and never take it below zero."""

from __future__ import annotations

import asyncio
import random
import uuid

import httpx
from sqlalchemy import func, select

from comms.bus.publish import TOPICS_KEY
from comms.db.engine import Database
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from erp.stock import ledger
from erp.stock.models import Item, MovementKind, StockLevel, StockMovement, Warehouse
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
