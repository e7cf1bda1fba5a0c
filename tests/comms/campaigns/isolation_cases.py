"""Isolation cases for the SMS campaigns slice (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import uuid

import httpx

from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case


async def make_group(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    r = await client.post(
        "/api/v1/sms/groups",
        headers=owner.auth,
        json={
            "name": f"iso-{uuid.uuid4().hex[:8]}",
            "members": [{"phone": "13800138000", "name": "王"}],
        },
    )
    assert r.status_code == 201, r.text
    return {"group_id": r.json()["id"]}


async def make_campaign(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    r = await client.put(
        "/api/v1/messaging/settings", headers=owner.auth, json={"sms_signature": "【隔离】"}
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        "/api/v1/sms/campaigns",
        headers=owner.auth,
        json={
            "name": "iso",
            "body": "会议通知",
            "recipients": [{"phone": "13800138000"}],
            "scheduled_at": "2999-01-01T09:00:00",
        },
    )
    assert r.status_code == 202, r.text
    return {"campaign_id": r.json()["id"]}


CASES: dict[str, Case] = {
    "/api/v1/sms/groups/{group_id}": Case(make_group),
    "/api/v1/sms/groups/{group_id}/members": Case(
        make_group, bodies={"POST": {"members": [{"phone": "13900139000", "name": "hijacked"}]}}
    ),
    "/api/v1/sms/campaigns/{campaign_id}": Case(make_campaign),
}
