"""Items, warehouses and stock movements: the use cases behind the stock routes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comms.auth.models import User
from comms.errors import Conflict, InvalidInput, NotFound
from erp.stock import ledger
from erp.stock.ledger import Actor
from erp.stock.models import Item, MovementKind, StockLevel, StockMovement, Warehouse
from erp.stock.schemas import (
    ItemIn,
    ItemPatch,
    LevelOut,
    MovementIn,
    WarehouseIn,
    WarehousePatch,
)

K = MovementKind


@dataclass(frozen=True)
class Common:
    reason: str
    reference: str
    actor: Actor


async def create_item(s: AsyncSession, body: ItemIn) -> Item:
    item = Item(**body.model_dump())
    s.add(item)
    try:
        async with s.begin_nested():
            await s.flush()
    except IntegrityError:
        raise Conflict(f"sku: {body.sku!r} exists already", field="sku") from None
    return item


async def get_item(s: AsyncSession, item_id: uuid.UUID, field: str | None = None) -> Item:
    item = await s.get(Item, item_id)
    if item is None:
        if field:
            raise InvalidInput(f"{field}: no such item", field=field)
        raise NotFound("item not found")
    return item


async def update_item(s: AsyncSession, item: Item, body: ItemPatch) -> dict[str, object]:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    for k, v in changes.items():
        setattr(item, k, v)
    await s.flush()
    return changes


async def create_warehouse(s: AsyncSession, body: WarehouseIn) -> Warehouse:
    if body.manager_id is not None and await s.get(User, body.manager_id) is None:
        raise InvalidInput("manager_id: no such user", field="manager_id")
    wh = Warehouse(**body.model_dump())
    s.add(wh)
    try:
        async with s.begin_nested():
            await s.flush()
    except IntegrityError:
        raise Conflict(f"code: {body.code!r} exists already", field="code") from None
    return wh


async def update_warehouse(
    s: AsyncSession, wh: Warehouse, body: WarehousePatch
) -> dict[str, object]:
    """Rename or change the manager (null removes them); only the fields sent change."""
    changes = body.model_dump(mode="json", exclude_unset=True)
    if body.manager_id is not None and await s.get(User, body.manager_id) is None:
        raise InvalidInput("manager_id: no such user", field="manager_id")
    if "name" in changes and body.name is None:
        raise InvalidInput("name: cannot be empty", field="name")
    for k in changes:
        setattr(wh, k, getattr(body, k))
    await s.flush()
    return changes


async def get_warehouse(
    s: AsyncSession, warehouse_id: uuid.UUID, field: str | None = None
) -> Warehouse:
    wh = await s.get(Warehouse, warehouse_id)
    if wh is None:
        if field:
            raise InvalidInput(f"{field}: no such warehouse", field=field)
        raise NotFound("warehouse not found")
    return wh


def _positive(body: MovementIn) -> int:
    if body.quantity is None or body.quantity <= 0:
        raise InvalidInput("quantity: must be a whole number above 0", field="quantity")
    return body.quantity


async def move(s: AsyncSession, body: MovementIn, actor: Actor) -> list[StockMovement]:
    """Apply one movement request; a transfer writes two ledger rows (out, then in)."""
    item = await get_item(s, body.item_id, "item_id")
    wh = await get_warehouse(s, body.warehouse_id, "warehouse_id")
    if body.kind is not K.STOCKTAKE and body.counted is not None:
        raise InvalidInput("counted: only a stocktake takes a count", field="counted")
    if body.kind is not K.TRANSFER and body.to_warehouse_id is not None:
        raise InvalidInput(
            "to_warehouse_id: only a transfer has a destination", field="to_warehouse_id"
        )
    common = Common(body.reason, body.reference, actor)
    if body.kind is K.RECEIPT:
        c = await ledger.change(
            s,
            item,
            wh,
            _positive(body),
            kind=K.RECEIPT,
            reason=common.reason,
            reference=common.reference,
            actor=common.actor,
        )
        return [c.movement] if c.movement else []
    if body.kind is K.ISSUE:
        c = await ledger.change(
            s,
            item,
            wh,
            -_positive(body),
            kind=K.ISSUE,
            reason=common.reason,
            reference=common.reference,
            actor=common.actor,
        )
        return [c.movement] if c.movement else []
    if body.kind is K.ADJUSTMENT:
        if not body.quantity:
            raise InvalidInput("quantity: an adjustment needs a non-zero change", field="quantity")
        c = await ledger.change(
            s,
            item,
            wh,
            body.quantity,
            kind=K.ADJUSTMENT,
            reason=common.reason,
            reference=common.reference,
            actor=common.actor,
        )
        return [c.movement] if c.movement else []
    if body.kind is K.TRANSFER:
        qty = _positive(body)
        if body.to_warehouse_id is None:
            raise InvalidInput(
                "to_warehouse_id: a transfer needs a destination", field="to_warehouse_id"
            )
        if body.to_warehouse_id == wh.id:
            raise InvalidInput("to_warehouse_id: same as the source", field="to_warehouse_id")
        dest = await get_warehouse(s, body.to_warehouse_id, "to_warehouse_id")
        ref = body.reference or f"transfer {wh.code}->{dest.code}"
        common = Common(body.reason, ref, actor)
        # Opposite transfers (A->B, B->A) would lock the two rows in opposite orders and
        # deadlock: lock both by warehouse id first (creating a missing row), the order
        # `ledger.reserve` uses too, then write the ledger out-then-in.
        for w in sorted((wh, dest), key=lambda w: w.id):
            await ledger.locked_level(s, item, w)
        out = await ledger.change(
            s,
            item,
            wh,
            -qty,
            kind=K.TRANSFER,
            reason=common.reason,
            reference=common.reference,
            actor=common.actor,
        )
        inn = await ledger.change(
            s,
            item,
            dest,
            qty,
            kind=K.TRANSFER,
            reason=common.reason,
            reference=common.reference,
            actor=common.actor,
        )
        return [m for m in (out.movement, inn.movement) if m is not None]
    # Stocktake: the count is the truth; the ledger records the difference found.
    if body.counted is None:
        raise InvalidInput("counted: a stocktake needs the counted quantity", field="counted")
    level = await ledger.locked_level(s, item, wh)
    diff = body.counted - level.on_hand
    c = await ledger.change(
        s,
        item,
        wh,
        diff,
        kind=K.STOCKTAKE,
        guard=False,
        counted=body.counted,
        reason=common.reason,
        reference=common.reference,
        actor=common.actor,
    )
    if c.movement is None:
        # Nothing differed; the count itself is still worth a ledger line.
        m = StockMovement(
            item_id=item.id,
            warehouse_id=wh.id,
            kind=K.STOCKTAKE,
            quantity=0,
            before=c.on_hand,
            after=c.on_hand,
            counted=body.counted,
            reason=body.reason,
            reference=body.reference,
            actor_type=actor[0],
            actor_id=actor[1],
        )
        s.add(m)
        return [m]
    return [c.movement]


def level_out(level: StockLevel) -> LevelOut:
    return LevelOut(
        item_id=level.item_id,
        warehouse_id=level.warehouse_id,
        on_hand=level.on_hand,
        reserved=level.reserved,
        available=level.on_hand - level.reserved,
        low_since=level.low_since,
        updated_at=level.updated_at,
    )


async def levels(
    s: AsyncSession, item_id: uuid.UUID | None = None, warehouse_id: uuid.UUID | None = None
) -> list[LevelOut]:
    q = select(StockLevel).order_by(StockLevel.item_id, StockLevel.warehouse_id)
    if item_id is not None:
        q = q.where(StockLevel.item_id == item_id)
    if warehouse_id is not None:
        q = q.where(StockLevel.warehouse_id == warehouse_id)
    rows = await s.scalars(q.execution_options(populate_existing=True))
    return [level_out(r) for r in rows]
