"""Request and response shapes for sales orders."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from erp.orders.models import OrderStatus


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: uuid.UUID
    warehouse_id: uuid.UUID
    qty: int = Field(gt=0)
    unit_price: int = Field(ge=0, description="fen")


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: uuid.UUID | None = None
    contact_name: str = Field("", max_length=200)
    contact_phone: str | None = Field(None, max_length=32)
    contact_email: str | None = Field(None, max_length=320)
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$")
    note: str = Field("", max_length=500)
    lines: list[LineIn] = Field(min_length=1, max_length=200)


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: OrderStatus
    reason: str = Field("", max_length=300)


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    item_id: uuid.UUID
    warehouse_id: uuid.UUID
    qty: int
    unit_price: int
    line_total: int


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    status: OrderStatus
    contact_id: uuid.UUID | None
    contact_name: str
    contact_phone: str | None
    contact_email: str | None
    currency: str
    total: int
    note: str
    lines: list[LineOut]
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None


class OrderPage(BaseModel):
    items: list[OrderOut]
