"""Helpers for the crm tests: make contacts through the API, read events from the outbox."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from comms.bus.models import OutboxEvent
from comms.db.tenancy import unscoped
from comms.hub import Hub
from hubtest import TenantCtx


async def make_contact(
    client: httpx.AsyncClient, t: TenantCtx, name: str = "Li Lei", **fields: Any
) -> dict[str, Any]:
    r = await client.post("/api/v1/crm/contacts", headers=t.auth, json={"name": name, **fields})
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def published(hub: Hub, topic: str) -> list[dict[str, Any]]:
    async with hub.db.session() as s:
        unscoped(s)
        rows = await s.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == topic).order_by(OutboxEvent.id)
        )
        return [dict(r.payload) for r in rows]
