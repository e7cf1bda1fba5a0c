"""The one place on_hand and reserved change: conditional UPDATEs, never read-modify-write.

Each change is a single `UPDATE … SET on_hand = on_hand + :d … WHERE <guard> RETURNING`, so
concurrent writers on one level cannot lose an update: PostgreSQL re-checks the guard on the
newest row version after waiting for the row lock, SQLite serialises writers (BEGIN
IMMEDIATE). The row stays locked until commit, so the low-stock flag that follows in the same
transaction sees exactly the value this writer left.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CTE, Integer, Table, bindparam, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus import publish
from comms.db.base import new_id, utcnow
from comms.db.tenancy import current_tenant
from comms.errors import Conflict
from erp.columns import insert_or_skip
from erp.stock.events import StockLow, StockReplenished
from erp.stock.models import Item, MovementKind, StockLevel, StockMovement, Warehouse

Actor = tuple[str, uuid.UUID | None]
SYSTEM: Actor = ("system", None)


class NotEnoughStock(Conflict):
    """The change would take on_hand below what is reserved (or below zero)."""


@dataclass(frozen=True)
class Change:
    on_hand: int
    reserved: int
    movement: StockMovement | None


_LEVELS = cast(Table, StockLevel.__table__)
_ITEMS = cast(Table, Item.__table__)
_QTY = bindparam("b_qty", type_=Integer())
_RESERVE = (
    update(_LEVELS)
    .where(
        _LEVELS.c.tenant_id == bindparam("b_tenant"),
        _LEVELS.c.item_id == bindparam("b_item"),
        _LEVELS.c.warehouse_id == bindparam("b_wh"),
        or_(
            _LEVELS.c.on_hand >= _LEVELS.c.reserved + _QTY,
            select(_ITEMS.c.allow_negative)
            .where(_ITEMS.c.id == bindparam("b_item"))
            .scalar_subquery(),
        ),
    )
    .values(reserved=_LEVELS.c.reserved + _QTY, updated_at=bindparam("b_now"))
)


def reserve_cte(gate: Any) -> CTE:
    """`_RESERVE` as a data-modifying CTE (PostgreSQL) that runs only if `gate` (a CTE)
    returned a row: an order's confirm and its reservation in one statement. Returns the
    stock row it reserved, if any."""
    return _RESERVE.where(exists(select(gate.c[0]))).returning(_LEVELS.c.id).cte("reserved")


async def reserve(
    s: AsyncSession,
    tenant_id: uuid.UUID,
    lines: Iterable[tuple[str, uuid.UUID, uuid.UUID, int]],
    now: datetime,
) -> None:
    """Reserve (field, item, warehouse, qty) lines for an order being confirmed.

    One Core conditional UPDATE per line, the same guard as `change(reserve=...)` (on_hand
    must cover every reservation unless the item allows negative stock), taken in (item,
    warehouse) order so that concurrent confirms lock shared rows in one order and never
    deadlock. A line that does not apply (no level row yet, or not enough) goes through
    `change`, which creates the row or raises NotEnoughStock naming its field."""
    conn = await s.connection()
    for field, item_id, wh_id, qty in sorted(lines, key=lambda line: (line[1], line[2])):
        params = {"b_tenant": tenant_id, "b_item": item_id, "b_wh": wh_id, "b_qty": qty}
        done = await conn.execute(_RESERVE, {**params, "b_now": now})
        if done.rowcount != 1:
            item, wh = await s.get(Item, item_id), await s.get(Warehouse, wh_id)
            assert item is not None and wh is not None  # RESTRICT foreign keys keep them
            await change(s, item, wh, 0, reserve=qty, kind=None, field=field, now=now)


async def ensure_level(s: AsyncSession, item_id: uuid.UUID, warehouse_id: uuid.UUID) -> None:
    """Create the (item, warehouse) row at zero if missing; concurrent callers both succeed."""
    values = {
        "id": new_id(),
        "tenant_id": current_tenant(s),
        "item_id": item_id,
        "warehouse_id": warehouse_id,
        "on_hand": 0,
        "reserved": 0,
        "updated_at": utcnow(),
    }
    await insert_or_skip(s, StockLevel, values, ["item_id", "warehouse_id"])


async def _exists(s: AsyncSession, item_id: uuid.UUID, warehouse_id: uuid.UUID) -> bool:
    q = select(StockLevel.id).where(
        StockLevel.item_id == item_id, StockLevel.warehouse_id == warehouse_id
    )
    return await s.scalar(q) is not None


async def level_of(s: AsyncSession, item_id: uuid.UUID, warehouse_id: uuid.UUID) -> StockLevel:
    await ensure_level(s, item_id, warehouse_id)
    q = select(StockLevel).where(
        StockLevel.item_id == item_id, StockLevel.warehouse_id == warehouse_id
    )
    level = await s.scalar(q.execution_options(populate_existing=True))
    assert level is not None
    return level


def _short(level_on_hand: int, level_reserved: int, item: Item, wh: Warehouse) -> str:
    return (
        f"only {level_on_hand - level_reserved} {item.unit} of {item.sku} available in "
        f"{wh.code} (on hand {level_on_hand}, reserved {level_reserved})"
    )


async def change(
    s: AsyncSession,
    item: Item,
    wh: Warehouse,
    delta: int,
    *,
    kind: MovementKind | None,
    field: str = "quantity",
    release: int = 0,
    reserve: int = 0,
    guard: bool = True,
    reason: str = "",
    reference: str = "",
    actor: Actor = SYSTEM,
    counted: int | None = None,
    now: datetime | None = None,
) -> Change:
    """Add `delta` to on_hand and `reserve - release` to reserved in one statement.

    With `guard` (and unless the item allows negative stock) the row must keep
    on_hand >= reserved afterwards (on_hand >= 0 when issuing its own reservation), else
    NotEnoughStock naming `field`. A non-zero `delta` is written to the ledger as `kind`,
    with the quantities before and after, so the ledger always sums to on_hand.
    """
    if delta and kind is None:
        raise ValueError("a change of on_hand needs a movement kind for the ledger")
    now = now or utcnow()
    d_res = reserve - release
    stmt = (
        update(StockLevel)
        .where(StockLevel.item_id == item.id, StockLevel.warehouse_id == wh.id)
        .values(
            on_hand=StockLevel.on_hand + delta,
            reserved=StockLevel.reserved + d_res,
            updated_at=now,
        )
        .returning(StockLevel.on_hand, StockLevel.reserved, StockLevel.low_since)
        .execution_options(synchronize_session=False)
    )
    if guard and not item.allow_negative and (delta < 0 or d_res > 0):
        if release and delta < 0:
            # Issuing its own reservation (shipping): the goods were promised to this order,
            # so only the shelf must hold them, even if a recount left less than all promises.
            stmt = stmt.where(StockLevel.on_hand + delta >= 0)
        else:
            stmt = stmt.where(StockLevel.on_hand + delta >= StockLevel.reserved + d_res)
    if release:
        # A release never takes reserved below zero, whatever the item allows.
        stmt = stmt.where(StockLevel.reserved >= release)
    row = (await s.execute(stmt)).one_or_none()
    if row is None and not await _exists(s, item.id, wh.id):
        # First movement of this item here: create the row at zero, then apply the same change.
        await ensure_level(s, item.id, wh.id)
        row = (await s.execute(stmt)).one_or_none()
    if row is None:
        level = await level_of(s, item.id, wh.id)
        raise NotEnoughStock(
            f"{field}: {_short(level.on_hand, level.reserved, item, wh)}", field=field
        )
    on_hand, reserved, low_since = row
    movement = None
    if delta:
        assert kind is not None
        movement = StockMovement(
            item_id=item.id,
            warehouse_id=wh.id,
            kind=kind,
            quantity=delta,
            before=on_hand - delta,
            after=on_hand,
            counted=counted,
            reason=reason,
            reference=reference,
            actor_type=actor[0],
            actor_id=actor[1],
            at=now,
        )
        s.add(movement)
        await _flag(s, item, wh, on_hand, reserved, low_since, now)
    return Change(on_hand, reserved, movement)


async def _flag(
    s: AsyncSession,
    item: Item,
    wh: Warehouse,
    on_hand: int,
    reserved: int,
    low_since: datetime | None,
    now: datetime,
) -> None:
    """Set or clear the level's low flag and publish the crossing, once per dip.

    The conditions repeat what RETURNING showed, so even a caller holding no row lock cannot
    flip the flag twice: only the statement that changes it publishes."""
    low = on_hand <= item.reorder_point
    where = (StockLevel.item_id == item.id, StockLevel.warehouse_id == wh.id)
    if low and low_since is None:
        done = await s.execute(
            update(StockLevel)
            .where(*where, StockLevel.low_since.is_(None))
            .values(low_since=now)
            .returning(StockLevel.id)
            .execution_options(synchronize_session=False)
        )
        if done.one_or_none() is not None:
            publish(
                s,
                StockLow.topic,
                StockLow(
                    item_id=item.id,
                    sku=item.sku,
                    item_name=item.name,
                    warehouse_id=wh.id,
                    warehouse_code=wh.code,
                    on_hand=on_hand,
                    reserved=reserved,
                    reorder_point=item.reorder_point,
                    reorder_qty=item.reorder_qty,
                    manager_id=wh.manager_id,
                    summary=(
                        f"Low stock: {item.sku} {item.name} in {wh.code} is at {on_hand} "
                        f"{item.unit} (reorder point {item.reorder_point}, "
                        f"reorder {item.reorder_qty})"
                    ),
                ),
            )
    elif not low and low_since is not None:
        done = await s.execute(
            update(StockLevel)
            .where(*where, StockLevel.low_since.is_not(None))
            .values(low_since=None)
            .returning(StockLevel.id)
            .execution_options(synchronize_session=False)
        )
        if done.one_or_none() is not None:
            publish(
                s,
                StockReplenished.topic,
                StockReplenished(
                    item_id=item.id,
                    sku=item.sku,
                    item_name=item.name,
                    warehouse_id=wh.id,
                    warehouse_code=wh.code,
                    on_hand=on_hand,
                    reorder_point=item.reorder_point,
                    manager_id=wh.manager_id,
                    summary=(
                        f"Replenished: {item.sku} {item.name} in {wh.code} is back at "
                        f"{on_hand} {item.unit}"
                    ),
                ),
            )


async def locked_level(s: AsyncSession, item: Item, wh: Warehouse) -> StockLevel:
    """The level row, locked FOR UPDATE on PostgreSQL (SQLite's writer lock is held already)."""
    await ensure_level(s, item.id, wh.id)
    q = (
        select(StockLevel)
        .where(StockLevel.item_id == item.id, StockLevel.warehouse_id == wh.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    level = await s.scalar(q)
    assert level is not None
    return level
