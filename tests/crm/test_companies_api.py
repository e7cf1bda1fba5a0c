"""Companies: several E.164 phones, emails, tags, owner and custom fields under the contacts'
rules, read and patched by id, 422s naming the field, and their contacts."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

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
