"""Sales orders, their lines, their transition log and the per-tenant number counter."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from comms.bus.models import BigId
from comms.db.base import Base, TenantScoped, new_id, utcnow
from erp.columns import enum_column


class OrderStatus(enum.StrEnum):
    DRAFT = "draft"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class Order(TenantScoped, Base):
    """A customer's order; `status` changes only through `orders.state.transition`."""

    __tablename__ = "erp_orders"
    tenant_id_indexed = False  # uq_erp_orders_number leads with it
    __table_args__ = (UniqueConstraint("tenant_id", "number", name="uq_erp_orders_number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(32))
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus), default=OrderStatus.DRAFT)
    # A crm contact id when known; erp keeps its own copy of the customer's fields so that it
    # never reads crm's tables.
    contact_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    contact_email: Mapped[str | None] = mapped_column(String(320), default=None)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    total: Mapped[int] = mapped_column(default=0)  # fen
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    shipped_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)

    lines: Mapped[list[OrderLine]] = relationship(
        order_by="OrderLine.position", lazy="selectin", cascade="all, delete-orphan"
    )


class OrderLine(TenantScoped, Base):
    __tablename__ = "erp_order_lines"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("erp_orders.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("erp_items.id", ondelete="RESTRICT"))
    warehouse_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("erp_warehouses.id", ondelete="RESTRICT")
    )
    qty: Mapped[int] = mapped_column()
    unit_price: Mapped[int] = mapped_column()  # fen
    line_total: Mapped[int] = mapped_column()  # fen


class OrderTransition(TenantScoped, Base):
    """Every attempted status change, refused ones included."""

    __tablename__ = "erp_order_transitions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("erp_orders.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    accepted: Mapped[bool] = mapped_column()
    reason: Mapped[str] = mapped_column(String(300), default="")
    actor_type: Mapped[str] = mapped_column(String(16), default="system")
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Sequence(TenantScoped, Base):
    """A per-tenant counter (order numbers), advanced by one conditional UPDATE."""

    __tablename__ = "erp_sequences"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_erp_sequences_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(32))
    value: Mapped[int] = mapped_column(default=0)


@dataclass(frozen=True, slots=True)
class LineRecord:
    """An order line as the service reads it (plain Core row, no ORM state)."""

    position: int
    item_id: uuid.UUID
    warehouse_id: uuid.UUID
    qty: int
    unit_price: int
    line_total: int


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """An order as `orders.service` reads and moves it: one Core SELECT, no identity map or
    attribute instrumentation (which cost more than the statements on the confirm path)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    number: str
    status: OrderStatus
    contact_id: uuid.UUID | None
    contact_name: str
    contact_phone: str | None
    contact_email: str | None
    currency: str
    total: int
    note: str
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    lines: tuple[LineRecord, ...] = field(default=())
