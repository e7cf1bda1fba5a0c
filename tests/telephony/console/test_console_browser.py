"""The console in Chromium, as a new user meets it: sign in, a caller pops up with their CRM
record and ERP orders, an SMS arrives and is answered; browser audio where configured."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_kit import chromium, collect_errors, need_browser, shoot, sign_in
from console_testkit import (
    SIP_PORT,
    emit,
    hub_answering,
    make_contact,
    make_person,
    serve,
)
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.typing import Subprotocol

from comms.app import create_app
from comms.channels.sms.provider import InboundSms
from comms.db.base import utcnow
from comms.hub import Hub
from comms.messages.inbound import MessagingSink
from comms.settings import Settings
from hubtest import drain, make_tenant

JSSIP_BUNDLE = Path(__file__).resolve().parents[3] / "telephony/console/static/vendor/jssip.js"


async def recent_orders(_: Any, args: Mapping[str, str]) -> list[dict[str, str]]:
    """Stands in for erp's answer (the erp package is built on another branch)."""
    if args["phone"] != "+8613800138000":
        return []
    return [
        {
            "number": "SO-1001",
            "status": "shipped",
            "total": "99.00",
            "currency": "CNY",
            "created_at": "2026-11-20T10:00:00+00:00",
        }
    ]


@pytest.fixture
async def erp_hub(settings: Settings) -> AsyncIterator[Hub]:
    hub = hub_answering(settings, {"erp.recent_orders": recent_orders})
    yield hub
    await hub.stop()


async def test_an_agent_signs_in_sees_a_screen_pop_and_answers_an_sms(erp_hub: Hub) -> None:
    need_browser()
    hub = erp_hub
    t = await make_tenant(hub, "browser-co")
    app = create_app(hub=hub, start_services=False)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://h") as client,
        serve(app) as base,
        chromium() as browser,
    ):
        await make_contact(client, t, "韩梅梅", phones=["+8613800138000"], tags=["vip"])
        agent = await make_person(client, t, "agent", "li", department="Support")
        r = await client.put(
            "/api/v1/messaging/settings", headers=t.auth, json={"inbound_sms_numbers": ["1069"]}
        )
        assert r.status_code == 200
        page = await browser.new_page()
        errors = collect_errors(page)

        await page.goto(f"{base}/console")
        await page.fill("#login-email", agent.email)
        await page.fill("#login-password", "wrong-password")
        await page.click("#login-form button[type=submit]")
        await page.wait_for_selector("#login-error:text('invalid email or password')")
        await shoot(page, "01-sign-in")
        await sign_in(page, base, agent.email, agent.password)
        assert await page.text_content("#me-role") == "agent"
        assert await page.is_hidden("#wallboard-tab")

        await emit(
            hub,
            t.id,
            "telephony.queue.call_offered",
            queue_id=str(uuid.uuid4()),
            entry_id=str(uuid.uuid4()),
            call_id=str(uuid.uuid4()),
            caller="+8613800138000",
            agent_id=str(uuid.uuid4()),
            user_id=agent.user_id,
        )
        await page.wait_for_selector("#call-card.ringing")
        assert await page.text_content("#pop-caller") == "+8613800138000"
        assert "韩梅梅" in (await page.text_content("#pop-contact") or "")
        assert "SO-1001" in (await page.text_content("#pop-orders") or "")
        await shoot(page, "02-screen-pop")

        sink: MessagingSink = hub.services["messaging.sink"]
        sms = InboundSms("log", "+8613900001111", "10690", "Is my order shipped?", utcnow(), ["b1"])
        assert await sink.receive_sms(sms)
        await drain(hub)
        await page.wait_for_selector("#sms-badge:not([hidden])")
        await page.click("button[data-tab=messages]")
        await page.click("#threads button.num:text('+8613900001111')")
        await page.wait_for_selector("#thread-messages li:text('Is my order shipped?')")
        await page.fill("#reply-body", "Yes, it left this morning.")
        await page.click("#reply-form button[type=submit]")
        await page.wait_for_selector("#thread-messages li.outbound:text('Yes, it left')")
        await shoot(page, "03-sms-thread")
        assert errors == []


@pytest.fixture
async def sip_requests() -> AsyncIterator[list[str]]:
    """A SIP-over-WebSocket peer (RFC 7118, subprotocol "sip") that records what JsSIP sends
    and answers nothing: enough to see the browser register where the config says."""
    got: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        async for msg in ws:
            got.append(str(msg))

    async with ws_serve(handler, "127.0.0.1", SIP_PORT, subprotocols=[Subprotocol("sip")]):
        yield got


@pytest.mark.parametrize("bundle", ["built", "missing"])
async def test_webrtc_audio_is_used_when_configured_and_desk_phone_mode_without_the_bundle(
    webrtc_hub: Hub, sip_requests: list[str], bundle: str
) -> None:
    need_browser()
    if bundle == "built" and not JSSIP_BUNDLE.exists():
        pytest.skip("JsSIP bundle not built: cd telephony/console/web && npm ci && npm run build")
    t = await make_tenant(webrtc_hub, "webrtc-co")
    app = create_app(hub=webrtc_hub, start_services=False)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://h") as client,
        serve(app) as base,
        chromium() as browser,
    ):
        agent = await make_person(client, t, "agent", "li")
        page = await browser.new_page()
        errors = collect_errors(page)
        if bundle == "missing":
            await page.route("**/console/vendor/jssip.js", lambda route: route.abort())
        await sign_in(page, base, agent.email, agent.password)
        label = "browser audio" if bundle == "built" else "desk phone (no WebRTC bundle)"
        await page.wait_for_selector(f"#audio-mode:text-is('{label}')")
        if bundle == "built":
            async with asyncio.timeout(5):
                while not sip_requests:
                    await asyncio.sleep(0.05)
            assert sip_requests[0].startswith("REGISTER sip:pbx.example.cn SIP/2.0")
            assert "sip:1001@pbx.example.cn" in sip_requests[0]
        else:
            await asyncio.sleep(0.3)
            assert sip_requests == []
        assert errors == []
