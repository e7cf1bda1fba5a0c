"""Segments: a named, saved contact filter per tenant."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from comms.db.base import Base, TenantScoped, Timestamped, new_id, utcnow


class Segment(TenantScoped, Timestamped, Base):
    """A filter over contacts (schemas.SegmentFilter as JSON), evaluated when asked."""

    __tablename__ = "crm_segments"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_crm_segments_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    filter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
