"""A ticket's own timeline tells its story in order: the SMS that opened it, the agent's reply
with an article, a voicemail, the status changes, the survey and its score."""

from __future__ import annotations

import uuid

import httpx
from timeline_testkit import emit

from comms.db.base import utcnow
from comms.hub import Hub
from crm_testkit import make_contact, receive_sms, set_status, use_inbound_number
from hubtest import TenantCtx


async def test_the_ticket_timeline_tells_the_whole_story_in_order(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await use_inbound_number(client, tenant)
    await make_contact(client, tenant, phones=["13800138000"])
    await receive_sms(hub, "13800138000", "宽带断了", "s-1")
    [t] = (await client.get("/api/v1/crm/tickets", headers=tenant.auth)).json()["items"]
    art = await client.post(
        "/api/v1/crm/articles",
        headers=tenant.auth,
        json={"title": "重启光猫", "status": "published"},
    )
    r = await client.post(
        f"/api/v1/crm/tickets/{t['id']}/replies",
        headers=tenant.auth,
        json={"body": "请重启光猫", "channel": "sms", "article_ids": [art.json()["id"]]},
    )
    assert r.status_code == 201, r.text
    await emit(
        hub,
        tenant,
        "telephony.voicemail.recorded",
        {
            "voicemail_id": str(uuid.uuid4()),
            "call_id": None,
            "mailbox_member_id": None,
            "caller": "+8613800138000",
            "callee": "8001",
            "recorded_at": utcnow().isoformat(),
            "duration_seconds": 9,
            "recording": "voicemail/8001/x.wav",
        },
    )
    await set_status(client, tenant, t["id"], "resolved")
    await receive_sms(hub, "13800138000", "5", "s-2")
    tl = await client.get(f"/api/v1/crm/tickets/{t['id']}/timeline", headers=tenant.auth)
    assert tl.status_code == 200, tl.text
    story = [(e["kind"], e["direction"]) for e in tl.json()]
    assert story == [
        ("created", None),
        ("message", "inbound"),
        ("status", None),  # new -> open by the reply
        ("reply", "outbound"),
        ("voicemail", "inbound"),
        ("status", None),  # open -> resolved
        ("survey", "outbound"),
        ("survey", "inbound"),
    ]
    summaries = [e["summary"] for e in tl.json()]
    assert summaries[1] == "sms: 宽带断了"
    assert summaries[3].startswith("sms: 请重启光猫") and summaries[3].endswith("[+1 article(s)]")
    assert summaries[-1] == "satisfaction 5/5"
