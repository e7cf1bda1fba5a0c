"""End to end on ARI with the real erp query: a caller keys an order's digits and hears its
status, said by a play node whose media names the looked-up variable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from comms.auth.principal import Principal
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari import AriClient, ReconnectPolicy
from telephony.ari.simulator import AriSimulator
from telephony.ivr import service as ivr
from telephony.stasis.app import StasisApp

DID = "+861058007777"
ERP = "/api/v1/erp"
FLOW: dict[str, Any] = {
    "start": "ask",
    "nodes": {
        "ask": {
            "type": "gather",
            "prompt": "sound:enter-order",
            "digits": 6,
            "timeout": 1,
            "variable": "number",
            "next": "look",
        },
        "look": {
            "type": "lookup",
            "source": "internal",
            "query": "erp.order_status",
            "variable": "status",
            "next": "say",
            "on_error": "unknown",
        },
        "say": {"type": "play", "media": "sound:order-status-{status}", "next": "bye"},
        "unknown": {"type": "play", "media": "sound:order-unknown", "next": "bye"},
        "bye": {"type": "hangup"},
    },
}


@pytest.fixture
async def stasis(hub: Hub, sim: AriSimulator) -> AsyncIterator[StasisApp]:
    """A Stasis app asking the hub's real named queries (erp, crm), no stand-ins."""
    fast = ReconnectPolicy(initial_delay=0.02, max_delay=0.2, stable_after=30.0)
    async with AriClient(sim.base_url, sim.app, reconnect=fast) as ari:
        app = StasisApp(ari, hub.db, click_poll_interval=0.02, queries=hub.queries)
        await app.start()
        async with asyncio.timeout(5):
            await ari.wait_connected()
        yield app
        await app.close()


async def post(client: httpx.AsyncClient, t: TenantCtx, path: str, body: Any) -> Any:
    r = await client.post(f"{ERP}{path}", headers=t.auth, json=body)
    assert r.status_code in (200, 201), r.text
    return r.json()


async def shipped_order(client: httpx.AsyncClient, t: TenantCtx) -> str:
    item = (await post(client, t, "/items", {"sku": "AX3000", "name": "Router"}))["id"]
    wh = (await post(client, t, "/warehouses", {"code": "SZ", "name": "Shenzhen DC"}))["id"]
    await post(
        client,
        t,
        "/movements",
        {"kind": "receipt", "item_id": item, "warehouse_id": wh, "quantity": 3},
    )
    line = {"item_id": item, "warehouse_id": wh, "qty": 1, "unit_price": 100}
    order = await post(client, t, "/orders", {"contact_phone": "13800138000", "lines": [line]})
    for status in ("confirmed", "shipped"):
        await post(client, t, f"/orders/{order['id']}/transitions", {"to": status})
    return str(order["number"])


async def publish(hub: Hub, tenant: TenantCtx) -> None:
    actor = Principal.system(tenant.id)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        flow = await ivr.create_flow(s, actor, "where-is-my-order", FLOW)
        await ivr.publish(s, actor, flow.id)
        await ivr.create_entry(s, actor, DID, flow.id)


def played(sim: AriSimulator, channel: str) -> list[str]:
    return [r.query["media"] for r in sim.requests_for(nickname="play", channelId=channel)]


async def until(sim: AriSimulator, check: Any) -> None:
    async with asyncio.timeout(5):
        await sim.wait_until(check)


async def test_a_caller_keys_the_order_digits_and_hears_its_status(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    assert await shipped_order(client, tenant) == "SO-000001"
    await publish(hub, tenant)
    caller = sim.inbound_call(caller_number="+8613900000000", exten=DID)
    await until(sim, lambda: "sound:enter-order" in played(sim, caller))
    sim.send_dtmf(caller, "1#")  # the keypad has no "SO-": the digits alone
    await until(sim, lambda: caller not in sim.channels)
    assert played(sim, caller) == ["sound:enter-order", "sound:order-status-shipped"]


async def test_digits_of_no_order_hear_the_unknown_prompt(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> None:
    await shipped_order(client, tenant)
    await publish(hub, tenant)
    caller = sim.inbound_call(caller_number="+8613900000000", exten=DID)
    await until(sim, lambda: "sound:enter-order" in played(sim, caller))
    sim.send_dtmf(caller, "42#")
    await until(sim, lambda: caller not in sim.channels)
    assert played(sim, caller) == ["sound:enter-order", "sound:order-unknown"]
