"""Items and warehouses: edits are partial and audited; a manager must be a user of the tenant."""

from __future__ import annotations

import uuid

import httpx

from erp_testkit import API, invalid_fields, make_item, make_user, make_warehouse
from hubtest import TenantCtx


async def test_item_patch_changes_only_the_fields_sent(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    item = await make_item(client, tenant, "AX-7", reorder_point=5, unit="box")
    r = await client.patch(
        f"{API}/items/{item['id']}", headers=tenant.auth, json={"reorder_point": 12}
    )
    assert r.status_code == 200
    assert (r.json()["reorder_point"], r.json()["unit"], r.json()["sku"]) == (12, "box", "AX-7")
    r = await client.patch(
        f"{API}/items/{item['id']}", headers=tenant.auth, json={"reorder_point": -1}
    )
    assert invalid_fields(r) == ["body.reorder_point"]
    listed = (await client.get(f"{API}/items", headers=tenant.auth)).json()
    assert [i["sku"] for i in listed] == ["AX-7"]
    r = await client.get("/api/v1/audit", headers=tenant.auth, params={"entity_type": "erp_item"})
    items = r.json()
    assert {e["action"] for e in items} == {"erp.item.created", "erp.item.updated"}


async def test_a_warehouse_manager_must_be_a_user_of_the_tenant(
    client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    stranger, _ = await make_user(client, other_tenant, "someone@globex.cn")
    r = await client.post(
        f"{API}/warehouses",
        headers=tenant.auth,
        json={"code": "X", "name": "x", "manager_id": stranger},
    )
    assert r.status_code == 422 and r.json()["field"] == "manager_id"
    wh = await make_warehouse(client, tenant, "SZ")
    assert wh["manager_id"] is None
    mine, _ = await make_user(client, tenant, "keeper@acme.cn")
    r = await client.patch(
        f"{API}/warehouses/{wh['id']}", headers=tenant.auth, json={"manager_id": mine}
    )
    assert r.status_code == 200 and r.json()["manager_id"] == mine
    r = await client.patch(
        f"{API}/warehouses/{wh['id']}", headers=tenant.auth, json={"manager_id": str(uuid.uuid4())}
    )
    assert r.status_code == 422 and r.json()["field"] == "manager_id"
    r = await client.patch(
        f"{API}/warehouses/{wh['id']}", headers=tenant.auth, json={"manager_id": None}
    )
    assert (
        r.status_code == 200
        and r.json()["manager_id"] is None
        and r.json()["name"] == "Shenzhen DC"
    )
