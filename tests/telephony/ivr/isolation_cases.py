"""Isolation cases for the IVR routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import uuid

import httpx

from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case

FLOW = {"start": "bye", "nodes": {"bye": {"type": "hangup"}}}


async def make_flow(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    r = await client.post(
        "/api/v1/ivr/flows",
        headers=owner.auth,
        json={"name": f"owner flow {uuid.uuid4().hex[:6]}", "document": FLOW},
    )
    assert r.status_code == 201, r.text
    return {"flow_id": r.json()["id"]}


async def make_entry(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    flow = (await make_flow(hub, client, owner))["flow_id"]
    r = await client.post(f"/api/v1/ivr/flows/{flow}/publish", headers=owner.auth)
    assert r.status_code == 200, r.text
    did = f"+86105800{uuid.uuid4().int % 10000:04d}"
    r = await client.post(
        "/api/v1/ivr/entries", headers=owner.auth, json={"did": did, "flow_id": flow}
    )
    assert r.status_code == 201, r.text
    return {"entry_id": r.json()["id"]}


CASES: dict[str, Case] = {
    "/api/v1/ivr/flows/{flow_id}": Case(make_flow),
    "/api/v1/ivr/flows/{flow_id}/draft": Case(make_flow, {"PUT": {"document": FLOW}}),
    "/api/v1/ivr/flows/{flow_id}/validate": Case(make_flow),
    "/api/v1/ivr/flows/{flow_id}/publish": Case(make_flow),
    "/api/v1/ivr/entries/{entry_id}": Case(make_entry),
}
