"""The published flow behind a DID, walked through Twilio voice webhooks (signed requests)."""

from __future__ import annotations

import io
import wave
from pathlib import Path
from urllib.parse import urlencode
from xml.etree import ElementTree

import httpx
import pytest
from ivr_query_fakes import FLOW as QFLOW
from ivr_query_fakes import Asked, fake_queries
from twilio.request_validator import RequestValidator

from comms.hub import Hub
from comms.queries import Queries
from comms.settings import Settings
from hubtest import TenantCtx, make_settings

TOKEN = "twilio-test-token"
PUBLIC = "https://hub.example.cn"
DID = "+861058001234"
FLOW = {
    "start": "menu",
    "nodes": {
        "menu": {
            "type": "menu",
            "prompt": "sound:press-1-or-2",
            "options": {"1": "zhang", "2": "order"},
            "retries": 1,
            "invalid_prompt": "sound:invalid",
            "on_timeout": "bye",
        },
        "zhang": {
            "type": "route",
            "target": {"kind": "short_number", "value": "6001"},
            "on_failure": "vm",
        },
        "order": {
            "type": "gather",
            "prompt": "sound:enter-order",
            "digits": 4,
            "variable": "order_no",
            "next": "thanks",
        },
        "thanks": {"type": "play", "media": "sound:thanks", "next": "bye"},
        "vm": {"type": "voicemail", "mailbox": "6001"},
        "bye": {"type": "hangup"},
    },
}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, twilio_auth_token=TOKEN, public_url=PUBLIC)


@pytest.fixture
async def published(client: httpx.AsyncClient, tenant: TenantCtx) -> None:
    r = await client.post(
        "/api/v1/vpmn/members",
        headers=tenant.auth,
        json={"name": "张伟", "short_number": "6001", "mobile": "+8613912345678"},
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/api/v1/ivr/flows", headers=tenant.auth, json={"name": "main", "document": FLOW}
    )
    flow = r.json()["id"]
    assert (
        await client.post(f"/api/v1/ivr/flows/{flow}/publish", headers=tenant.auth)
    ).status_code == 200
    r = await client.post(
        "/api/v1/ivr/entries", headers=tenant.auth, json={"did": DID, "flow_id": flow}
    )
    assert r.status_code == 201, r.text


async def hook(
    client: httpx.AsyncClient, path: str, form: dict[str, str], *, sign: bool = True
) -> httpx.Response:
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, form) if sign else "x"
    return await client.post(
        path,
        content=urlencode(form),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )


def follow(xml: ElementTree.Element, xpath: str) -> str:
    """The path of an action URL in the TwiML, as Twilio would call it next."""
    element = xml.find(xpath)
    assert element is not None, xpath
    url = element.get("action") or element.text or ""
    assert url.startswith(PUBLIC)
    return url.removeprefix(PUBLIC)


async def step(client: httpx.AsyncClient, path: str, **form: str) -> ElementTree.Element:
    r = await hook(client, path, {"From": "+8613700000000", "To": DID, **form})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/xml")
    return ElementTree.fromstring(r.text)


START = f"/webhooks/twilio/voice/{DID}"


