"""Companies: several E.164 phones, emails, tags, owner and custom fields under the contacts'
rules, read and patched by id, 422s naming the field, their contacts, and the lookup that
finds a company by its numbers and addresses when no contact owns them."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from comms.db.tenancy import scoped_to
from comms.hub import Hub
from crm.contacts.companies import find_company_by_phone
from crm_testkit import make_contact
from hubtest import TenantCtx

OWNER, OTHER = str(uuid.uuid4()), str(uuid.uuid4())


async def make_company(client: httpx.AsyncClient, t: TenantCtx, **fields: Any) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/crm/companies", headers=t.auth, json={"name": "Acme 有限公司", **fields}
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_a_company_keeps_phones_emails_tags_owner_and_custom_fields(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    made = await make_company(
        client,
        tenant,
        phones=["010 6552 9988", "+86 138-0013-8000", "13800138000"],
        emails=["Sales@Acme.CN"],
        tags=["b2b", "vip", "b2b"],
        owner_id=OWNER,
        custom_fields={"tier": "gold", "region": "north"},
    )
    url = f"/api/v1/crm/companies/{made['id']}"
    got = (await client.get(url, headers=tenant.auth)).json()
    assert got == made
    assert (got["phones"], got["emails"], got["tags"]) == (
        ["+861065529988", "+8613800138000"],
        ["sales@acme.cn"],
        ["b2b", "vip"],
    )
    assert (got["owner_id"], got["custom_fields"]) == (OWNER, {"tier": "gold", "region": "north"})
    r = await client.patch(
        url,
        headers=tenant.auth,
        json={"phones": ["13900139000"], "owner_id": OTHER, "custom_fields": {"tier": "silver"}},
    )
    assert r.status_code == 200, r.text
    after = (await client.get(url, headers=tenant.auth)).json()
    assert after["phones"] == ["+8613900139000"] and after["emails"] == ["sales@acme.cn"]
    assert after["owner_id"] == OTHER and after["tags"] == ["b2b", "vip"]
    assert after["custom_fields"] == {"tier": "silver", "region": "north"}
    cleared = await client.patch(url, headers=tenant.auth, json={"owner_id": None, "name": "Acme"})
    assert (cleared.json()["owner_id"], cleared.json()["name"]) == (None, "Acme")
    listed = (await client.get("/api/v1/crm/companies", headers=tenant.auth)).json()
    assert [c["id"] for c in listed] == [made["id"]]


@pytest.mark.parametrize(
    ("fields", "culprit"),
    [
        ({"phones": ["13800138000", "12345"]}, "phones[1]"),
        ({"emails": ["not-an-address"]}, "emails[0]"),
    ],
)
async def test_a_bad_company_phone_or_email_is_a_422_naming_the_field(
    client: httpx.AsyncClient, tenant: TenantCtx, fields: dict[str, list[str]], culprit: str
) -> None:
    r = await client.post(
        "/api/v1/crm/companies", headers=tenant.auth, json={"name": "X", **fields}
    )
    assert (r.status_code, r.json().get("field")) == (422, culprit), r.text
    c = await make_company(client, tenant, phones=["13800138000"])
    url = f"/api/v1/crm/companies/{c['id']}"
    r = await client.patch(url, headers=tenant.auth, json=fields)
    assert (r.status_code, r.json().get("field")) == (422, culprit), r.text
    assert (await client.get(url, headers=tenant.auth)).json()["phones"] == ["+8613800138000"]


async def test_an_empty_tag_or_unknown_field_is_a_422_naming_it(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    for body, loc in (
        ({"name": "X", "tags": ["ok", " "]}, ["body", "tags", 1]),
        ({"name": "X", "colour": "red"}, ["body", "colour"]),
    ):
        r = await client.post("/api/v1/crm/companies", headers=tenant.auth, json=body)
        assert r.status_code == 422, r.text
        assert [e["loc"] for e in r.json()["detail"]] == [loc]


async def test_a_companys_contacts_are_its_own_only_by_name(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    acme, other = await make_company(client, tenant), await make_company(client, tenant)
    wang = await make_contact(client, tenant, "Wang Fang", company_id=acme["id"])
    li = await make_contact(client, tenant, "Li Lei", company_id=acme["id"])
    await make_contact(client, tenant, "Zhao Min", company_id=other["id"])
    await make_contact(client, tenant, "Nobody")
    url = f"/api/v1/crm/companies/{acme['id']}/contacts"
    r = await client.get(url, headers=tenant.auth)
    assert [c["id"] for c in r.json()["items"]] == [li["id"], wang["id"]]
    r = await client.get(url, headers=tenant.auth, params={"limit": 1})
    assert [c["id"] for c in r.json()["items"]] == [li["id"]]
    missing = f"/api/v1/crm/companies/{uuid.uuid4()}"
    assert (await client.get(missing, headers=tenant.auth)).status_code == 404
    assert (await client.get(f"{missing}/contacts", headers=tenant.auth)).status_code == 404


async def lookup(client: httpx.AsyncClient, t: TenantCtx, **params: str) -> dict[str, Any]:
    r = await client.get("/api/v1/crm/lookup", headers=t.auth, params=params)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def test_lookup_finds_a_company_by_its_number_written_another_way_and_its_address(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    acme = await make_company(client, tenant, phones=["010 6552 9988"], emails=["Info@Acme.CN"])
    for params in (
        {"phone": "+861065529988"},
        {"phone": "+86 10-6552-9988"},
        {"email": "INFO@acme.cn"},
    ):
        found = await lookup(client, tenant, **params)
        assert found["items"] == [] and found["companies"] == [acme], params
    stranger = await lookup(client, tenant, phone="13900139000")
    assert (stranger["items"], stranger["companies"]) == ([], [])


async def test_public_find_company_by_phone_normalises_the_number(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    acme = await make_company(client, tenant, phones=["+861065529988"])
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        found = await find_company_by_phone(s, "010 6552 9988")
        assert found is not None and str(found.id) == acme["id"]
        assert await find_company_by_phone(s, "not a number") is None


async def test_a_contacts_own_number_wins_over_a_companys(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    acme = await make_company(client, tenant, phones=["010 6552 9988"], emails=["info@acme.cn"])
    wang = await make_contact(
        client, tenant, "Wang Fang", company_id=acme["id"], phones=["+861065529988"]
    )
    found = await lookup(client, tenant, phone="010 6552 9988")
    assert ([c["id"] for c in found["items"]], found["companies"]) == ([wang["id"]], [])
    both = await lookup(client, tenant, phone="010 6552 9988", email="info@acme.cn")
    assert [c["id"] for c in both["items"]] == [wang["id"]]
    assert [c["id"] for c in both["companies"]] == [acme["id"]]


async def test_a_second_company_cannot_take_another_companys_number_or_address(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    acme = await make_company(client, tenant, phones=["010 6552 9988"], emails=["info@acme.cn"])
    for fields, culprit in (
        ({"phones": ["13800138000", "+861065529988"]}, "phones[1]"),
        ({"emails": ["INFO@acme.cn"]}, "emails[0]"),
    ):
        r = await client.post(
            "/api/v1/crm/companies", headers=tenant.auth, json={"name": "Globex", **fields}
        )
        assert (r.status_code, r.json().get("field")) == (409, culprit), r.text
        other = await make_company(client, tenant, name=f"Other {culprit}")
        url = f"/api/v1/crm/companies/{other['id']}"
        r = await client.patch(url, headers=tenant.auth, json=fields)
        assert (r.status_code, r.json().get("field")) == (409, culprit), r.text
    # Its own numbers given again are no clash.
    url = f"/api/v1/crm/companies/{acme['id']}"
    r = await client.patch(url, headers=tenant.auth, json={"phones": ["+861065529988"]})
    assert r.status_code == 200, r.text
    assert (await lookup(client, tenant, phone="01065529988"))["companies"] == [r.json()]


async def test_another_tenants_company_is_never_found(
    client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    await make_company(client, other_tenant, phones=["010 6552 9988"], emails=["info@acme.cn"])
    found = await lookup(client, tenant, phone="+861065529988", email="info@acme.cn")
    assert (found["items"], found["companies"]) == ([], [])
    mine = await make_company(client, tenant, phones=["010 6552 9988"], emails=["info@acme.cn"])
    found = await lookup(client, tenant, phone="+861065529988", email="info@acme.cn")
    assert found["companies"] == [mine]


async def test_patching_a_companys_phones_and_emails_re_indexes_them(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    acme = await make_company(client, tenant, phones=["010 6552 9988"], emails=["old@acme.cn"])
    url = f"/api/v1/crm/companies/{acme['id']}"
    r = await client.patch(
        url, headers=tenant.auth, json={"phones": ["021 5555 0101"], "emails": ["new@acme.cn"]}
    )
    assert r.status_code == 200, r.text
    for old in ({"phone": "+861065529988"}, {"email": "old@acme.cn"}):
        assert (await lookup(client, tenant, **old))["companies"] == [], old
    for new in ({"phone": "+862155550101"}, {"email": "new@acme.cn"}):
        found = await lookup(client, tenant, **new)
        assert [c["id"] for c in found["companies"]] == [acme["id"]], new
    # The old number is free again: another company may take it.
    await make_company(client, tenant, name="Globex", phones=["010 6552 9988"])
