"""Isolation cases for segment routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import uuid

import httpx

from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case


async def make_segment(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    r = await client.post(
        "/api/v1/crm/segments",
        headers=owner.auth,
        json={"name": f"iso-{uuid.uuid4().hex[:8]}", "filter": {"tags_any": ["vip"]}},
    )
    assert r.status_code == 201, r.text
    return {"segment_id": r.json()["id"]}


CASES: dict[str, Case] = {
    "/api/v1/crm/segments/{segment_id}": Case(
        make_segment, {"PATCH": {"name": "hijacked", "filter": {}}}
    ),
    "/api/v1/crm/segments/{segment_id}/members": Case(make_segment),
}
