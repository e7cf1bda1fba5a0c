"""Request and response shapes for segments; the filter is validated again by the service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class FieldRule(BaseModel):
    """One custom-field test; values are compared as text."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(min_length=1, max_length=64, pattern=r'^[^"\\$.\[\]]+$')
    op: Literal["equals", "contains"] = "equals"
    value: str = Field(max_length=200)


class SegmentFilter(BaseModel):
    """Every given criterion must hold (AND); an empty filter means every contact."""

    model_config = ConfigDict(extra="forbid")

    tags_any: list[str] = Field(default_factory=list, max_length=50)
    tags_all: list[str] = Field(default_factory=list, max_length=50)
    company_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    custom_fields: list[FieldRule] = Field(default_factory=list, max_length=20)
    created_from: AwareDatetime | None = None  # inclusive
    created_to: AwareDatetime | None = None  # exclusive
    has_open_ticket: bool | None = None
    phone_prefix: str | None = Field(None, max_length=32)


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=2000)
    filter: SegmentFilter = Field(default_factory=SegmentFilter)


class SegmentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = Field(None, max_length=2000)
    filter: SegmentFilter | None = None


class SegmentOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    filter: SegmentFilter
    count: int
    created_at: datetime
    updated_at: datetime


class MemberOut(BaseModel):
    contact_id: uuid.UUID
    name: str
    phone: str | None
    email: str | None


class MemberPage(BaseModel):
    count: int
    items: list[MemberOut]
    next_cursor: str | None


class PreviewOut(BaseModel):
    count: int
    sample: list[MemberOut]
