"""Isolation cases for knowledge-base routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import httpx

from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case


async def make_article(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    r = await client.post(
        "/api/v1/crm/articles",
        headers=owner.auth,
        json={"title": "isolated", "body": "secret steps", "status": "published"},
    )
    assert r.status_code == 201, r.text
    return {"article_id": r.json()["id"]}


CASES: dict[str, Case] = {
    "/api/v1/crm/articles/{article_id}": Case(make_article, {"PATCH": {"title": "hijacked"}}),
}
