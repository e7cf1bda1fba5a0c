"""Isolation cases for erp approval routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import uuid

import httpx

from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case


async def make_request(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    email = f"iso-{uuid.uuid4().hex[:8]}@{owner.name}.cn"
    u = await client.post(
        "/api/v1/users",
        headers=owner.auth,
        json={"email": email, "password": "password-123", "role": "admin"},
    )
    assert u.status_code == 201, u.text
    login = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": "password-123"}
    )
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    chain = {"kind": "expense", "steps": [{"min_amount": 0, "user_id": u.json()["id"]}]}
    assert (
        await client.post("/api/v1/erp/approval-chains", headers=owner.auth, json=chain)
    ).status_code == 200
    body = {"kind": "expense", "amount": 100, "reason": "isolated"}
    r = await client.post("/api/v1/erp/approvals", headers=auth, json=body)
    assert r.status_code == 201, r.text
    return {"request_id": r.json()["id"]}


CASES: dict[str, Case] = {
    "/api/v1/erp/approvals/{request_id}": Case(make_request),
    "/api/v1/erp/approvals/{request_id}/decision": Case(
        make_request, {"POST": {"decision": "approve"}}
    ),
}
