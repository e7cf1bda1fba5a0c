"""A missed call from a known contact opens one callback ticket (when telephony publishes it)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from comms.bus import publish
from comms.db.base import utcnow
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from crm.tickets.handlers import CALL_MISSED
from crm_testkit import make_contact
from hubtest import TenantCtx, drain


async def miss(hub: Hub, t: TenantCtx, caller: str, call_id: uuid.UUID, direction: str) -> None:
    payload = {
        "call_id": str(call_id),
        "tenant_id": str(t.id),
        "direction": direction,
        "caller": caller,
        "callee": "8001",
        "in_network": False,
        "at": utcnow().isoformat(),
        "disposition": "no_answer",
        "reason": "timeout",
    }
    async with hub.db.session() as s:
        scoped_to(s, t.id)
        publish(s, CALL_MISSED, payload)
        await s.commit()
    await drain(hub)


async def test_missed_call_from_a_contact_opens_one_callback_ticket(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    if CALL_MISSED not in hub.topics:
        pytest.skip("telephony does not register telephony.call.missed in this build")
    c = await make_contact(client, tenant, phones=["13800138000"])
    call = uuid.uuid4()
    await miss(hub, tenant, "+8613800138000", call, "inbound")
    await miss(hub, tenant, "+8613800138000", call, "inbound")  # the same event again
    await miss(hub, tenant, "+8613900139000", uuid.uuid4(), "inbound")  # a stranger
    await miss(hub, tenant, "13800138000", uuid.uuid4(), "outbound")  # we called, no answer
    items = (await client.get("/api/v1/crm/tickets", headers=tenant.auth)).json()["items"]
    assert [(x["channel"], x["contact_id"]) for x in items] == [("phone", c["id"])]
    assert items[0]["subject"].startswith("Callback")
    tl = await client.get(f"/api/v1/crm/contacts/{c['id']}/timeline", headers=tenant.auth)
    assert sorted(e["kind"] for e in tl.json()["items"]) == ["call", "ticket"]
