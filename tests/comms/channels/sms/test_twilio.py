"""Twilio through the real SDK request path (its HTTP client pointed at a local server),
and the signed webhooks: status callbacks and inbound SMS."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from comms.channels.sms.twilio import TwilioSmsProvider
from comms.hub import Hub
from comms.messages.runtime import build_sms_provider
from hubtest import TenantCtx, make_settings
from messages_testkit import post_sms, settle, statuses, use_provider

SID = "AC" + "0" * 32
TOKEN = "twilio-test-auth-token"
FROM = "+15005550006"
PUBLIC = "https://hub.example.cn"
INVALID_TO = "+8613000000000"
BUSY_TO = "+8613100131000"


@dataclass
class FakeTwilio:
    """Twilio's Messages endpoint, as far as creating a message goes."""

    base: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)

    async def create(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.requests.append(
            {"path": request.path, "auth": request.headers.get("Authorization"), **form}
        )
        if form["To"] == INVALID_TO:
            body = {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}
            return web.json_response(body, status=400)
        if form["To"] == BUSY_TO:
            body = {"code": 20429, "message": "Too Many Requests", "status": 429}
            return web.json_response(body, status=429)
        sid = "SM" + uuid.uuid4().hex
        return web.json_response(
            {
                "sid": sid,
                "account_sid": SID,
                "status": "queued",
                "num_segments": "1",
                "to": form["To"],
                "from": form["From"],
                "body": form["Body"],
            },
            status=201,
        )


@pytest.fixture
async def twilio_api() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio()
    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", fake.create)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.base = f"http://127.0.0.1:{port}"
    yield fake
    await runner.cleanup()


@pytest.fixture
def twilio(hub: Hub, twilio_api: FakeTwilio) -> TwilioSmsProvider:
    hub.settings.twilio_auth_token = SecretStr(TOKEN)
    hub.settings.public_url = PUBLIC
    provider = TwilioSmsProvider(SID, TOKEN, FROM, public_url=PUBLIC, api_base=twilio_api.base)
    use_provider(hub, provider)
    return provider


def signed(path: str, params: dict[str, str], token: str = TOKEN) -> dict[str, str]:
    signature = RequestValidator(token).compute_signature(f"{PUBLIC}{path}", params)
    return {"X-Twilio-Signature": signature}


def test_settings_with_a_twilio_account_pick_twilio(tmp_path: Any) -> None:
    settings = make_settings(
        "sqlite+aiosqlite://", tmp_path, twilio_account_sid=SID, twilio_auth_token=TOKEN
    )
    assert isinstance(build_sms_provider(settings), TwilioSmsProvider)


async def test_sdk_sends_with_status_callback_and_callbacks_settle_the_status(
    hub: Hub,
    client: httpx.AsyncClient,
    tenant: TenantCtx,
    twilio: TwilioSmsProvider,
    twilio_api: FakeTwilio,
) -> None:
    sent = await post_sms(client, tenant, body="Your code is 4321")
    await settle(hub)
    [req] = twilio_api.requests
    assert req["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert req["auth"].startswith("Basic ")
    assert (req["To"], req["From"], req["Body"]) == ("+8613800138000", FROM, "Your code is 4321")
    assert req["StatusCallback"] == f"{PUBLIC}/webhooks/twilio/sms/status"
    msg = (await client.get(f"/api/v1/messages/{sent['id']}", headers=tenant.auth)).json()
    assert msg["status"] == "sent" and msg["provider"] == "twilio"
    sid = msg["provider_message_id"]
    assert sid.startswith("SM")

    path = "/webhooks/twilio/sms/status"
    sending = {"MessageSid": sid, "MessageStatus": "sent", "AccountSid": SID}
    r = await client.post(path, data=sending, headers=signed(path, sending))
    assert r.status_code == 204
    done = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": SID}
    r = await client.post(path, data=done, headers=signed(path, done))
    assert r.status_code == 204
    assert await statuses(hub, sent["id"]) == ["queued", "sending", "sent", "delivered"]


async def test_wrong_or_missing_signature_is_403_and_changes_nothing(
    hub: Hub,
    client: httpx.AsyncClient,
    tenant: TenantCtx,
    twilio: TwilioSmsProvider,
) -> None:
    sent = await post_sms(client, tenant)
    await settle(hub)
    sid = (await client.get(f"/api/v1/messages/{sent['id']}", headers=tenant.auth)).json()[
        "provider_message_id"
    ]
    path = "/webhooks/twilio/sms/status"
    params = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    wrong = signed(path, params, token="someone-elses-token")
    assert (await client.post(path, data=params, headers=wrong)).status_code == 403
    assert (await client.post(path, data=params)).status_code == 403
    tampered = signed(path, {**params, "MessageStatus": "delivered"})
    assert (await client.post(path, data=params, headers=tampered)).status_code == 403
    inbound = {"MessageSid": "SMin", "From": "+8613800138000", "To": FROM, "Body": "x"}
    r = await client.post("/webhooks/twilio/sms/inbound", data=inbound)
    assert r.status_code == 403
    assert await statuses(hub, sent["id"]) == ["queued", "sending", "sent"]


async def test_signed_inbound_sms_becomes_an_inbound_message(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, twilio: TwilioSmsProvider
) -> None:
    await client.put(
        "/api/v1/messaging/settings", headers=tenant.auth, json={"inbound_sms_numbers": [FROM]}
    )
    path = "/webhooks/twilio/sms/inbound"
    params = {"MessageSid": "SM" + "1" * 32, "From": "+8613800138000", "To": FROM, "Body": "好的"}
    r = await client.post(path, data=params, headers=signed(path, params))
    assert r.status_code == 200
    assert r.text == "<Response/>"
    items = (await client.get("/api/v1/messages", headers=tenant.auth)).json()["items"]
    assert [(m["direction"], m["body"], m["from"]) for m in items] == [
        ("inbound", "好的", "+8613800138000")
    ]


async def test_twilio_refusal_fails_the_message_and_throttling_keeps_it_queued(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, twilio: TwilioSmsProvider
) -> None:
    bad = await post_sms(client, tenant, to=INVALID_TO)
    busy = await post_sms(client, tenant, to=BUSY_TO)
    await settle(hub)
    bad_msg = (await client.get(f"/api/v1/messages/{bad['id']}", headers=tenant.auth)).json()
    assert (bad_msg["status"], bad_msg["error_code"]) == ("failed", "21211")
    busy_msg = (await client.get(f"/api/v1/messages/{busy['id']}", headers=tenant.auth)).json()
    assert (busy_msg["status"], busy_msg["error_code"]) == ("queued", "20429")
