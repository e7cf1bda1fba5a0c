from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from comms.bus.models import DeliveryStatus


class DeadLetterOut(BaseModel):
    id: int
    event_id: int
    topic: str
    version: int
    tenant_id: uuid.UUID
    subscriber: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    event_created_at: datetime
    payload: dict[str, Any]


class DeadLetterPage(BaseModel):
    items: list[DeadLetterOut]
    next_cursor: int | None
