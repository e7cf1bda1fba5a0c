"""Helpers for the crm tests (every slice): contacts and tickets through the API, the
timeline, events read from the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select

from comms.bus.models import OutboxEvent
from comms.channels.sms.provider import InboundSms
from comms.db.base import utcnow
from comms.db.tenancy import unscoped
from comms.hub import Hub
from comms.messages.inbound import MessagingSink
from hubtest import TenantCtx, drain


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


async def make_ticket(
    client: httpx.AsyncClient,
    t: TenantCtx,
    contact_id: str | None,
    subject: str = "no signal",
    **f: Any,
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/crm/tickets",
        headers=t.auth,
        json={"subject": subject, "contact_id": contact_id, **f},
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def set_status(
    client: httpx.AsyncClient, t: TenantCtx, ticket_id: str, status: str
) -> dict[str, Any]:
    r = await client.patch(
        f"/api/v1/crm/tickets/{ticket_id}", headers=t.auth, json={"status": status}
    )
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def timeline(
    client: httpx.AsyncClient, t: TenantCtx, contact_id: str
) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/crm/contacts/{contact_id}/timeline", headers=t.auth)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def use_inbound_number(client: httpx.AsyncClient, t: TenantCtx) -> None:
    """Route inbound SMS to 10690001… to this tenant."""
    r = await client.put(
        "/api/v1/messaging/settings", headers=t.auth, json={"inbound_sms_numbers": ["10690001"]}
    )
    assert r.status_code == 200, r.text


async def receive_sms(
    hub: Hub, sender: str, text: str, pid: str, at: datetime | None = None
) -> None:
    """An SMS as the carrier reports it, then the bus run to rest."""
    sink: MessagingSink = hub.services["messaging.sink"]
    sms = InboundSms("log", sender, "1069000123", text, at or utcnow(), [pid])
    assert await sink.receive_sms(sms)
    await drain(hub)
