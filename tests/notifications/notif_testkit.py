"""Helpers for notifications tests: a fake ERP-shaped topic (the ERP package is built in
parallel), users and rules made through the API, events published through the bus."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

import httpx
from sqlalchemy import select

from comms.bus import EventPayload, publish
from comms.channels.sms.log import LogSmsProvider
from comms.channels.sms.provider import OutboundSms, SubmitError, SubmitResult
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from comms.modules import Module
from hubtest import TenantCtx
from notifications.models import DeliveryAttempt, Notification

# Shaped like erp.stock.low; its own name, so it never clashes with the real ERP topic.
TOPIC = "erp.teststock.low"


class StockLow(EventPayload):
    topic: ClassVar[str] = TOPIC
    version: ClassVar[int] = 1

    item_id: uuid.UUID
    sku: str
    name: str
    on_hand: int
    threshold: int
    warehouse: str = "WH1"
    manager_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    summary: str


FAKE_ERP = Module(name="test_notif_erp", topics=(StockLow,))


def stock_low(**fields: Any) -> StockLow:
    values: dict[str, Any] = {
        "item_id": uuid.uuid4(),
        "sku": "SKU-1",
        "name": "螺丝 M3",
        "on_hand": 3,
        "threshold": 10,
        "summary": "库存低: 螺丝 M3 剩 3",
    }
    values.update(fields)
    return StockLow(**values)


async def fire(hub: Hub, t: TenantCtx, payload: EventPayload) -> None:
    """Publish and commit, as the ERP service would in its own transaction."""
    async with hub.db.session() as s:
        scoped_to(s, t.id)
        publish(s, type(payload).topic, payload)  # type: ignore[attr-defined]
        await s.commit()


async def make_user(
    client: httpx.AsyncClient,
    t: TenantCtx,
    *,
    role: str = "agent",
    mobile: str | None = "+8613800138001",
    department: str = "",
) -> dict[str, Any]:
    """A user through the API, with a bearer token for acting as them."""
    email = f"u{uuid.uuid4().hex[:8]}@{t.name}.example.cn"
    r = await client.post(
        "/api/v1/users",
        headers=t.auth,
        json={
            "email": email,
            "password": "user-password-1",
            "role": role,
            "mobile": mobile,
            "department": department,
        },
    )
    assert r.status_code == 201, r.text
    user: dict[str, Any] = r.json()
    r = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": "user-password-1"}
    )
    assert r.status_code == 200, r.text
    user["auth"] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return user


async def add_rule(client: httpx.AsyncClient, t: TenantCtx, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "low stock",
        "topic": TOPIC,
        "recipients": [{"kind": "role", "value": "agent"}],
        "channels": ["console", "sms", "email"],
        "escalate_after_minutes": 10,
    }
    body.update(fields)
    r = await client.post("/api/v1/notifications/rules", headers=t.auth, json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def notices(hub: Hub) -> list[Notification]:
    async with hub.db.session() as s:
        unscoped(s)
        return list(await s.scalars(select(Notification).order_by(Notification.created_at)))


async def attempts(hub: Hub, notification_id: uuid.UUID) -> list[DeliveryAttempt]:
    async with hub.db.session() as s:
        unscoped(s)
        return list(
            await s.scalars(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.notification_id == notification_id)
                .order_by(DeliveryAttempt.id)
            )
        )


class RejectingProvider(LogSmsProvider):
    """An SMSC that refuses every number for good (the message ends `failed`)."""

    name = "rejecting"

    def __init__(self) -> None:
        self.submitted: list[OutboundSms] = []

    async def submit(self, sms: OutboundSms) -> SubmitResult:
        self.submitted.append(sms)
        raise SubmitError("INVALID_DEST", "destination refused", permanent=True)
