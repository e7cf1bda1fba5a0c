"""Routes for items, warehouses, stock levels and movements: parse, call, serialise."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from comms.audit import service as audit
from comms.deps import AdminDep, AgentDep, SessionDep, SupervisorDep, ViewerDep
from erp.stock import service
from erp.stock.models import Item, MovementKind, StockMovement, Warehouse
from erp.stock.schemas import (
    ItemIn,
    ItemOut,
    ItemPatch,
    LevelOut,
    MovementIn,
    MovementOut,
    MovementPage,
    WarehouseIn,
    WarehouseOut,
    WarehousePatch,
)

router = APIRouter(prefix="/api/v1/erp", tags=["erp"])


@router.post("/items", status_code=201, response_model=ItemOut)
async def create_item(body: ItemIn, who: SupervisorDep, s: SessionDep) -> object:
    item = await service.create_item(s, body)
    audit.record(s, who, "erp.item.created", "erp_item", item.id, {"sku": item.sku})
    await s.commit()
    return item


@router.get("/items", response_model=list[ItemOut])
async def list_items(
    _: ViewerDep, s: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> object:
    return list(await s.scalars(select(Item).order_by(Item.sku).limit(limit)))


@router.get("/items/{item_id}", response_model=ItemOut)
async def get_item(item_id: uuid.UUID, _: ViewerDep, s: SessionDep) -> object:
    return await service.get_item(s, item_id)


@router.patch("/items/{item_id}", response_model=ItemOut)
async def patch_item(
    item_id: uuid.UUID, body: ItemPatch, who: SupervisorDep, s: SessionDep
) -> object:
    item = await service.get_item(s, item_id)
    changes = await service.update_item(s, item, body)
    audit.record(s, who, "erp.item.updated", "erp_item", item.id, changes)
    await s.commit()
    return item


@router.post("/warehouses", status_code=201, response_model=WarehouseOut)
async def create_warehouse(body: WarehouseIn, who: AdminDep, s: SessionDep) -> object:
    wh = await service.create_warehouse(s, body)
    audit.record(s, who, "erp.warehouse.created", "erp_warehouse", wh.id, {"code": wh.code})
    await s.commit()
    return wh


@router.get("/warehouses", response_model=list[WarehouseOut])
async def list_warehouses(_: ViewerDep, s: SessionDep) -> object:
    return list(await s.scalars(select(Warehouse).order_by(Warehouse.code)))


@router.get("/warehouses/{warehouse_id}", response_model=WarehouseOut)
async def get_warehouse(warehouse_id: uuid.UUID, _: ViewerDep, s: SessionDep) -> object:
    return await service.get_warehouse(s, warehouse_id)


@router.patch("/warehouses/{warehouse_id}", response_model=WarehouseOut)
async def patch_warehouse(
    warehouse_id: uuid.UUID, body: WarehousePatch, who: AdminDep, s: SessionDep
) -> object:
    wh = await service.get_warehouse(s, warehouse_id)
    changes = await service.update_warehouse(s, wh, body)
    audit.record(s, who, "erp.warehouse.updated", "erp_warehouse", wh.id, changes)
    await s.commit()
    return wh


@router.get("/stock", response_model=list[LevelOut])
async def list_stock(
    _: ViewerDep,
    s: SessionDep,
    item_id: uuid.UUID | None = None,
    warehouse_id: uuid.UUID | None = None,
) -> object:
    return await service.levels(s, item_id, warehouse_id)


@router.post("/movements", status_code=201, response_model=list[MovementOut])
async def create_movement(body: MovementIn, who: AgentDep, s: SessionDep) -> object:
    """409 naming `quantity` when stock would go negative (below reserved)."""
    moves = await service.move(s, body, who.actor)
    await s.commit()
    return moves


@router.get("/movements", response_model=MovementPage)
async def list_movements(
    _: ViewerDep,
    s: SessionDep,
    item_id: uuid.UUID | None = None,
    warehouse_id: uuid.UUID | None = None,
    kind: MovementKind | None = None,
    reference: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> MovementPage:
    q = select(StockMovement).order_by(StockMovement.id.desc()).limit(limit)
    if item_id is not None:
        q = q.where(StockMovement.item_id == item_id)
    if warehouse_id is not None:
        q = q.where(StockMovement.warehouse_id == warehouse_id)
    if kind is not None:
        q = q.where(StockMovement.kind == kind)
    if reference is not None:
        q = q.where(StockMovement.reference == reference)
    return MovementPage(items=[MovementOut.model_validate(m) for m in await s.scalars(q)])
