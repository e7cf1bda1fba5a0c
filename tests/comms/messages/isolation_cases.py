"""Isolation cases for the messages slice (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import httpx

from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case


async def make_message(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    r = await client.post(
        "/api/v1/messages",
        headers=owner.auth,
        json={"channel": "email", "to": "isolated@example.com", "subject": "s", "body": "b"},
    )
    assert r.status_code == 202, r.text
    return {"message_id": r.json()["id"]}


async def make_conversation(
    hub: Hub, client: httpx.AsyncClient, owner: TenantCtx
) -> dict[str, str]:
    r = await client.post(
        "/api/v1/messages",
        headers=owner.auth,
        json={"channel": "email", "to": "thread@example.com", "subject": "s", "body": "b"},
    )
    assert r.status_code == 202, r.text
    return {"conversation_id": r.json()["conversation_id"]}


CASES: dict[str, Case] = {
    "/api/v1/messages/{message_id}": Case(make_message),
    "/api/v1/conversations/{conversation_id}": Case(make_conversation),
    "/api/v1/conversations/{conversation_id}/messages": Case(make_conversation),
}
