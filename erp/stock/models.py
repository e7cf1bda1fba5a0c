"""Items, warehouses, stock levels per (item, warehouse) and the movement ledger."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from comms.bus.models import BigId
from comms.db.base import Base, TenantScoped, new_id, utcnow
from erp.columns import enum_column


class MovementKind(enum.StrEnum):
    RECEIPT = "receipt"
    ISSUE = "issue"
    TRANSFER = "transfer"
    ADJUSTMENT = "adjustment"
    STOCKTAKE = "stocktake"


class Item(TenantScoped, Base):
    __tablename__ = "erp_items"
    __table_args__ = (UniqueConstraint("tenant_id", "sku", name="uq_erp_items_sku"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16), default="pcs")
    reorder_point: Mapped[int] = mapped_column(default=0)
    reorder_qty: Mapped[int] = mapped_column(default=0)
    allow_negative: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Warehouse(TenantScoped, Base):
    __tablename__ = "erp_warehouses"
    __table_args__ = (UniqueConstraint("tenant_id", "code", name="uq_erp_warehouses_code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    # Who hears about low stock here (notifications route erp.stock.low to this user).
    manager_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockLevel(TenantScoped, Base):
    """On hand and reserved of one item in one warehouse; changed only by conditional UPDATEs."""

    __tablename__ = "erp_stock_levels"
    __table_args__ = (
        UniqueConstraint("item_id", "warehouse_id", name="uq_erp_stock_levels_item_warehouse"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("erp_items.id", ondelete="CASCADE"))
    warehouse_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("erp_warehouses.id", ondelete="CASCADE"), index=True
    )
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    # Set when on_hand fell to the reorder point or below (erp.stock.low sent), cleared on
    # replenishment: the flag is what makes the notice go out once per dip.
    low_since: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockMovement(TenantScoped, Base):
    """One change of on_hand: append-only; the sum of `quantity` per level equals on_hand."""

    __tablename__ = "erp_stock_movements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("erp_items.id", ondelete="CASCADE"), index=True
    )
    warehouse_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("erp_warehouses.id", ondelete="CASCADE")
    )
    kind: Mapped[MovementKind] = mapped_column(enum_column(MovementKind))
    quantity: Mapped[int] = mapped_column()  # signed change of on_hand
    before: Mapped[int] = mapped_column()
    after: Mapped[int] = mapped_column()
    counted: Mapped[int | None] = mapped_column(default=None)  # stocktake only
    reason: Mapped[str] = mapped_column(String(300), default="")
    reference: Mapped[str] = mapped_column(String(120), default="", index=True)
    actor_type: Mapped[str] = mapped_column(String(16), default="system")
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)
