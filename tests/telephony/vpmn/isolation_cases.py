"""Isolation cases for the VPMN routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import httpx

from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case


async def make_member(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    r = await client.post(
        "/api/v1/vpmn/members",
        headers=owner.auth,
        json={"name": "Owner Member", "short_number": "6123", "desk_endpoint": "PJSIP/owner"},
    )
    assert r.status_code == 201, r.text
    return {"member_id": r.json()["id"]}


CASES: dict[str, Case] = {
    "/api/v1/vpmn/members/{member_id}": Case(make_member, {"PATCH": {"name": "hijacked"}}),
}
