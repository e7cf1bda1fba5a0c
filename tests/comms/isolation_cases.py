"""Isolation cases for the core's routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from bus_fixtures import FlakyHappened
from comms.bus import publish
from comms.bus.models import Delivery
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx, drain
from isolation import Case


async def make_user(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    r = await client.post(
        "/api/v1/users",
        headers=owner.auth,
        json={"email": "agent@owner.cn", "password": "password-1"},
    )
    assert r.status_code == 201, r.text
    return {"user_id": r.json()["id"]}


async def make_key(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    r = await client.post("/api/v1/api-keys", headers=owner.auth, json={"name": "crm sync"})
    assert r.status_code == 201, r.text
    return {"key_id": r.json()["id"]}


async def make_dead_letter(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    async with hub.db.session() as s:
        scoped_to(s, owner.id)
        publish(s, FlakyHappened.topic, FlakyHappened(n=1, failures=99))
        await s.commit()
    await drain(hub)
    async with hub.db.session() as s:
        scoped_to(s, owner.id)
        d_id = await s.scalar(select(Delivery.id))
    return {"delivery_id": str(d_id)}


CASES: dict[str, Case] = {
    "/api/v1/users/{user_id}": Case(make_user, {"PATCH": {"name": "hijacked"}}),
    "/api/v1/api-keys/{key_id}": Case(make_key),
    "/api/v1/bus/dead-letters/{delivery_id}/replay": Case(make_dead_letter),
}
