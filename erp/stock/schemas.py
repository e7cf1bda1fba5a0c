"""Request and response shapes for items, warehouses, stock levels and movements."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from erp.stock.models import MovementKind


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    unit: str = Field("pcs", min_length=1, max_length=16)
    reorder_point: int = Field(0, ge=0)
    reorder_qty: int = Field(0, ge=0)
    allow_negative: bool = False


class ItemPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    unit: str | None = Field(None, min_length=1, max_length=16)
    reorder_point: int | None = Field(None, ge=0)
    reorder_qty: int | None = Field(None, ge=0)
    allow_negative: bool | None = None


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sku: str
    name: str
    unit: str
    reorder_point: int
    reorder_qty: int
    allow_negative: bool
    created_at: datetime


class WarehouseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    manager_id: uuid.UUID | None = None


class WarehousePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    manager_id: uuid.UUID | None = None


class WarehouseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    manager_id: uuid.UUID | None
    created_at: datetime


class LevelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    item_id: uuid.UUID
    warehouse_id: uuid.UUID
    on_hand: int
    reserved: int
    available: int
    low_since: datetime | None
    updated_at: datetime


class MovementIn(BaseModel):
    """receipt/issue/transfer: `quantity` > 0; adjustment: signed `quantity` (not 0);
    stocktake: `counted`, the quantity found on the shelf."""

    model_config = ConfigDict(extra="forbid")

    kind: MovementKind
    item_id: uuid.UUID
    warehouse_id: uuid.UUID
    quantity: int | None = None
    counted: int | None = Field(None, ge=0)
    to_warehouse_id: uuid.UUID | None = None
    reason: str = Field("", max_length=300)
    reference: str = Field("", max_length=120)


class MovementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    item_id: uuid.UUID
    warehouse_id: uuid.UUID
    kind: MovementKind
    quantity: int
    before: int
    after: int
    counted: int | None
    reason: str
    reference: str
    actor_type: str
    actor_id: uuid.UUID | None
    at: datetime


class MovementPage(BaseModel):
    items: list[MovementOut]
