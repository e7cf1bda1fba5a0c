"""Helpers for campaign tests: sign the tenant, post a campaign, read its counts, reply."""

from __future__ import annotations

from typing import Any

import httpx

from comms.channels.sms.provider import InboundSms
from comms.db.base import utcnow
from comms.hub import Hub
from comms.messages.inbound import MessagingSink
from hubtest import TenantCtx
from messages_testkit import settle

SIGNATURE = "【某某公司】"
INBOUND_NUMBER = "1069000"


async def setup_tenant(client: httpx.AsyncClient, t: TenantCtx) -> None:
    r = await client.put(
        "/api/v1/messaging/settings",
        headers=t.auth,
        json={"sms_signature": SIGNATURE, "inbound_sms_numbers": [INBOUND_NUMBER]},
    )
    assert r.status_code == 200, r.text


async def campaign(
    client: httpx.AsyncClient, t: TenantCtx, body: str, phones: list[str], **extra: Any
) -> str:
    r = await client.post(
        "/api/v1/sms/campaigns",
        headers=t.auth,
        json={"name": body, "body": body, "recipients": [{"phone": p} for p in phones], **extra},
    )
    assert r.status_code == 202, r.text
    cid: str = r.json()["id"]
    return cid


async def counts(client: httpx.AsyncClient, t: TenantCtx, cid: str) -> dict[str, Any]:
    r = await client.get(f"/api/v1/sms/campaigns/{cid}", headers=t.auth)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["counts"]
    return data


async def reply(hub: Hub, sender: str, text: str) -> None:
    sink: MessagingSink = hub.services["messaging.sink"]
    n = utcnow().timestamp()
    sms = InboundSms("log", sender, INBOUND_NUMBER, text, utcnow(), [f"{n}"])
    assert await sink.receive_sms(sms)
    await settle(hub)
