"""POST/GET /api/v1/messages and conversations: what callers see and the 422s they get."""

from __future__ import annotations

import base64

import httpx
import pytest

from comms.hub import Hub
from hubtest import TenantCtx
from messages_testkit import post_sms


async def test_sms_post_answers_202_with_segments_and_encoding(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.post(
        "/api/v1/messages",
        headers=tenant.auth,
        json={"channel": "sms", "to": "13800138000", "body": "您好，您的订单已发货" * 8},
    )
    assert r.status_code == 202, r.text
    data = r.json()
    assert data["status"] == "queued"
    assert data["to"] == "+8613800138000"  # default region CN, stored as E.164
    assert data["encoding"] == "ucs2"
    assert data["segments"] == 2  # 80 UCS-2 units: over 70, within 2 x 67

    got = await client.get(f"/api/v1/messages/{data['id']}", headers=tenant.auth)
    assert got.status_code == 200
    assert got.json()["body"] == "您好，您的订单已发货" * 8


async def test_sms_signature_is_part_of_the_counted_text(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.put(
        "/api/v1/messaging/settings", headers=tenant.auth, json={"sms_signature": "【汇通】"}
    )
    assert r.status_code == 200, r.text
    data = await post_sms(client, tenant, body="Your code is 1234")
    assert data["body"] == "【汇通】Your code is 1234"
    assert data["encoding"] == "ucs2"  # the 【】 signature alone forces UCS-2


async def test_email_post_answers_202_with_a_message_id_we_made(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.post(
        "/api/v1/messages",
        headers=tenant.auth,
        json={
            "channel": "email",
            "to": "Customer@Example.com",
            "subject": "Order {{order}}",
            "body": "Hello {{name}}",
            "variables": {"order": "A-1", "name": "王"},
            "template": "order-shipped",
            "attachments": [
                {"filename": "a.txt", "content_base64": base64.b64encode(b"hi").decode()}
            ],
        },
    )
    assert r.status_code == 202, r.text
    data = r.json()
    assert data["to"] == "customer@example.com"
    assert data["subject"] == "Order A-1"
    assert data["body"] == "Hello 王"
    assert data["segments"] is None and data["encoding"] is None
    assert data["rfc_message_id"].startswith("<") and data["rfc_message_id"].endswith(">")


BAD = [
    ({"channel": "sms", "to": "not a number", "body": "x"}, "to"),
    ({"channel": "sms", "to": "+861234", "body": "x"}, "to"),
    ({"channel": "sms", "to": "+8613800138000", "body": ""}, "body"),
    ({"channel": "sms", "to": "+8613800138000", "body": "   "}, "body"),
    ({"channel": "sms", "to": "+8613800138000", "body": "长" * 2000}, "body"),
    ({"channel": "sms", "to": "+8613800138000", "body": "Hi {{name}}"}, "body"),
    ({"channel": "email", "to": "nobody@", "subject": "s", "body": "x"}, "to"),
    ({"channel": "email", "to": "a@example.com", "subject": "{{x}}", "body": "x"}, "subject"),
    ({"channel": "email", "to": "a@example.com", "from": "bad", "body": "x"}, "from"),
    ({"channel": "email", "to": "a@example.com", "subject": "s", "body": ""}, "body"),
]


@pytest.mark.parametrize(
    ("body", "field"), BAD, ids=[f"{b['channel']}-{f}-{i}" for i, (b, f) in enumerate(BAD)]
)
async def test_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient, tenant: TenantCtx, body: dict[str, str], field: str
) -> None:
    r = await client.post("/api/v1/messages", headers=tenant.auth, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert field in r.json()["detail"]


async def test_unknown_channel_is_422_naming_channel(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.post(
        "/api/v1/messages", headers=tenant.auth, json={"channel": "fax", "to": "1", "body": "x"}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "channel"]


async def test_idempotency_key_returns_the_first_result(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    body = {"channel": "sms", "to": "+8613800138000", "body": "once"}
    headers = {**tenant.auth, "Idempotency-Key": "order-42"}
    first = await client.post("/api/v1/messages", headers=headers, json=body)
    again = await client.post("/api/v1/messages", headers=headers, json=body)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    listed = await client.get("/api/v1/messages", headers=tenant.auth)
    assert len(listed.json()["items"]) == 1

    other = await client.post(
        "/api/v1/messages", headers=headers, json={**body, "body": "different"}
    )
    assert other.status_code == 409
    assert other.json()["field"] == "Idempotency-Key"


async def test_list_pages_with_a_cursor_and_filters(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    ids = [(await post_sms(client, tenant, body=f"n{i}"))["id"] for i in range(5)]
    await client.post(
        "/api/v1/messages",
        headers=tenant.auth,
        json={"channel": "email", "to": "a@example.com", "subject": "s", "body": "b"},
    )
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, str | int] = {"channel": "sms", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/messages", headers=tenant.auth, params=params)).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))  # newest first, each exactly once

    by_to = await client.get(
        "/api/v1/messages", headers=tenant.auth, params={"to": "a@example.com"}
    )
    assert [m["channel"] for m in by_to.json()["items"]] == ["email"]
    queued = await client.get("/api/v1/messages", headers=tenant.auth, params={"status": "sent"})
    assert queued.json()["items"] == []
    future = await client.get(
        "/api/v1/messages", headers=tenant.auth, params={"since": "2999-01-01T00:00:00Z"}
    )
    assert future.json()["items"] == []
    bad = await client.get("/api/v1/messages", headers=tenant.auth, params={"cursor": "zzz"})
    assert bad.status_code == 422 and bad.json()["field"] == "cursor"


async def test_conversation_threads_one_counterpart(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    a = await post_sms(client, tenant, to="13800138000", body="one")
    b = await post_sms(client, tenant, to="+86 138 0013 8000", body="two")
    await post_sms(client, tenant, to="+8613900139000", body="other")
    assert a["conversation_id"] == b["conversation_id"]
    convs = (await client.get("/api/v1/conversations", headers=tenant.auth)).json()["items"]
    assert len(convs) == 2
    thread = await client.get(
        f"/api/v1/conversations/{a['conversation_id']}/messages", headers=tenant.auth
    )
    assert [m["body"] for m in thread.json()["items"]] == ["two", "one"]
    conv = await client.get(f"/api/v1/conversations/{a['conversation_id']}", headers=tenant.auth)
    assert conv.json()["address"] == "+8613800138000"
    assert conv.json()["message_count"] == 2


async def test_daily_quota_and_recipient_cap_answer_429(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.put(
        "/api/v1/messaging/settings",
        headers=tenant.auth,
        json={"sms_daily_quota": 3, "sms_recipient_daily_cap": 2},
    )
    assert r.status_code == 200
    await post_sms(client, tenant, body="a")
    await post_sms(client, tenant, body="b")
    capped = await client.post(
        "/api/v1/messages",
        headers=tenant.auth,
        json={"channel": "sms", "to": "+8613800138000", "body": "c"},
    )
    assert capped.status_code == 429
    assert capped.json()["reason"] == "recipient_cap"
    await post_sms(client, tenant, to="+8613900139000", body="d")
    over = await client.post(
        "/api/v1/messages",
        headers=tenant.auth,
        json={"channel": "sms", "to": "+8613700137000", "body": "e"},
    )
    assert over.status_code == 429
    assert over.json()["reason"] == "quota"


async def test_same_text_to_same_number_is_suppressed_within_the_window(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await post_sms(client, tenant, body="same")
    again = await client.post(
        "/api/v1/messages",
        headers=tenant.auth,
        json={"channel": "sms", "to": "+8613800138000", "body": "same"},
    )
    assert again.status_code == 429
    assert again.json()["reason"] == "duplicate"
    await post_sms(client, tenant, to="+8613900139000", body="same")  # another number is fine


async def test_inbound_address_held_by_another_tenant_is_409(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    mine = {"inbound_email_domains": ["Support.Acme.cn"], "inbound_sms_numbers": ["10690001"]}
    r = await client.put("/api/v1/messaging/settings", headers=tenant.auth, json=mine)
    assert r.status_code == 200
    assert r.json()["inbound_email_domains"] == ["support.acme.cn"]
    theirs = await client.put(
        "/api/v1/messaging/settings",
        headers=other_tenant.auth,
        json={"inbound_email_domains": ["support.acme.cn"]},
    )
    assert theirs.status_code == 409
    assert theirs.json()["field"] == "inbound_email_domains"
    assert str(tenant.id) not in theirs.text
