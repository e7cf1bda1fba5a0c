"""Segments: every filter criterion selects the right contacts in SQL, names are unique per
tenant, bad filters are 422s naming the field, members page by name."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update

from comms.db.base import utcnow
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from crm.contacts.models import Contact
from crm_testkit import make_contact, make_ticket, set_status
from hubtest import TenantCtx

OWNER = str(uuid.uuid4())


async def people(hub: Hub, client: httpx.AsyncClient, t: TenantCtx) -> dict[str, Any]:
    """Four contacts that differ in every criterion; Dora was created 30 days ago."""
    co = await client.post("/api/v1/crm/companies", headers=t.auth, json={"name": "Acme"})
    acme = co.json()["id"]
    alice = await make_contact(
        client,
        t,
        "Alice",
        phones=["13800138000"],
        emails=["alice@acme.cn"],
        tags=["vip", "b2b"],
        company_id=acme,
        owner_id=OWNER,
        custom_fields={"tier": "gold", "city": "上海浦东"},
    )
    await make_ticket(client, t, alice["id"])
    await make_contact(
        client, t, "Bob", phones=["13900139001"], tags=["vip"], custom_fields={"tier": "silver"}
    )
    chen = await make_contact(
        client,
        t,
        "陈晨",
        phones=["010 6552 9988"],
        tags=["b2b", "大客户"],
        company_id=acme,
        custom_fields={"city": "北京"},
    )
    done = await make_ticket(client, t, chen["id"])
    await set_status(client, t, done["id"], "resolved")
    dora = await make_contact(client, t, "Dora", emails=["dora@example.cn"])
    async with hub.db.session() as s:
        scoped_to(s, t.id)
        old = utcnow() - timedelta(days=30)
        await s.execute(
            update(Contact).where(Contact.id == uuid.UUID(dora["id"])).values(created_at=old)
        )
        await s.commit()
    return {"acme": acme}


async def preview(client: httpx.AsyncClient, t: TenantCtx, f: dict[str, Any]) -> list[str]:
    r = await client.post("/api/v1/crm/segments/preview", headers=t.auth, json=f)
    assert r.status_code == 200, (f, r.text)
    body = r.json()
    names = [m["name"] for m in body["sample"]]
    assert body["count"] == len(names), f
    return names


async def test_each_criterion_selects_exactly_its_contacts(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    ids = await people(hub, client, tenant)
    day_ago = (utcnow() - timedelta(days=1)).isoformat()
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({}, ["Alice", "Bob", "Dora", "陈晨"]),
        ({"tags_any": ["vip", "b2b"]}, ["Alice", "Bob", "陈晨"]),
        ({"tags_all": ["vip", "b2b"]}, ["Alice"]),
        ({"tags_any": ["大客户"]}, ["陈晨"]),
        ({"company_id": ids["acme"]}, ["Alice", "陈晨"]),
        ({"owner_id": OWNER}, ["Alice"]),
        ({"custom_fields": [{"field": "tier", "value": "gold"}]}, ["Alice"]),
        ({"custom_fields": [{"field": "tier", "op": "contains", "value": "IL"}]}, ["Bob"]),
        ({"custom_fields": [{"field": "city", "op": "contains", "value": "浦东"}]}, ["Alice"]),
        ({"created_to": day_ago}, ["Dora"]),
        ({"created_from": day_ago}, ["Alice", "Bob", "陈晨"]),
        ({"has_open_ticket": True}, ["Alice"]),
        ({"has_open_ticket": False}, ["Bob", "Dora", "陈晨"]),
        ({"phone_prefix": "138"}, ["Alice"]),
        ({"phone_prefix": "+86 139"}, ["Bob"]),
        ({"phone_prefix": "010"}, ["陈晨"]),
        ({"tags_any": ["vip"], "has_open_ticket": False}, ["Bob"]),
    ]
    for f, expected in cases:
        assert await preview(client, tenant, f) == expected, f


async def test_saved_segment_counts_and_pages_its_members_by_name(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await people(hub, client, tenant)
    r = await client.post(
        "/api/v1/crm/segments",
        headers=tenant.auth,
        json={"name": "everyone", "filter": {}},
    )
    assert r.status_code == 201, r.text
    seg = r.json()
    assert seg["count"] == 4
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = await client.get(
            f"/api/v1/crm/segments/{seg['id']}/members", headers=tenant.auth, params=params
        )
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["count"] == 4 and len(body["items"]) <= 3
        seen += [m["name"] for m in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Alice", "Bob", "Dora", "陈晨"]
    bad = await client.get(
        f"/api/v1/crm/segments/{seg['id']}/members", headers=tenant.auth, params={"cursor": "x"}
    )
    assert bad.status_code == 422 and bad.json()["field"] == "cursor"


async def test_segment_names_are_unique_per_tenant_only(
    client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    body = {"name": "VIP", "filter": {"tags_any": ["vip"]}}
    assert (
        await client.post("/api/v1/crm/segments", headers=tenant.auth, json=body)
    ).status_code == 201
    again = await client.post("/api/v1/crm/segments", headers=tenant.auth, json=body)
    assert again.status_code == 409 and again.json()["field"] == "name"
    other = await client.post("/api/v1/crm/segments", headers=other_tenant.auth, json=body)
    assert other.status_code == 201
    second = await client.post(
        "/api/v1/crm/segments", headers=tenant.auth, json={"name": "B2B", "filter": {}}
    )
    renamed = await client.patch(
        f"/api/v1/crm/segments/{second.json()['id']}", headers=tenant.auth, json={"name": "VIP"}
    )
    assert renamed.status_code == 409 and renamed.json()["field"] == "name"


async def test_a_filter_that_cannot_mean_anything_is_a_422_naming_the_field(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    now = utcnow()
    bad: list[tuple[dict[str, Any], str]] = [
        ({"company_id": str(uuid.uuid4())}, "filter.company_id"),
        (
            {"created_from": now.isoformat(), "created_to": (now - timedelta(1)).isoformat()},
            "filter.created_to",
        ),
        ({"phone_prefix": "abc"}, "filter.phone_prefix"),
        ({"tags_all": ["vip", " "]}, "filter.tags_all[1]"),
    ]
    for f, field in bad:
        r = await client.post(
            "/api/v1/crm/segments", headers=tenant.auth, json={"name": "x", "filter": f}
        )
        assert r.status_code == 422 and r.json()["field"] == field, (f, r.text)
    r = await client.post(
        "/api/v1/crm/segments",
        headers=tenant.auth,
        json={
            "name": "x",
            "filter": {"custom_fields": [{"field": "tier", "op": "like", "value": "g"}]},
        },
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "filter", "custom_fields", 0, "op"]
    listed = await client.get("/api/v1/crm/segments", headers=tenant.auth)
    assert listed.json() == []


async def test_patched_filter_changes_members_and_deleted_segment_is_gone(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await people(hub, client, tenant)
    seg = (
        await client.post(
            "/api/v1/crm/segments",
            headers=tenant.auth,
            json={"name": "vip", "filter": {"tags_any": ["vip"]}},
        )
    ).json()
    assert seg["count"] == 2
    r = await client.patch(
        f"/api/v1/crm/segments/{seg['id']}",
        headers=tenant.auth,
        json={"filter": {"tags_any": ["vip"], "has_open_ticket": True}},
    )
    assert r.status_code == 200 and r.json()["count"] == 1
    assert (
        await client.delete(f"/api/v1/crm/segments/{seg['id']}", headers=tenant.auth)
    ).status_code == 204
    gone = await client.get(f"/api/v1/crm/segments/{seg['id']}", headers=tenant.auth)
    assert gone.status_code == 404
