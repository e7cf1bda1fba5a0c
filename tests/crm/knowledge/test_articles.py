"""Knowledge base: search over title, tags and body ranks title hits first on both databases,
Chinese matches by substring, drafts are filtered, reads of published articles are counted."""

from __future__ import annotations

from typing import Any

import httpx

from hubtest import TenantCtx


async def article(client: httpx.AsyncClient, t: TenantCtx, **fields: Any) -> dict[str, Any]:
    body = {"status": "published", "body": "", **fields}
    r = await client.post("/api/v1/crm/articles", headers=t.auth, json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def search(client: httpx.AsyncClient, t: TenantCtx, **params: str) -> list[str]:
    r = await client.get("/api/v1/crm/articles", headers=t.auth, params=params)
    assert r.status_code == 200, r.text
    return [a["title"] for a in r.json()["items"]]


async def test_title_hits_rank_before_tag_hits_before_body_hits(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await article(client, tenant, title="账单说明", body="如何重置路由器？先拔掉电源。")
    await article(client, tenant, title="网络故障排查", tags=["路由器", "宽带"])
    await article(client, tenant, title="路由器重置步骤", body="按住 reset 键十秒。")
    await article(client, tenant, title="Invoices", body="nothing about that")
    assert await search(client, tenant, q="路由器") == [
        "路由器重置步骤",
        "网络故障排查",
        "账单说明",
    ]
    assert await search(client, tenant, q="重置") == ["路由器重置步骤", "账单说明"]
    assert await search(client, tenant, q="路由器 电源") == ["账单说明"]  # every term must match
    assert await search(client, tenant, q="RESET") == ["路由器重置步骤"]  # any case
    assert await search(client, tenant, q="invoice") == ["Invoices"]
    assert await search(client, tenant, q="100%") == []  # LIKE wildcards are literal
    assert await search(client, tenant, tag="宽带") == ["网络故障排查"]


async def test_drafts_locale_and_status_filters(
    client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    await article(client, tenant, title="Reset your router", locale="en")
    await article(client, tenant, title="Router draft", status="draft", locale="en")
    await article(client, other_tenant, title="Router of theirs")
    assert await search(client, tenant, q="router", status="published") == ["Reset your router"]
    assert sorted(await search(client, tenant, q="router")) == ["Reset your router", "Router draft"]
    assert await search(client, tenant, q="router", locale="zh-CN") == []
    bad = await client.post(
        "/api/v1/crm/articles", headers=tenant.auth, json={"title": "x", "tags": ["ok", " "]}
    )
    assert bad.status_code == 422 and bad.json()["field"] == "tags[1]"


async def test_reading_a_published_article_counts_a_view(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    a = await article(client, tenant, title="FAQ", status="draft")
    url = f"/api/v1/crm/articles/{a['id']}"
    assert (await client.get(url, headers=tenant.auth)).json()["view_count"] == 0  # a draft
    published = await client.patch(url, headers=tenant.auth, json={"status": "published"})
    assert published.status_code == 200 and published.json()["published_at"]
    for n in (1, 2, 3):
        assert (await client.get(url, headers=tenant.auth)).json()["view_count"] == n
    [hit] = (
        await client.get("/api/v1/crm/articles", headers=tenant.auth, params={"q": "faq"})
    ).json()["items"]
    assert hit["view_count"] == 3
    assert (await client.delete(url, headers=tenant.auth)).status_code == 204
    assert (await client.get(url, headers=tenant.auth)).status_code == 404