def wav(seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x01\x00" * int(8000 * seconds))
    return out.getvalue()


async def test_unsigned_request_is_refused(client: httpx.AsyncClient, published: None) -> None:
    r = await hook(client, START, {"From": "+8613700000000"}, sign=False)
    assert r.status_code == 403


async def test_option_one_dials_the_members_mobile_and_falls_back_to_voicemail(
    client: httpx.AsyncClient, published: None
) -> None:
    menu = await step(client, START)
    assert menu.findtext("Gather/Play") == f"{PUBLIC}/media/press-1-or-2.wav"
    dial = await step(client, follow(menu, "Gather"), Digits="1")
    assert dial.findtext("Dial/Number") == "+8613912345678"
    vm = await step(client, follow(dial, "Dial"), DialCallStatus="no-answer")
    assert vm.find("Record") is not None
    done = await step(client, follow(dial, "Dial"), DialCallStatus="completed")
    assert done.find("Hangup") is not None


async def test_gathered_digits_travel_in_the_next_url(
    client: httpx.AsyncClient, published: None
) -> None:
    menu = await step(client, START)
    gather = await step(client, follow(menu, "Gather"), Digits="2")
    assert gather.find("Gather").get("numDigits") == "4"  # type: ignore[union-attr]
    thanks = await step(client, follow(gather, "Gather"), Digits="1234")
    assert thanks.findtext("Play") == f"{PUBLIC}/media/thanks.wav"
    assert "v_order_no=1234" in follow(thanks, "Redirect")


async def test_silence_retries_then_hangs_up_and_wrong_key_hears_invalid(
    client: httpx.AsyncClient, published: None
) -> None:
    menu = await step(client, START)
    again = await step(client, follow(menu, "Redirect"))
    assert "attempt=2" in follow(again, "Gather")
    bye = await step(client, follow(again, "Redirect"))
    assert bye.find("Hangup") is not None
    wrong = await step(client, follow(menu, "Gather"), Digits="9")
    assert [p.text for p in wrong.findall("Gather/Play")] == [
        f"{PUBLIC}/media/invalid.wav",
        f"{PUBLIC}/media/press-1-or-2.wav",
    ]


async def test_unknown_number_hangs_up(client: httpx.AsyncClient) -> None:
    root = await step(client, "/webhooks/twilio/voice/+861099999999")
    assert root.find("Hangup") is not None


async def test_segment_and_lookup_ask_the_hubs_queries_for_the_dids_tenant(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    asked = Asked()
    hub.queries = fake_queries(asked)
    r = await client.post(
        "/api/v1/ivr/flows", headers=tenant.auth, json={"name": "orders", "document": QFLOW}
    )
    flow = r.json()["id"]
    assert (
        await client.post(f"/api/v1/ivr/flows/{flow}/publish", headers=tenant.auth)
    ).status_code == 200
    did = "+861058009999"
    r = await client.post(
        "/api/v1/ivr/entries", headers=tenant.auth, json={"did": did, "flow_id": flow}
    )
    assert r.status_code == 201, r.text
    start = f"/webhooks/twilio/voice/{did}"
    greeting = await step(client, start)  # From is the VIP number
    assert greeting.findtext("Play") == f"{PUBLIC}/media/vip-welcome.wav"
    gather = await step(client, follow(greeting, "Redirect"))
    found = await step(client, follow(gather, "Gather"), Digits="1234")
    assert found.findtext("Play") == f"{PUBLIC}/media/order-found.wav"
    assert "v_status=shipped" in follow(found, "Redirect")
    unknown = await step(client, follow(gather, "Gather"), Digits="9999")
    assert unknown.findtext("Play") == f"{PUBLIC}/media/order-unknown.wav"
    assert [(name, t) for name, t, _ in asked.log] == [
        ("crm.in_segment", tenant.id),
        ("erp.order_status", tenant.id),
        ("erp.order_status", tenant.id),
    ]


async def test_unknown_queries_never_break_the_webhook(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    hub.queries = Queries()  # neither crm nor erp installed
    r = await client.post(
        "/api/v1/ivr/flows", headers=tenant.auth, json={"name": "orders", "document": QFLOW}
    )
    flow = r.json()["id"]
    await client.post(f"/api/v1/ivr/flows/{flow}/publish", headers=tenant.auth)
    did = "+861058009999"
    await client.post(
        "/api/v1/ivr/entries", headers=tenant.auth, json={"did": did, "flow_id": flow}
    )
    start = f"/webhooks/twilio/voice/{did}"
    gather = await step(client, start)  # not a VIP as far as anyone knows: straight to order
    assert gather.find("Gather") is not None
    sorry = await step(client, follow(gather, "Gather"), Digits="1234")
    assert sorry.findtext("Play") == f"{PUBLIC}/media/order-unknown.wav"


async def test_tone_prompts_play_from_signed_urls_and_text_prompts_are_said(
    client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    tones = {}
    for owner in (tenant, other_tenant):
        r = await client.post(
            "/api/v1/ringback/tones",
            params={"name": "welcome"},
            content=wav(0.5),
            headers={**owner.auth, "Content-Type": "audio/wav"},
        )
        assert r.status_code == 201, r.text
        tones[owner.name] = r.json()["id"]
    mine = tones[tenant.name]
    doc = {
        "start": "hello",
        "language": "en-GB",
        "nodes": {
            "hello": {"type": "play", "media": f"sound:huitong/ringback/{mine}", "next": "say"},
            "say": {"type": "play", "media": "text:Thank you for calling", "next": "bye"},
            "bye": {"type": "hangup"},
        },
    }
    r = await client.post(
        "/api/v1/ivr/flows", headers=tenant.auth, json={"name": "tones", "document": doc}
    )
    flow = r.json()["id"]
    await client.post(f"/api/v1/ivr/flows/{flow}/publish", headers=tenant.auth)
    did = "+861058006666"
    await client.post(
        "/api/v1/ivr/entries", headers=tenant.auth, json={"did": did, "flow_id": flow}
    )
    hello = await step(client, f"/webhooks/twilio/voice/{did}")
    url = hello.findtext("Play") or ""
    assert url.startswith(f"{PUBLIC}/media/tones/{mine}.wav?")
    said = await step(client, follow(hello, "Redirect"))
    say = said.find("Say")
    assert say is not None and say.text == "Thank you for calling"
    assert say.get("language") == "en-GB"

    # Twilio fetches the URL as given, without credentials.
    media = await client.get(url.removeprefix(PUBLIC))
    stored = await client.get(f"/api/v1/ringback/tones/{mine}/audio", headers=tenant.auth)
    assert media.status_code == 200 and media.content == stored.content
    assert media.headers["content-type"] == "audio/wav"
    # The signature covers tenant and tone: neither can be swapped, nor can it be dropped.
    theirs = url.removeprefix(PUBLIC).replace(mine, tones[other_tenant.name])
    assert (await client.get(theirs)).status_code == 403
    other = url.removeprefix(PUBLIC).replace(f"t={tenant.id}", f"t={other_tenant.id}")
    assert (await client.get(other)).status_code == 403
    assert (await client.get(f"/media/tones/{mine}.wav")).status_code == 422
    expired = url.removeprefix(PUBLIC).split("&e=")[0] + "&e=1&s=" + "0" * 32
    assert (await client.get(expired)).status_code == 403
