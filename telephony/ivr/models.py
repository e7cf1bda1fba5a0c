"""IVR tables: flows, their versions (draft/published/retired) and entry numbers (DIDs)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from comms.db.base import Base, TenantScoped, Timestamped, new_id
from telephony.vpmn.models import str_enum


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class Flow(TenantScoped, Timestamped, Base):
    __tablename__ = "ivr_flows"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_ivr_flows_name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))


class FlowVersion(TenantScoped, Timestamped, Base):
    """One immutable-once-published revision; calls in progress keep the version they began on."""

    __tablename__ = "ivr_flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "version", name="uq_ivr_flow_versions_version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    flow_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ivr_flows.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    status: Mapped[VersionStatus] = mapped_column(str_enum(VersionStatus))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime | None] = mapped_column(default=None)


class Entry(TenantScoped, Timestamped, Base):
    """A DID that starts a flow. Unique across the hub: the number alone finds the tenant."""

    __tablename__ = "ivr_entries"
    __table_args__ = (UniqueConstraint("did", name="uq_ivr_entries_did"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    did: Mapped[str] = mapped_column(String(20))
    flow_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ivr_flows.id", ondelete="CASCADE"), index=True
    )
