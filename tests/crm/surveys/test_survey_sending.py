"""Resolving a ticket queues one "reply 1-5" SMS to the contact's mobile, in the same
transaction; no mobile, no contact or surveys switched off: no SMS."""

from __future__ import annotations

from typing import Any

import httpx

from comms.hub import Hub
from crm_testkit import make_contact, make_ticket, set_status
from hubtest import TenantCtx


async def surveys(client: httpx.AsyncClient, t: TenantCtx, **params: str) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/crm/surveys", headers=t.auth, params=params)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def sms_to(client: httpx.AsyncClient, t: TenantCtx, to: str) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/messages", headers=t.auth, params={"to": to})
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_resolving_asks_the_contacts_mobile_once_per_ticket(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    c = await make_contact(client, tenant, phones=["010 6552 9988", "138 0013 8000"])
    agent = "7d5a1c2e-0000-4000-8000-000000000001"
    t = await make_ticket(client, tenant, c["id"], "宽带断线", assignee_id=agent, team="noc")
    await set_status(client, tenant, t["id"], "resolved")
    [survey] = await surveys(client, tenant)
    assert survey["status"] == "sent" and survey["phone"] == "+8613800138000"
    assert (survey["ticket_id"], survey["agent_id"], survey["team"]) == (t["id"], agent, "noc")
    [sms] = await sms_to(client, tenant, "+8613800138000")
    assert sms["id"] == survey["message_id"] and sms["status"] == "queued"
    assert "宽带断线" in sms["body"] and "1-5" in sms["body"]
    assert await sms_to(client, tenant, "+861065529988") == []  # a landline gets nothing
    await set_status(client, tenant, t["id"], "open")
    await set_status(client, tenant, t["id"], "resolved")
    assert len(await surveys(client, tenant)) == 1
    assert len(await sms_to(client, tenant, "+8613800138000")) == 1


async def test_no_survey_without_a_mobile_a_contact_or_when_switched_off(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    landline = await make_contact(client, tenant, "Desk", phones=["010 6552 9988"])
    mobile = await make_contact(client, tenant, "Mob", phones=["13800138000"])
    for contact_id in (landline["id"], None):
        t = await make_ticket(client, tenant, contact_id)
        await set_status(client, tenant, t["id"], "resolved")
    off = await client.put(
        "/api/v1/crm/surveys/settings", headers=tenant.auth, json={"enabled": False}
    )
    assert off.status_code == 200, off.text
    t = await make_ticket(client, tenant, mobile["id"])
    await set_status(client, tenant, t["id"], "resolved")
    assert await surveys(client, tenant) == []
    assert (await client.get("/api/v1/messages", headers=tenant.auth)).json()["items"] == []


async def test_tenant_text_and_locale_and_bad_template_is_a_422(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    default = (await client.get("/api/v1/crm/surveys/settings", headers=tenant.auth)).json()
    assert default["locale"] == "zh-CN" and "回复" in default["text"]
    en = await client.put(
        "/api/v1/crm/surveys/settings", headers=tenant.auth, json={"locale": "en"}
    )
    assert "Reply with a number from 1" in en.json()["text"]
    bad = await client.put(
        "/api/v1/crm/surveys/settings",
        headers=tenant.auth,
        json={"template": "Rate {{agent}} 1-5"},
    )
    assert bad.status_code == 422 and bad.json()["field"] == "template"
    own = await client.put(
        "/api/v1/crm/surveys/settings",
        headers=tenant.auth,
        json={"template": "工单{{ticket}}：{{subject}} 已解决，请回复1-5评分"},
    )
    assert own.status_code == 200, own.text
    c = await make_contact(client, tenant, phones=["13800138000"])
    t = await make_ticket(client, tenant, c["id"], "发票")
    await set_status(client, tenant, t["id"], "resolved")
    [sms] = await sms_to(client, tenant, "+8613800138000")
    assert sms["body"].startswith(f"工单{t['id'].replace('-', '')[:8]}：发票 已解决")


async def test_a_refused_survey_sms_is_kept_as_skipped_and_the_ticket_still_resolves(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    cap = await client.put(
        "/api/v1/messaging/settings", headers=tenant.auth, json={"sms_daily_quota": 1}
    )
    assert cap.status_code == 200, cap.text
    c = await make_contact(client, tenant, phones=["13800138000"])
    first = await make_ticket(client, tenant, c["id"], "one")
    second = await make_ticket(client, tenant, c["id"], "two")
    await set_status(client, tenant, first["id"], "resolved")
    resolved = await set_status(client, tenant, second["id"], "resolved")
    assert resolved["status"] == "resolved"
    by_ticket = {s["ticket_id"]: s for s in await surveys(client, tenant)}
    assert by_ticket[first["id"]]["status"] == "sent"
    assert by_ticket[second["id"]]["status"] == "skipped"
    assert "quota" in by_ticket[second["id"]]["skip_reason"]


async def test_a_merged_duplicates_surveys_move_to_the_kept_contact(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    keep = await make_contact(client, tenant, "Li Lei", phones=["13900139000"])
    dup = await make_contact(client, tenant, "Lei Li", phones=["13800138000"])
    t = await make_ticket(client, tenant, dup["id"])
    await set_status(client, tenant, t["id"], "resolved")
    r = await client.post(
        f"/api/v1/crm/contacts/{keep['id']}/merge",
        headers=tenant.auth,
        json={"duplicate_id": dup["id"]},
    )
    assert r.status_code == 200, r.text
    [survey] = await surveys(client, tenant)
    assert survey["contact_id"] == keep["id"]
