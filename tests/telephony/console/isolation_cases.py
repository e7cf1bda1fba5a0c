"""Isolation cases for the console routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import httpx

from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case


async def make_known_caller(
    hub: Hub, client: httpx.AsyncClient, owner: TenantCtx
) -> dict[str, str]:
    r = await client.post(
        "/api/v1/crm/contacts",
        headers=owner.auth,
        json={"name": "isolated caller", "phones": ["+8613811112222"]},
    )
    assert r.status_code == 201, r.text
    return {"phone": "+8613811112222"}


# A number is not a row: another tenant asking about it gets 200 and an empty pop (no
# contact), never the owner's contact; the route test checks no owner id leaks into it.
CASES = {"/api/v1/console/pop/{phone}": Case(make_known_caller, expect=200)}
