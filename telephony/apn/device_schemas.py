"""Bodies of the device-facing API (`/api/v1/device/...`, `/ws/device`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from telephony.apn.models import DataKind


class ReadingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime | None = Field(None, description="when measured; default: when received")
    values: dict[str, float] = Field(
        min_length=1, max_length=50, examples=[{"temperature_c": 4.5, "battery_v": 3.7}]
    )


class CheckinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime | None = None
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(None, ge=0)
    note: str = Field("", max_length=500)


class DeliveryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_number: str = Field(min_length=1, max_length=64)
    at: datetime | None = None
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    recipient: str = Field("", max_length=200)
    note: str = Field("", max_length=500)


class DataOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    device_id: uuid.UUID
    kind: DataKind
    at: datetime
    received_at: datetime
    latitude: float | None
    longitude: float | None
    payload: dict[str, object]


class PushIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=64, examples=["job.assigned"])
    body: dict[str, object] = Field(default_factory=dict)
