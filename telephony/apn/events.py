"""Topics the APN slice publishes: device sessions, device data, pushes to devices."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field

from comms.bus.topics import EventPayload


class SessionStarted(EventPayload):
    topic: ClassVar[str] = "apn.session.started"
    version: ClassVar[int] = 1

    session_id: uuid.UUID
    device_id: uuid.UUID
    apn_id: uuid.UUID
    address: str | None
    started_at: datetime


class SessionStopped(EventPayload):
    topic: ClassVar[str] = "apn.session.stopped"
    version: ClassVar[int] = 1

    session_id: uuid.UUID
    device_id: uuid.UUID
    apn_id: uuid.UUID
    address: str | None
    started_at: datetime
    stopped_at: datetime
    bytes_in: int
    bytes_out: int
    stop_cause: str


class ReadingRecorded(EventPayload):
    topic: ClassVar[str] = "apn.reading.recorded"
    version: ClassVar[int] = 1

    data_id: uuid.UUID
    device_id: uuid.UUID
    at: datetime
    values: dict[str, float]


class CheckinRecorded(EventPayload):
    topic: ClassVar[str] = "apn.checkin.recorded"
    version: ClassVar[int] = 1

    data_id: uuid.UUID
    device_id: uuid.UUID
    at: datetime
    latitude: float
    longitude: float
    note: str = ""


class DeliveryConfirmed(EventPayload):
    """A device confirmed a delivery; ERP (a later issue) subscribes to move the order to
    delivered. Nothing here knows ERP's tables: the order is named by its number."""

    topic: ClassVar[str] = "apn.delivery.confirmed"
    version: ClassVar[int] = 1

    data_id: uuid.UUID
    device_id: uuid.UUID
    order_number: str
    at: datetime
    latitude: float | None = None
    longitude: float | None = None
    recipient: str = ""


class DevicePush(EventPayload):
    """A message for a device's WebSocket (`/ws/device`), published by any package."""

    topic: ClassVar[str] = "apn.device.push"
    version: ClassVar[int] = 1

    device_id: uuid.UUID
    kind: str = Field(min_length=1, max_length=64)
    body: dict[str, Any] = Field(default_factory=dict)


TOPICS: list[type[EventPayload]] = [
    SessionStarted,
    SessionStopped,
    ReadingRecorded,
    CheckinRecorded,
    DeliveryConfirmed,
    DevicePush,
]
