"""A courier's device on the private APN confirms a delivery; ERP's order becomes delivered.

The two packages never import each other: the device API publishes `apn.delivery.confirmed`
naming the order number, and erp's subscriber moves the shipped order on.
"""

from __future__ import annotations

import httpx

from apn_factories import device_token, make_apn, make_device
from comms.hub import Hub
from erp_testkit import API, make_item, make_order, make_warehouse, receive, to
from hubtest import TenantCtx, drain


async def test_a_device_delivery_confirmation_marks_the_shipped_order_delivered(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    item = (await make_item(client, tenant))["id"]
    wh = (await make_warehouse(client, tenant))["id"]
    await receive(client, tenant, item, wh, 3)
    order = await make_order(
        client, tenant, [{"item_id": item, "warehouse_id": wh, "qty": 1, "unit_price": 2500}]
    )
    assert (await to(client, tenant, order["id"], "confirmed")).status_code == 200
    assert (await to(client, tenant, order["id"], "shipped")).status_code == 200

    apn = await make_apn(client, tenant)
    device = await make_device(client, tenant, apn["id"])
    auth = {"Authorization": f"Bearer {await device_token(client, tenant, device['id'])}"}
    r = await client.post(
        "/api/v1/device/deliveries",
        headers=auth,
        json={"order_number": order["number"], "latitude": 31.2, "longitude": 121.4},
    )
    assert r.status_code == 201, r.text
    await drain(hub)

    got = (await client.get(f"{API}/orders/{order['id']}", headers=tenant.auth)).json()
    assert got["status"] == "delivered"


async def test_a_confirmation_for_another_tenants_order_number_leaves_it_shipped(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    item = (await make_item(client, tenant))["id"]
    wh = (await make_warehouse(client, tenant))["id"]
    await receive(client, tenant, item, wh, 3)
    order = await make_order(
        client, tenant, [{"item_id": item, "warehouse_id": wh, "qty": 1, "unit_price": 2500}]
    )
    await to(client, tenant, order["id"], "confirmed")
    await to(client, tenant, order["id"], "shipped")

    apn = await make_apn(client, other_tenant)
    device = await make_device(client, other_tenant, apn["id"])
    auth = {"Authorization": f"Bearer {await device_token(client, other_tenant, device['id'])}"}
    r = await client.post(
        "/api/v1/device/deliveries", headers=auth, json={"order_number": order["number"]}
    )
    assert r.status_code == 201, r.text
    await drain(hub)

    got = (await client.get(f"{API}/orders/{order['id']}", headers=tenant.auth)).json()
    assert got["status"] == "shipped"
