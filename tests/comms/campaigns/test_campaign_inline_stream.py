"""Inline recipients read a chunk at a time: same answers, 422s naming late recipients."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from campaigns_testkit import counts, setup_tenant
from fastapi.exceptions import RequestValidationError
from sqlalchemy import func, select

from comms.campaigns import inline
from comms.campaigns.models import Campaign, CampaignRecipient
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx

URL = "/api/v1/sms/campaigns"


def phone(i: int) -> str:
    return f"+86138{i:08d}"


async def stored(hub: Hub, t: TenantCtx) -> tuple[int, int]:
    async with hub.db.session() as s:
        scoped_to(s, t.id)
        camps = await s.scalar(select(func.count()).select_from(Campaign))
        rows = await s.scalar(select(func.count()).select_from(CampaignRecipient))
    return int(camps or 0), int(rows or 0)


def members(n: int, **variables: Any) -> list[dict[str, Any]]:
    return [{"phone": phone(i), "variables": dict(variables)} for i in range(n)]


async def test_10000_recipients_are_accepted_with_duplicates_across_chunks_first_wins(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_tenant(client, tenant)
    recipients: list[dict[str, Any]] = [{"phone": phone(i), "name": f"n{i}"} for i in range(9_998)]
    # The same numbers again, written another way, two chunks later: the first row stays.
    recipients[2500] = {"phone": f"138 {10:08d}", "name": "again"}
    recipients += [{"phone": phone(9_998)}, {"phone": phone(10), "name": "last"}]
    assert len(recipients) == 10_000
    r = await client.post(
        URL, headers=tenant.auth, json={"name": "c", "body": "{{name}}", "recipients": recipients}
    )
    assert r.status_code == 202, r.text
    c = r.json()
    assert c["status"] == "queued"
    assert (c["counts"]["recipients"], c["counts"]["pending"]) == (9_998, 9_998)
    assert (await counts(client, tenant, c["id"]))["recipients"] == 9_998
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        name = await s.scalar(
            select(CampaignRecipient.name).where(CampaignRecipient.phone == phone(10))
        )
    assert name == "n10"


async def test_more_than_100000_recipients_is_a_422_on_the_list_storing_nothing(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_tenant(client, tenant)
    r = await client.post(
        URL, headers=tenant.auth, json={"name": "c", "body": "hi", "recipients": members(100_001)}
    )
    assert r.status_code == 422, r.text
    err = r.json()["detail"][0]
    assert (err["type"], err["loc"]) == ("too_long", ["body", "recipients"])
    assert await stored(hub, tenant) == (0, 0)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"phone": "not a number", "variables": {"time": "9"}}, "recipients[2998].phone"),
        ({"phone": phone(2998), "variables": {}}, "recipients[2998].variables"),
    ],
)
async def test_a_bad_recipient_late_in_the_list_is_a_422_naming_it_storing_nothing(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, bad: dict[str, Any], field: str
) -> None:
    await setup_tenant(client, tenant)
    recipients = members(3000, time="9:00")
    recipients[2998] = bad
    r = await client.post(
        URL, headers=tenant.auth, json={"name": "c", "body": "{{time}}", "recipients": recipients}
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert await stored(hub, tenant) == (0, 0)


@pytest.mark.parametrize(
    ("bad", "loc"),
    [
        ({"phone": "1" * 40}, ["body", "recipients", 2999, "phone"]),
        ({"phone": phone(1), "nickname": "x"}, ["body", "recipients", 2999, "nickname"]),
        ("13800138000", ["body", "recipients", 2999]),
    ],
)
async def test_a_recipient_failing_the_schema_late_is_fastapis_422_at_its_index(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, bad: Any, loc: list[Any]
) -> None:
    await setup_tenant(client, tenant)
    recipients: list[Any] = members(3000)
    recipients[2999] = bad
    r = await client.post(
        URL, headers=tenant.auth, json={"name": "c", "body": "hi", "recipients": recipients}
    )
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["detail"]] == [loc]
    assert await stored(hub, tenant) == (0, 0)


@pytest.mark.parametrize(
    ("content", "loc", "kind"),
    [
        (b'{"name": "c", "body": "hi", "recipients": [', ["body", 43], "json_invalid"),
        (b'{"name": "c", "body": "hi", "recipients": "x"}', ["body", "recipients"], "list_type"),
        (b'{"body": "hi", "recipients": [{"phone": "13800138000"}]}', ["body", "name"], "missing"),
        (b'[{"phone": "13800138000"}]', ["body"], "model_type"),
        (b"", ["body"], "missing"),
    ],
)
async def test_a_body_that_is_not_a_campaign_is_fastapis_422(
    hub: Hub,
    client: httpx.AsyncClient,
    tenant: TenantCtx,
    content: bytes,
    loc: list[Any],
    kind: str,
) -> None:
    await setup_tenant(client, tenant)
    headers = {**tenant.auth, "content-type": "application/json"}
    r = await client.post(URL, headers=headers, content=content)
    assert r.status_code == 422, r.text
    err = r.json()["detail"][0]
    assert (err["type"], err["loc"]) == (kind, loc)
    assert await stored(hub, tenant) == (0, 0)


async def test_an_empty_recipients_list_is_no_audience(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await setup_tenant(client, tenant)
    r = await client.post(
        URL, headers=tenant.auth, json={"name": "c", "body": "hi", "recipients": []}
    )
    assert (r.status_code, r.json()["field"]) == (422, "recipients")


def test_exactly_the_maximum_is_taken() -> None:
    raw = json.dumps({"name": "c", "body": "hi", "recipients": members(100_000)}).encode()
    assert inline.read(raw, "application/json")[1].count == 100_000


def test_recipients_are_parsed_a_chunk_at_a_time() -> None:
    recipients: list[Any] = members(inline.CHUNK * 3)
    recipients[-1] = {"phone": 1}
    raw = json.dumps({"recipients": recipients, "name": "c", "body": "hi"}).encode()
    data, given = inline.read(raw, "application/json")
    assert (data.name, data.recipients, given.count) == ("c", [], inline.CHUNK * 3)
    chunks = given.chunks()
    first = next(chunks)
    assert (first[0], len(first[1]), first[1][0].phone) == (0, inline.CHUNK, phone(0))
    assert next(chunks)[0] == inline.CHUNK
    # The bad last recipient is only read with the third chunk.
    with pytest.raises(RequestValidationError) as exc:
        next(chunks)
    assert exc.value.errors()[0]["loc"] == ("body", "recipients", inline.CHUNK * 3 - 1, "phone")


def test_the_openapi_body_is_the_campaign_schema_self_contained(hub: Hub) -> None:
    from comms.app import create_app

    doc = create_app(hub=hub, start_services=False).openapi()
    body = doc["paths"][URL]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert body["required"] is True
    assert set(schema["required"]) == {"name", "body"}
    listed = schema["properties"]["recipients"]
    assert listed["maxItems"] == 100_000
    assert set(listed["items"]["properties"]) == {"phone", "name", "department", "variables"}
    assert schema["properties"]["kind"]["enum"] == ["notice", "marketing"]
    assert "$ref" not in json.dumps(schema)
