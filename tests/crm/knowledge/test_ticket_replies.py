"""A reply to a ticket goes to the contact through comms' messages service with the attached
articles' titles and links, is on the ticket and the timeline, and is the first response."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from comms.hub import Hub
from crm_testkit import make_contact, make_ticket, published, set_status, timeline
from hubtest import TenantCtx
from messages_testkit import settle


async def kb(client: httpx.AsyncClient, t: TenantCtx, title: str, status: str = "published") -> str:
    r = await client.post(
        "/api/v1/crm/articles", headers=t.auth, json={"title": title, "status": status}
    )
    assert r.status_code == 201, r.text
    aid: str = r.json()["id"]
    return aid


async def reply(
    client: httpx.AsyncClient, t: TenantCtx, ticket_id: str, **body: Any
) -> httpx.Response:
    return await client.post(f"/api/v1/crm/tickets/{ticket_id}/replies", headers=t.auth, json=body)


async def test_sms_reply_with_articles_reaches_the_contact_and_counts_as_first_response(
    hub: Hub,
    client: httpx.AsyncClient,
    tenant: TenantCtx,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUITONG_CRM_KB_URL", "https://help.example.cn/kb/{id}")
    c = await make_contact(client, tenant, phones=["13800138000"], emails=["li@example.cn"])
    t = await make_ticket(client, tenant, c["id"], "路由器无法上网")
    assert t["first_responded_at"] is None
    a1 = await kb(client, tenant, "路由器重置步骤")
    a2 = await kb(client, tenant, "宽带故障自查")
    r = await reply(
        client,
        tenant,
        t["id"],
        body="您好，请按以下步骤重置。",
        channel="sms",
        article_ids=[a1, a2],
    )
    assert r.status_code == 201, r.text
    sent = r.json()
    assert sent["article_ids"] == [a1, a2]
    msg = (await client.get(f"/api/v1/messages/{sent['message_id']}", headers=tenant.auth)).json()
    assert msg["to"] == "+8613800138000" and msg["channel"] == "sms"
    assert msg["body"].startswith("您好，请按以下步骤重置。\n\n")
    assert f"《路由器重置步骤》 https://help.example.cn/kb/{a1}" in msg["body"]
    assert f"《宽带故障自查》 https://help.example.cn/kb/{a2}" in msg["body"]
    after = (await client.get(f"/api/v1/crm/tickets/{t['id']}", headers=tenant.auth)).json()
    assert after["status"] == "open" and after["first_responded_at"]
    listed = await client.get(f"/api/v1/crm/tickets/{t['id']}/replies", headers=tenant.auth)
    assert [x["message_id"] for x in listed.json()["items"]] == [sent["message_id"]]
    updates = await published(hub, "crm.ticket.updated")
    assert updates[-1]["changes"] == ["replies", "status"]
    await settle(hub)  # the log provider sends it; the timeline follows the status
    entries = {e["ref"]: e for e in await timeline(client, tenant, c["id"])}
    assert entries[f"message:{sent['message_id']}"]["status"] == "sent"
    assert entries[f"message:{sent['message_id']}"]["direction"] == "outbound"


async def test_email_reply_keeps_an_earlier_first_response_and_is_on_the_timeline(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    c = await make_contact(client, tenant, emails=["li@example.cn"])
    t = await make_ticket(client, tenant, c["id"], "发票")
    first = (await set_status(client, tenant, t["id"], "pending"))["first_responded_at"]
    r = await reply(client, tenant, t["id"], body="Attached.", channel="email")
    assert r.status_code == 201, r.text
    msg = (
        await client.get(f"/api/v1/messages/{r.json()['message_id']}", headers=tenant.auth)
    ).json()
    assert (msg["to"], msg["subject"]) == ("li@example.cn", "Re: 发票")
    after = (await client.get(f"/api/v1/crm/tickets/{t['id']}", headers=tenant.auth)).json()
    assert after["first_responded_at"] == first and after["status"] == "pending"
    await settle(hub)  # the log transport sends it; the timeline follows the status
    entries = {e["ref"]: e for e in await timeline(client, tenant, c["id"])}
    mail = entries[f"message:{r.json()['message_id']}"]
    assert (mail["kind"], mail["direction"], mail["status"]) == ("email", "outbound", "sent")
    assert mail["summary"] == "Re: 发票"


async def test_bad_replies_are_refused_naming_the_field_and_send_nothing(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    c = await make_contact(client, tenant, phones=["010 6552 9988"])  # a landline only
    t = await make_ticket(client, tenant, c["id"])
    draft = await kb(client, tenant, "draft", status="draft")
    ok = await kb(client, tenant, "ok")
    cases = [
        ({"body": "hi", "channel": "sms"}, 422, "channel"),
        ({"body": "hi", "channel": "email"}, 422, "channel"),
        ({"body": "hi", "channel": "sms", "article_ids": [ok, draft]}, 422, "article_ids[1]"),
    ]
    for body, code, field in cases:
        r = await reply(client, tenant, t["id"], **body)
        assert (r.status_code, r.json().get("field")) == (code, field), r.text
    nobody = await make_ticket(client, tenant, None)
    r = await reply(client, tenant, nobody["id"], body="hi", channel="sms")
    assert r.status_code == 422 and r.json()["field"] == "contact_id"
    await set_status(client, tenant, t["id"], "closed")
    r = await reply(client, tenant, t["id"], body="hi", channel="email")
    assert r.status_code == 409 and r.json()["field"] == "status"
    assert (await client.get("/api/v1/messages", headers=tenant.auth)).json()["items"] == []
    fresh = (await client.get(f"/api/v1/crm/tickets/{t['id']}/replies", headers=tenant.auth)).json()
    assert fresh["items"] == []
