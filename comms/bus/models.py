"""The outbox (events, written in the publisher's transaction) and per-subscriber deliveries."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from comms.db.base import Base, TenantScoped, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"  # handed (or about to be handed) to the broker
    RETRYING = "retrying"  # last attempt failed; waits for next_attempt_at
    DONE = "done"
    DEAD = "dead"  # attempts exhausted; listed as a dead letter until replayed


class OutboxEvent(TenantScoped, Base):
    __tablename__ = "bus_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(120))
    version: Mapped[int]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)

    # Partial: only rows still waiting for the relay, so the claim stays cheap however many
    # dispatched events the table keeps.
    __table_args__ = (
        Index(
            "ix_bus_outbox_undispatched",
            "id",
            postgresql_where=text("dispatched_at IS NULL"),
            sqlite_where=text("dispatched_at IS NULL"),
        ),
    )


class Delivery(TenantScoped, Base):
    """One event for one subscriber: the unit of work and the idempotency record."""

    __tablename__ = "bus_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # uq_bus_deliveries_event_subscriber leads with it: no index of its own.
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("bus_outbox.id", ondelete="CASCADE"))
    subscriber: Mapped[str] = mapped_column(String(120))
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(
            DeliveryStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    handed_at: Mapped[datetime | None] = mapped_column(default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    done_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        UniqueConstraint("event_id", "subscriber", name="uq_bus_deliveries_event_subscriber"),
        Index(
            "ix_bus_deliveries_retry_due",
            "next_attempt_at",
            postgresql_where=text("status = 'retrying'"),
            sqlite_where=text("status = 'retrying'"),
        ),
        Index(
            "ix_bus_deliveries_in_flight",
            "handed_at",
            postgresql_where=text("status = 'queued'"),
            sqlite_where=text("status = 'queued'"),
        ),
    )
