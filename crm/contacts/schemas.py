"""Request and response shapes for contacts, companies, lookup and the timeline."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class ProfileIn(BaseModel):
    """Fields contacts and companies share. Phones may be written any common way (default
    region CN); stored as E.164."""

    model_config = ConfigDict(extra="forbid")

    owner_id: uuid.UUID | None = None
    phones: list[str] = Field(default_factory=list, max_length=20)
    emails: list[str] = Field(default_factory=list, max_length=20)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    custom_fields: dict[str, Any] = Field(default_factory=dict)


class ProfilePatch(BaseModel):
    """Only the fields given change; `phones`/`emails`/`tags` replace the whole list,
    `custom_fields` are merged key by key."""

    model_config = ConfigDict(extra="forbid")

    owner_id: uuid.UUID | None = None
    phones: list[str] | None = Field(None, max_length=20)
    emails: list[str] | None = Field(None, max_length=20)
    tags: list[Tag] | None = Field(None, max_length=50)
    custom_fields: dict[str, Any] | None = None


class CompanyIn(ProfileIn):
    name: str = Field(min_length=1, max_length=200)


class CompanyPatch(ProfilePatch):
    name: str | None = Field(None, min_length=1, max_length=200)


class CompanyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @field_validator("phones", "emails", mode="before")
    @classmethod
    def _values(cls, rows: list[Any]) -> list[Any]:
        """The model holds index rows; the API shows their values."""
        return [getattr(r, "e164", None) or getattr(r, "address", r) for r in rows]

    id: uuid.UUID
    name: str
    owner_id: uuid.UUID | None
    phones: list[str]
    emails: list[str]
    tags: list[str]
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ContactIn(ProfileIn):
    name: str = Field(min_length=1, max_length=200)
    company_id: uuid.UUID | None = None


class ContactPatch(ProfilePatch):
    name: str | None = Field(None, min_length=1, max_length=200)
    company_id: uuid.UUID | None = None


class ContactOut(BaseModel):
    id: uuid.UUID
    name: str
    company_id: uuid.UUID | None
    owner_id: uuid.UUID | None
    phones: list[str]
    emails: list[str]
    tags: list[str]
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ContactPage(BaseModel):
    items: list[ContactOut]
    # Lookup only: companies owning a number/address no contact owns; [] elsewhere.
    companies: list[CompanyOut] = []
    next_cursor: str | None = None  # pass as `cursor` for the next page; None on the last


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duplicate_id: uuid.UUID


class TimelineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    direction: str | None
    ref: str
    status: str | None
    summary: str
    duration_seconds: int | None = None
    at: datetime


class TimelinePage(BaseModel):
    items: list[TimelineOut]
