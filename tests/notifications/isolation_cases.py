"""Isolation cases for notifications routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from comms.auth.models import User
from comms.db.base import utcnow
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case
from notifications import notify

RULE = {
    "name": "hijacked",
    "topic": "comms.message.inbound",
    "recipients": [{"kind": "role", "value": "admin"}],
    "channels": ["console"],
}
TEMPLATE = {"topic": "comms.message.inbound", "channel": "sms", "locale": "en", "body": "x"}


async def make_rule(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    r = await client.post(
        "/api/v1/notifications/rules", headers=owner.auth, json={**RULE, "name": "mine"}
    )
    assert r.status_code == 201, r.text
    return {"rule_id": r.json()["id"]}


async def make_template(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    locale = "zh-CN" if uuid.uuid4().int % 2 else "en"
    r = await client.get("/api/v1/notifications/templates", headers=owner.auth)
    for t in r.json()["items"]:  # one per (topic, channel, locale): reuse the owner's
        return {"template_id": t["id"]}
    r = await client.post(
        "/api/v1/notifications/templates",
        headers=owner.auth,
        json={**TEMPLATE, "locale": locale, "body": "收到 {{ sender }}"},
    )
    assert r.status_code == 201, r.text
    return {"template_id": r.json()["id"]}


async def make_notification(
    hub: Hub, client: httpx.AsyncClient, owner: TenantCtx
) -> dict[str, str]:
    """A console notice to the owner's admin, made by the dispatcher from an event."""
    await make_rule(hub, client, owner)
    async with hub.db.session() as s:
        scoped_to(s, owner.id)
        admin = await s.scalar(select(User).where(User.email == owner.admin_email))
        assert admin is not None
        made = await notify.notify_event(
            s,
            hub.settings,
            "comms.message.inbound",
            uuid.uuid4().int % 10**9,
            {"sender": "+8613800138000", "summary": "inbound"},
            utcnow(),
        )
        await s.commit()
        mine = [n for n in made if n.user_id == admin.id]
        return {"notification_id": str(mine[0].id)}


CASES = {
    "/api/v1/notifications/rules/{rule_id}": Case(make_rule, bodies={"PUT": RULE}),
    "/api/v1/notifications/templates/{template_id}": Case(
        make_template, bodies={"PUT": {**TEMPLATE, "body": "hijacked"}}
    ),
    "/api/v1/notifications/{notification_id}": Case(make_notification),
    "/api/v1/notifications/{notification_id}/read": Case(make_notification),
}
