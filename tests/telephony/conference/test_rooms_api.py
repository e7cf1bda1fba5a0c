"""Conference rooms: numbers inside the VPMN plan, distinct PINs, errors naming the field."""

from __future__ import annotations

import httpx
from conference_testkit import setup_members

from comms.hub import Hub
from hubtest import TenantCtx

ROOM = {
    "name": "Sales weekly",
    "number": "6100",
    "did": "+862161234567",
    "participant_pin": "1234",
    "moderator_pin": "9999",
}


async def test_room_is_created_listed_and_never_shows_its_pins(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    r = await client.post("/api/v1/conference-rooms", headers=tenant.auth, json=ROOM)
    assert r.status_code == 201, r.text
    assert "participant_pin" not in r.json() and "moderator_pin" not in r.json()
    listed = (await client.get("/api/v1/conference-rooms", headers=tenant.auth)).json()
    assert [room["number"] for room in listed] == ["6100"]


async def test_room_errors_name_the_field(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_members(hub, tenant.id)
    cases = [
        ({"number": "7100"}, "number"),  # outside the plan's prefixes
        ({"number": "6001"}, "number"),  # a member's short number
        ({"moderator_pin": "1234"}, "moderator_pin"),
        ({"participant_pin": "12a4"}, "participant_pin"),
    ]
    for change, field in cases:
        r = await client.post(
            "/api/v1/conference-rooms", headers=tenant.auth, json={**ROOM, **change}
        )
        assert r.status_code in (409, 422), (change, r.text)
        assert field in r.text, (change, r.text)
    assert (
        await client.post("/api/v1/conference-rooms", headers=tenant.auth, json=ROOM)
    ).status_code == 201
    r = await client.post("/api/v1/conference-rooms", headers=tenant.auth, json=ROOM)
    assert r.status_code == 409 and "number" in r.text
