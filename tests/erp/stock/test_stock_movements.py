"""Stock movements: every kind writes the ledger; no negative stock unless the item allows it;
the low-stock notice goes out once per dip and replenishment clears it."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select

from comms.db.tenancy import scoped_to
from comms.hub import Hub
from erp.stock.models import StockMovement
from erp_testkit import (
    API,
    invalid_fields,
    level,
    make_item,
    make_user,
    make_warehouse,
    move,
    published,
    receive,
)
from hubtest import TenantCtx


async def ledger_sum(hub: Hub, t: TenantCtx, item: str, wh: str) -> int:
    async with hub.db.session() as s:
        scoped_to(s, t.id)
        q = select(func.coalesce(func.sum(StockMovement.quantity), 0)).where(
            StockMovement.item_id == uuid.UUID(item), StockMovement.warehouse_id == uuid.UUID(wh)
        )
        return int(await s.scalar(q) or 0)


async def test_each_movement_kind_is_recorded_with_quantities_before_and_after(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    item = (await make_item(client, tenant))["id"]
    a, b = (
        (await make_warehouse(client, tenant, "A"))["id"],
        (await make_warehouse(client, tenant, "B"))["id"],
    )
    assert (
        await move(client, tenant, "receipt", item, a, quantity=50, reference="PO-1")
    ).status_code == 201
    assert (
        await move(client, tenant, "issue", item, a, quantity=8, reason="sample")
    ).status_code == 201
    r = await move(client, tenant, "transfer", item, a, quantity=12, to_warehouse_id=b)
    assert r.status_code == 201, r.text
    assert [(m["warehouse_id"], m["quantity"]) for m in r.json()] == [(a, -12), (b, 12)]
    assert (
        await move(client, tenant, "adjustment", item, b, quantity=-2, reason="broken")
    ).status_code == 201
    r = await move(client, tenant, "stocktake", item, a, counted=27, reason="monthly count")
    assert r.status_code == 201, r.text
    take = r.json()[0]
    assert (take["before"], take["after"], take["quantity"], take["counted"]) == (30, 27, -3, 27)
    assert take["actor_type"] == "api_key" and take["reason"] == "monthly count"
    assert (await level(client, tenant, item, a))["on_hand"] == 27
    assert (await level(client, tenant, item, b))["on_hand"] == 10
    for wh in (a, b):
        assert (
            await ledger_sum(hub, tenant, item, wh)
            == (await level(client, tenant, item, wh))["on_hand"]
        )
    page = await client.get(f"{API}/movements", headers=tenant.auth, params={"item_id": item})
    kinds = [m["kind"] for m in page.json()["items"]]
    assert kinds == ["stocktake", "adjustment", "transfer", "transfer", "issue", "receipt"]
    by_ref = await client.get(f"{API}/movements", headers=tenant.auth, params={"reference": "PO-1"})
    assert [m["quantity"] for m in by_ref.json()["items"]] == [50]


async def test_a_stocktake_that_matches_still_leaves_a_ledger_line(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    item, wh = (await make_item(client, tenant))["id"], (await make_warehouse(client, tenant))["id"]
    await receive(client, tenant, item, wh, 5)
    r = await move(client, tenant, "stocktake", item, wh, counted=5)
    assert r.status_code == 201
    assert [(m["quantity"], m["before"], m["after"]) for m in r.json()] == [(0, 5, 5)]


async def test_issue_beyond_stock_is_refused_naming_quantity_and_changes_nothing(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    item, wh = (await make_item(client, tenant))["id"], (await make_warehouse(client, tenant))["id"]
    await receive(client, tenant, item, wh, 3)
    r = await move(client, tenant, "issue", item, wh, quantity=4)
    assert r.status_code == 409
    assert r.json()["field"] == "quantity" and "only 3" in r.json()["detail"]
    r = await move(client, tenant, "adjustment", item, wh, quantity=-4)
    assert r.status_code == 409
    r = await move(
        client,
        tenant,
        "transfer",
        item,
        wh,
        quantity=4,
        to_warehouse_id=(await make_warehouse(client, tenant))["id"],
    )
    assert r.status_code == 409
    assert (await level(client, tenant, item, wh))["on_hand"] == 3
    assert await ledger_sum(hub, tenant, item, wh) == 3


async def test_an_item_that_allows_negative_stock_can_go_below_zero(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    item = (await make_item(client, tenant, allow_negative=True))["id"]
    wh = (await make_warehouse(client, tenant))["id"]
    assert (await move(client, tenant, "issue", item, wh, quantity=4)).status_code == 201
    assert (await level(client, tenant, item, wh))["on_hand"] == -4


async def test_bad_movements_answer_422_naming_the_field(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    item, wh = (await make_item(client, tenant))["id"], (await make_warehouse(client, tenant))["id"]
    cases = [
        ({"kind": "receipt", "quantity": 0}, "quantity"),
        ({"kind": "issue"}, "quantity"),
        ({"kind": "adjustment", "quantity": 0}, "quantity"),
        ({"kind": "transfer", "quantity": 1}, "to_warehouse_id"),
        ({"kind": "transfer", "quantity": 1, "to_warehouse_id": wh}, "to_warehouse_id"),
        ({"kind": "stocktake"}, "counted"),
        ({"kind": "receipt", "quantity": 1, "counted": 3}, "counted"),
    ]
    for extra, field in cases:
        body = {"item_id": item, "warehouse_id": wh, **extra}
        r = await client.post(f"{API}/movements", headers=tenant.auth, json=body)
        assert r.status_code == 422 and r.json()["field"] == field, (extra, r.text)
    r = await move(
        client, tenant, "receipt", "00000000-0000-0000-0000-000000000000", wh, quantity=1
    )
    assert r.status_code == 422 and r.json()["field"] == "item_id"


async def test_schema_errors_name_the_field_in_detail_loc(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    item, wh = (await make_item(client, tenant))["id"], (await make_warehouse(client, tenant))["id"]
    assert invalid_fields(await move(client, tenant, "teleport", item, wh, quantity=1)) == [
        "body.kind"
    ]
    r = await move(client, tenant, "stocktake", item, wh, counted=-1)
    assert invalid_fields(r) == ["body.counted"]
    r = await move(client, tenant, "receipt", "not-a-uuid", wh, quantity=1)
    assert invalid_fields(r) == ["body.item_id"]
    r = await client.post(f"{API}/items", headers=tenant.auth, json={"sku": "X", "name": ""})
    assert invalid_fields(r) == ["body.name"]


async def test_sku_and_warehouse_code_are_unique_per_tenant_only(
    client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    await make_item(client, tenant, "AX-1")
    r = await client.post(
        f"{API}/items", headers=tenant.auth, json={"sku": "AX-1", "name": "again"}
    )
    assert r.status_code == 409 and r.json()["field"] == "sku"
    await make_item(client, other_tenant, "AX-1")
    await make_warehouse(client, tenant, "SZ")
    r = await client.post(
        f"{API}/warehouses", headers=tenant.auth, json={"code": "SZ", "name": "x"}
    )
    assert r.status_code == 409 and r.json()["field"] == "code"
    await make_warehouse(client, other_tenant, "SZ")


async def test_crossing_the_reorder_point_publishes_low_once_until_replenished(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    manager, _ = await make_user(client, tenant, "wh.manager@acme.cn", mobile="13900139000")
    item = (await make_item(client, tenant, "AX-9", reorder_point=10, reorder_qty=40))["id"]
    wh = (await make_warehouse(client, tenant, "SZ", manager_id=manager))["id"]
    await receive(client, tenant, item, wh, 15)
    assert await published(hub, "erp.stock.low") == []
    for qty in (5, 1, 2):  # 10 (at the point: low), then further down: no repeat
        assert (await move(client, tenant, "issue", item, wh, quantity=qty)).status_code == 201
    low = await published(hub, "erp.stock.low")
    assert len(low) == 1
    assert (low[0]["sku"], low[0]["on_hand"], low[0]["reorder_point"], low[0]["manager_id"]) == (
        "AX-9",
        10,
        10,
        manager,
    )
    assert "AX-9" in low[0]["summary"] and "SZ" in low[0]["summary"]
    assert (await level(client, tenant, item, wh))["low_since"] is not None
    await receive(client, tenant, item, wh, 3)  # 10: still at the point, no change
    assert await published(hub, "erp.stock.replenished") == []
    await receive(client, tenant, item, wh, 30)
    back = await published(hub, "erp.stock.replenished")
    assert [(e["on_hand"], e["manager_id"]) for e in back] == [(40, manager)]
    assert (await level(client, tenant, item, wh))["low_since"] is None
    await move(client, tenant, "stocktake", item, wh, counted=2)  # a second dip: a second notice
    assert [e["on_hand"] for e in await published(hub, "erp.stock.low")] == [10, 2]


async def test_a_failed_movement_publishes_nothing(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    item = (await make_item(client, tenant, reorder_point=5))["id"]
    wh = (await make_warehouse(client, tenant))["id"]
    await receive(client, tenant, item, wh, 8)
    assert (await move(client, tenant, "issue", item, wh, quantity=9)).status_code == 409
    assert await published(hub, "erp.stock.low") == []
