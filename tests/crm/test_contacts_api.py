"""Contacts: phone/email normalisation and lookup, 422s naming the field, merging duplicates."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from comms.db.tenancy import scoped_to
from comms.hub import Hub
from crm.contacts.models import Contact, ContactPhone
from crm.contacts.service import find_contact_by_phone
from crm_testkit import make_contact
from hubtest import TenantCtx


@pytest.mark.parametrize(
    "written", ["+8613800138000", "13800138000", "138 0013 8000", "+86 138-0013-8000"]
)
async def test_lookup_finds_the_contact_by_any_form_of_the_number(
    client: httpx.AsyncClient, tenant: TenantCtx, written: str
) -> None:
    c = await make_contact(client, tenant, phones=["138 0013 8000", "+86 10 6552 9988"])
    assert c["phones"] == ["+8613800138000", "+861065529988"]
    r = await client.get("/api/v1/crm/lookup", headers=tenant.auth, params={"phone": written})
    assert r.status_code == 200
    assert [x["id"] for x in r.json()["items"]] == [c["id"]]


async def test_lookup_by_second_number_and_by_email_ignores_case(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    c = await make_contact(
        client, tenant, phones=["13800138000", "010 6552 9988"], emails=["Li.Lei@Example.CN"]
    )
    assert c["emails"] == ["li.lei@example.cn"]
    for params in ({"phone": "+86 10 6552 9988"}, {"email": "LI.LEI@example.cn"}):
        r = await client.get("/api/v1/crm/lookup", headers=tenant.auth, params=params)
        assert [x["id"] for x in r.json()["items"]] == [c["id"]], params
    r = await client.get("/api/v1/crm/lookup", headers=tenant.auth, params={"phone": "13900139000"})
    assert r.json()["items"] == []


async def test_public_find_contact_by_phone_normalises_the_number(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    c = await make_contact(client, tenant, phones=["+8613800138000"])
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        found = await find_contact_by_phone(s, "138 0013 8000")
        assert found is not None and str(found.id) == c["id"]
        assert await find_contact_by_phone(s, "not a number") is None


@pytest.mark.parametrize(
    ("fields", "culprit"),
    [
        ({"phones": ["13800138000", "12345"]}, "phones[1]"),
        ({"emails": ["not-an-address"]}, "emails[0]"),
    ],
)
async def test_bad_phone_or_email_is_a_422_naming_the_field(
    client: httpx.AsyncClient, tenant: TenantCtx, fields: dict[str, list[str]], culprit: str
) -> None:
    r = await client.post("/api/v1/crm/contacts", headers=tenant.auth, json={"name": "X", **fields})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == culprit


async def test_a_number_belongs_to_one_contact_per_tenant_only(
    client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    await make_contact(client, tenant, phones=["13800138000"])
    r = await client.post(
        "/api/v1/crm/contacts",
        headers=tenant.auth,
        json={"name": "Dup", "phones": ["+8613800138000"]},
    )
    assert r.status_code == 409 and r.json()["field"] == "phones"
    await make_contact(client, other_tenant, phones=["13800138000"])  # another tenant may


async def test_patch_replaces_numbers_and_keeps_the_index_in_step(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    c = await make_contact(client, tenant, phones=["13800138000"], tags=["vip"])
    r = await client.patch(
        f"/api/v1/crm/contacts/{c['id']}",
        headers=tenant.auth,
        json={"phones": ["13900139000"], "custom_fields": {"tier": "gold"}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["phones"] == ["+8613900139000"] and r.json()["tags"] == ["vip"]
    old = await client.get(
        "/api/v1/crm/lookup", headers=tenant.auth, params={"phone": "13800138000"}
    )
    assert old.json()["items"] == []
    bad = await client.patch(
        f"/api/v1/crm/contacts/{c['id']}", headers=tenant.auth, json={"emails": ["@@"]}
    )
    assert bad.status_code == 422 and bad.json()["field"] == "emails[0]"


async def test_merge_keeps_every_number_address_ticket_and_leaves_no_duplicate(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    keep = await make_contact(client, tenant, "Li Lei", phones=["13800138000"], tags=["vip"])
    dup = await make_contact(
        client, tenant, "Lei Li", phones=["13900139000"], emails=["lei@example.cn"], tags=["b2b"]
    )
    t = await client.post(
        "/api/v1/crm/tickets",
        headers=tenant.auth,
        json={"subject": "refund", "contact_id": dup["id"]},
    )
    assert t.status_code == 201, t.text
    r = await client.post(
        f"/api/v1/crm/contacts/{keep['id']}/merge",
        headers=tenant.auth,
        json={"duplicate_id": dup["id"]},
    )
    assert r.status_code == 200, r.text
    merged = r.json()
    assert merged["phones"] == ["+8613800138000", "+8613900139000"]
    assert merged["emails"] == ["lei@example.cn"] and merged["tags"] == ["vip", "b2b"]
    assert (
        await client.get(f"/api/v1/crm/contacts/{dup['id']}", headers=tenant.auth)
    ).status_code == 404
    lookup = await client.get(
        "/api/v1/crm/lookup", headers=tenant.auth, params={"phone": "13900139000"}
    )
    assert [x["id"] for x in lookup.json()["items"]] == [keep["id"]]
    ticket = await client.get(f"/api/v1/crm/tickets/{t.json()['id']}", headers=tenant.auth)
    assert ticket.json()["contact_id"] == keep["id"]
    timeline = await client.get(f"/api/v1/crm/contacts/{keep['id']}/timeline", headers=tenant.auth)
    assert [e["ref"] for e in timeline.json()["items"]] == [f"ticket:{t.json()['id']}"]
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        assert await s.scalar(select(func.count()).select_from(Contact)) == 1
        assert await s.scalar(select(func.count()).select_from(ContactPhone)) == 2


async def test_search_finds_a_name_part_in_any_case_a_number_in_any_form_or_an_address(
    client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    li = await make_contact(
        client, tenant, "Li Lei", phones=["13800138000"], emails=["li.lei@example.cn"]
    )
    wang = await make_contact(client, tenant, "Wang Fang", emails=["wang@acme.cn"], tags=["vip"])
    lei = await make_contact(client, tenant, "李雷", phones=["010 6552 9988"], tags=["vip"])
    sale = await make_contact(client, tenant, "50%_off Ltd")
    await make_contact(client, other_tenant, "Li Lei (theirs)")

    async def search(**params: Any) -> list[str]:
        r = await client.get("/api/v1/crm/contacts", headers=tenant.auth, params=params)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    assert await search(q="fANG") == [wang["id"]]  # by name only: not in wang@acme.cn
    assert await search(q="LEI") == [li["id"]]
    assert await search(q="雷") == [lei["id"]]
    assert await search(q="0013 8000") == [li["id"]]  # digits of a number
    assert await search(q="010-6552-9988") == [lei["id"]]  # the number written another way
    assert await search(q="ACME") == [wang["id"]]
    assert await search(q="%_") == [sale["id"]]  # LIKE wildcards are literal
    assert await search(q="13") == []  # too few digits to be a number
    assert await search(q="a") == [li["id"], wang["id"]]  # li.lei@example.cn, Wang Fang
    assert await search(q="a", limit=1) == [li["id"]]
    assert await search(q="a", tag="vip") == [wang["id"]]
    assert await search(q="  ") == [sale["id"], li["id"], wang["id"], lei["id"]]


async def test_the_list_pages_by_name_with_its_cursor_also_under_a_tag(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    # Two share a name, so the page boundary must also order by id.
    names = ["Zhao", "Qian", "Sun", "Li", "Zhou", "Wu", "Zheng", "Wang", "Li"]
    made = [
        await make_contact(client, tenant, n, tags=["vip"] if i % 3 == 0 else [])
        for i, n in enumerate(names)
    ]
    by_name = sorted(made, key=lambda c: (c["name"], c["id"]))

    async def every(**params: Any) -> tuple[list[str], int]:
        ids, pages, cursor = [], 0, None
        while True:
            r = await client.get(
                "/api/v1/crm/contacts",
                headers=tenant.auth,
                params={**params, **({"cursor": cursor} if cursor else {})},
            )
            assert r.status_code == 200, r.text
            ids += [c["id"] for c in r.json()["items"]]
            pages, cursor = pages + 1, r.json()["next_cursor"]
            if cursor is None:
                return ids, pages

    assert await every(limit=2) == ([c["id"] for c in by_name], 5)
    assert await every(limit=1) == ([c["id"] for c in by_name], 9)  # a page ends between the Lis
    assert await every(limit=9) == ([c["id"] for c in by_name], 1)
    vip = [c["id"] for c in by_name if "vip" in c["tags"]]
    assert await every(limit=1, tag="vip") == (vip, 3)

    r = await client.get("/api/v1/crm/contacts", headers=tenant.auth, params={"cursor": "nope"})
    assert r.status_code == 422 and r.json()["field"] == "cursor"
