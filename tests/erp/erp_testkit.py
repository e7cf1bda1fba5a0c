"""Helpers for the erp tests: items, warehouses, movements and orders through the API,
events read back from the outbox, users who can log in."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from comms.bus.models import OutboxEvent
from comms.db.tenancy import unscoped
from comms.hub import Hub
from hubtest import TenantCtx

API = "/api/v1/erp"


async def make_item(
    client: httpx.AsyncClient, t: TenantCtx, sku: str | None = None, **fields: Any
) -> dict[str, Any]:
    body = {"sku": sku or f"SKU-{uuid.uuid4().hex[:6]}", "name": "Router AX3000", **fields}
    r = await client.post(f"{API}/items", headers=t.auth, json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def make_warehouse(
    client: httpx.AsyncClient, t: TenantCtx, code: str | None = None, **fields: Any
) -> dict[str, Any]:
    body = {"code": code or f"WH-{uuid.uuid4().hex[:4]}", "name": "Shenzhen DC", **fields}
    r = await client.post(f"{API}/warehouses", headers=t.auth, json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def move(
    client: httpx.AsyncClient, t: TenantCtx, kind: str, item: str, wh: str, **fields: Any
) -> httpx.Response:
    body = {"kind": kind, "item_id": item, "warehouse_id": wh, **fields}
    return await client.post(f"{API}/movements", headers=t.auth, json=body)


async def receive(client: httpx.AsyncClient, t: TenantCtx, item: str, wh: str, qty: int) -> None:
    r = await move(client, t, "receipt", item, wh, quantity=qty, reason="initial")
    assert r.status_code == 201, r.text


async def level(client: httpx.AsyncClient, t: TenantCtx, item: str, wh: str) -> dict[str, Any]:
    r = await client.get(
        f"{API}/stock", headers=t.auth, params={"item_id": item, "warehouse_id": wh}
    )
    assert r.status_code == 200, r.text
    rows = r.json()
    assert len(rows) == 1, rows
    data: dict[str, Any] = rows[0]
    return data


async def make_order(
    client: httpx.AsyncClient, t: TenantCtx, lines: list[dict[str, Any]], **fields: Any
) -> dict[str, Any]:
    body = {
        "contact_name": "Han Meimei",
        "contact_phone": "13800138000",
        "contact_email": "han@example.cn",
        "lines": lines,
        **fields,
    }
    r = await client.post(f"{API}/orders", headers=t.auth, json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def to(client: httpx.AsyncClient, t: TenantCtx, order_id: str, status: str) -> httpx.Response:
    return await client.post(
        f"{API}/orders/{order_id}/transitions", headers=t.auth, json={"to": status}
    )


def invalid_fields(r: httpx.Response) -> list[str]:
    """The fields a request-validation 422 names, as "body.lines.0.qty" (FastAPI's
    `detail[].loc`), so a test proves the answer says which field is wrong."""
    assert r.status_code == 422, r.text
    return [".".join(str(p) for p in e["loc"]) for e in r.json()["detail"]]


async def published(hub: Hub, topic: str) -> list[dict[str, Any]]:
    async with hub.db.session() as s:
        unscoped(s)
        rows = await s.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == topic).order_by(OutboxEvent.id)
        )
        return [dict(r.payload) for r in rows]


async def make_user(
    client: httpx.AsyncClient,
    t: TenantCtx,
    email: str,
    role: str = "agent",
    mobile: str | None = None,
) -> tuple[str, dict[str, str]]:
    """A user of `t` and the bearer headers of their login: (user id, headers)."""
    body: dict[str, Any] = {"email": email, "password": "password-123", "role": role}
    if mobile:
        body["mobile"] = mobile
    r = await client.post("/api/v1/users", headers=t.auth, json=body)
    assert r.status_code == 201, r.text
    login = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": "password-123"}
    )
    assert login.status_code == 200, login.text
    return r.json()["id"], {"Authorization": f"Bearer {login.json()['access_token']}"}
