"""A device's `apn.delivery.confirmed` closes a shipped order (once); erp answers
`erp.order_status` and `erp.recent_orders` for IVR and the console."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from comms.bus import publish
from comms.bus.models import Delivery
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from erp_testkit import API, make_item, make_order, make_warehouse, published, receive, to
from hubtest import TenantCtx, drain


async def shipped_order(
    client: httpx.AsyncClient, t: TenantCtx, ship: bool = True
) -> dict[str, str]:
    i = (await make_item(client, t))["id"]
    w = (await make_warehouse(client, t))["id"]
    await receive(client, t, i, w, 5)
    o = await make_order(
        client, t, [{"item_id": i, "warehouse_id": w, "qty": 1, "unit_price": 100}]
    )
    if ship:
        assert (await to(client, t, o["id"], "confirmed")).status_code == 200
        assert (await to(client, t, o["id"], "shipped")).status_code == 200
    return o


async def confirm_delivery(hub: Hub, t: TenantCtx, number: str, at: datetime | None = None) -> None:
    """What the APN device API publishes (by topic name: erp's tests need no telephony import)."""
    async with hub.db.session() as s:
        scoped_to(s, t.id)
        publish(
            s,
            "apn.delivery.confirmed",
            {
                "data_id": str(uuid.uuid4()),
                "device_id": str(uuid.uuid4()),
                "order_number": number,
                "at": (at or datetime.now(UTC)).isoformat(),
                "latitude": 22.54,
                "longitude": 114.05,
                "recipient": "Han Meimei",
            },
        )
        await s.commit()
    await drain(hub)


async def status_of(client: httpx.AsyncClient, t: TenantCtx, order_id: str) -> str:
    r = await client.get(f"{API}/orders/{order_id}", headers=t.auth)
    status: str = r.json()["status"]
    return status


async def test_a_delivery_confirmation_moves_a_shipped_order_to_delivered_once(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    o = await shipped_order(client, tenant)
    at = datetime(2026, 11, 27, 1, 2, 3, tzinfo=UTC)
    await confirm_delivery(hub, tenant, o["number"], at)
    await confirm_delivery(hub, tenant, o["number"])  # the device sent it twice
    got = (await client.get(f"{API}/orders/{o['id']}", headers=tenant.auth)).json()
    assert got["status"] == "delivered"
    assert datetime.fromisoformat(got["delivered_at"]) == at  # when the device says, not later
    assert len(await published(hub, "erp.order.delivered")) == 1


async def test_confirmation_for_an_unshipped_or_unknown_order_is_ignored_not_retried(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, caplog: pytest.LogCaptureFixture
) -> None:
    draft = await shipped_order(client, tenant, ship=False)
    await confirm_delivery(hub, tenant, draft["number"])
    await confirm_delivery(hub, tenant, "SO-999999")
    assert await status_of(client, tenant, draft["id"]) == "draft"
    assert "not shipped" in caplog.text and "SO-999999" in caplog.text
    async with hub.db.session() as s:
        unscoped(s)
        rows = await s.scalars(
            select(Delivery).where(Delivery.subscriber == "erp.orders.delivery_confirmed")
        )
        assert sorted(d.status.value for d in rows) == ["done", "done"]  # nothing left to retry


async def test_another_tenants_confirmation_does_not_touch_the_order(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    o = await shipped_order(client, tenant)
    await confirm_delivery(hub, other_tenant, o["number"])
    assert await status_of(client, tenant, o["id"]) == "shipped"


async def test_order_status_query_answers_the_status_word_or_none(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    o = await shipped_order(client, tenant)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        assert await hub.queries.ask(s, "erp.order_status", {"number": o["number"]}) == "shipped"
        assert await hub.queries.ask(s, "erp.order_status", {"number": " so-000001 "}) == "shipped"
        assert await hub.queries.ask(s, "erp.order_status", {"number": "SO-424242"}) is None
    async with hub.db.session() as s:
        scoped_to(s, other_tenant.id)
        assert await hub.queries.ask(s, "erp.order_status", {"number": o["number"]}) is None


async def test_order_status_accepts_the_digits_a_caller_types_on_a_keypad(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    o = await shipped_order(client, tenant)
    assert o["number"] == "SO-000001"
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        for typed in ("000001", "1", "0000001", " 1 "):
            assert await hub.queries.ask(s, "erp.order_status", {"number": typed}) == "shipped"
        for typed in ("2", "10", "", "9" * 40, "１"):  # no such order; a full-width digit
            assert await hub.queries.ask(s, "erp.order_status", {"number": typed}) is None


async def test_recent_orders_lists_a_callers_latest_five_newest_first(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    i = (await make_item(client, tenant))["id"]
    w = (await make_warehouse(client, tenant))["id"]
    line = {"item_id": i, "warehouse_id": w, "qty": 1, "unit_price": 300}
    made = [await make_order(client, tenant, [line]) for _ in range(6)]
    await make_order(client, tenant, [line], contact_phone="13900139000")
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        recent = await hub.queries.ask(s, "erp.recent_orders", {"phone": "+86 138 0013 8000"})
        assert await hub.queries.ask(s, "erp.recent_orders", {"phone": "garbage"}) == []
    assert [r["number"] for r in recent] == [m["number"] for m in reversed(made)][:5]
    assert set(recent[0]) == {"number", "status", "total", "currency", "created_at"}
    assert (recent[0]["status"], recent[0]["total"], recent[0]["currency"]) == ("draft", 300, "CNY")
