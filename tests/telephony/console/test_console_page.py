"""The console page and its reads: served assets, who am I, the screen pop on demand."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest
from console_testkit import hub_answering, make_contact, make_person

from comms.app import create_app
from comms.hub import Hub
from comms.settings import Settings
from hubtest import TenantCtx, make_tenant

ORDERS = {
    "+8613800138000": [
        {
            "number": "SO-1001",
            "status": "shipped",
            "total": "99.00",
            "currency": "CNY",
            "created_at": "2026-11-20T10:00:00Z",
        }
    ]
}


async def recent_orders(_: Any, args: Mapping[str, str]) -> list[dict[str, str]]:
    return ORDERS.get(args["phone"], [])


async def webrtc(_: Any, args: Mapping[str, str]) -> dict[str, str]:
    return {
        "wss_url": "wss://pbx.example.cn:8089/ws",
        "sip_uri": f"sip:{args['user_id'][:8]}@pbx.example.cn",
        "password": "sip-secret",
        "display_name": "Agent",
    }


async def test_the_page_and_its_modules_are_served_without_any_cdn(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/console")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "https://" not in page.text and "http://" not in page.text
    js = await client.get("/console/app.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert (await client.get("/console/../api.py")).status_code == 404
    assert (await client.get("/console/%2e%2e/api.py")).status_code == 404


async def test_me_names_the_user_and_has_no_webrtc_unless_the_call_centre_answers(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    agent = await make_person(client, tenant, "agent", "zhang", department="Sales")
    r = await client.get("/api/v1/console/me", headers=agent.auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["user_id"], body["role"], body["department"]) == (agent.user_id, "agent", "Sales")
    assert body["webrtc"] is None
    key = await client.get("/api/v1/console/me", headers=tenant.auth)
    assert key.status_code == 200 and key.json()["user_id"] is None


@pytest.fixture
async def no_erp(settings: Settings) -> AsyncIterator[tuple[Hub, httpx.AsyncClient]]:
    """A hub where no package answers erp.recent_orders (erp not installed)."""
    hub = hub_answering(settings, {}, unanswered=("erp.recent_orders",))
    transport = httpx.ASGITransport(app=create_app(hub=hub, start_services=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as c:
        yield hub, c
    await hub.stop()


async def test_the_screen_pop_has_the_crm_contact_and_no_orders_section_without_erp(
    no_erp: tuple[Hub, httpx.AsyncClient],
) -> None:
    hub, client = no_erp
    assert "erp.recent_orders" not in hub.queries
    tenant = await make_tenant(hub, "crm-only")
    other_tenant = await make_tenant(hub, "crm-other")
    c = await make_contact(client, tenant, "韩梅梅", phones=["+86 138 0013 8000"])
    r = await client.get("/api/v1/console/pop/13800138000", headers=tenant.auth)
    assert r.status_code == 200, r.text
    pop = r.json()
    assert (pop["phone"], pop["contact"]["id"], pop["contact"]["name"]) == (
        "+8613800138000",
        c["id"],
        "韩梅梅",
    )
    assert pop["orders"] is None
    foreign = await client.get("/api/v1/console/pop/13800138000", headers=other_tenant.auth)
    assert foreign.json()["contact"] is None


@pytest.fixture
async def answering_client(settings: Settings) -> AsyncIterator[tuple[Hub, httpx.AsyncClient]]:
    hub = hub_answering(
        settings, {"erp.recent_orders": recent_orders, "telephony.agent_webrtc": webrtc}
    )
    transport = httpx.ASGITransport(app=create_app(hub=hub, start_services=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as c:
        yield hub, c
    await hub.stop()


async def test_orders_and_webrtc_appear_where_a_package_answers_them(
    answering_client: tuple[Hub, httpx.AsyncClient],
) -> None:
    hub, client = answering_client
    t = await make_tenant(hub, "orders-co")
    agent = await make_person(client, t, "agent", "li")
    pop = (await client.get("/api/v1/console/pop/+8613800138000", headers=agent.auth)).json()
    assert pop["contact"] is None
    assert [o["number"] for o in pop["orders"]] == ["SO-1001"]
    none = (await client.get("/api/v1/console/pop/+8613900000000", headers=agent.auth)).json()
    assert none["orders"] == []
    me = (await client.get("/api/v1/console/me", headers=agent.auth)).json()
    assert me["webrtc"]["wss_url"] == "wss://pbx.example.cn:8089/ws"


async def test_a_pop_for_an_overlong_number_names_the_field(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.get("/api/v1/console/pop/" + "1" * 65, headers=tenant.auth)
    assert r.status_code == 422
    assert "phone" in r.text
