from __future__ import annotations

import uuid
from typing import ClassVar

from comms.bus.topics import EventPayload


class TenantCreated(EventPayload):
    topic: ClassVar[str] = "comms.tenant.created"
    version: ClassVar[int] = 1

    tenant_id: uuid.UUID
    name: str


TOPICS: list[type[EventPayload]] = [TenantCreated]
