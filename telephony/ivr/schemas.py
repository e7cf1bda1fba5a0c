"""IVR request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from telephony.ivr.models import VersionStatus
from telephony.vpmn.resolve import to_e164


class FlowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    document: dict[str, Any]


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document: dict[str, Any]


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    status: VersionStatus
    document: dict[str, Any]
    created_at: datetime
    published_at: datetime | None


class FlowOut(BaseModel):
    id: uuid.UUID
    name: str
    created_at: datetime
    draft: VersionOut | None
    published: VersionOut | None


class ProblemOut(BaseModel):
    node: str | None
    code: str
    message: str


class ValidationOut(BaseModel):
    valid: bool
    problems: list[ProblemOut]


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    did: str
    flow_id: uuid.UUID

    @field_validator("did")
    @classmethod
    def _e164(cls, v: str) -> str:
        e164 = to_e164(v)
        if e164 is None:
            raise ValueError(f"{v!r} is not a phone number")
        return e164


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    did: str
    flow_id: uuid.UUID
    created_at: datetime
