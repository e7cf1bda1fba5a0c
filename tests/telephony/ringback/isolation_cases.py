"""Isolation cases for the ringback routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import io
import uuid
import wave

import httpx

from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 4000)
    return out.getvalue()


async def make_tone(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    r = await client.post(
        "/api/v1/ringback/tones",
        params={"name": f"owner tone {uuid.uuid4().hex[:6]}"},
        content=wav(),
        headers={**owner.auth, "Content-Type": "audio/wav"},
    )
    assert r.status_code == 201, r.text
    return {"tone_id": r.json()["id"]}


async def make_rule(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    tone = await make_tone(hub, client, owner)
    r = await client.post(
        "/api/v1/ringback/rules",
        headers=owner.auth,
        json={"tone_id": tone["tone_id"], "scope": "tenant"},
    )
    assert r.status_code == 201, r.text
    return {"rule_id": r.json()["id"]}


CASES: dict[str, Case] = {
    "/api/v1/ringback/tones/{tone_id}": Case(make_tone),
    "/api/v1/ringback/tones/{tone_id}/audio": Case(make_tone),
    "/api/v1/ringback/rules/{rule_id}": Case(make_rule),
}
