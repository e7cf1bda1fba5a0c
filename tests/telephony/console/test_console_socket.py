"""`/ws/console`: who may connect, and which pushes reach whom (through the real bus)."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from console_testkit import console, make_person, recv, recv_type, silent, ws_url
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from comms.auth.credentials import Tokens
from comms.auth.models import Role
from comms.bus import publish
from comms.channels.sms.provider import InboundSms
from comms.db.base import utcnow
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.messages.inbound import MessagingSink
from hubtest import SECRET, TenantCtx, drain
from telephony.calls.events import CallRinging


async def closed_code(url: str, first: dict[str, str] | None = None) -> int | None:
    async with connect(url) as ws:
        if first is not None:
            await ws.send(json.dumps(first))
        with pytest.raises(ConnectionClosed) as info:
            await recv(ws)
        return info.value.rcvd.code if info.value.rcvd else None


async def test_a_bad_or_missing_token_is_closed_with_4401(base_url: str) -> None:
    assert await closed_code(ws_url(base_url, "not-a-jwt")) == 4401
    assert await closed_code(ws_url(base_url), {"token": "still-not-a-jwt"}) == 4401


async def test_an_api_key_is_refused_the_console_with_4403(
    base_url: str, tenant: TenantCtx
) -> None:
    assert await closed_code(ws_url(base_url, tenant.api_key)) == 4403


async def test_the_token_may_come_as_the_first_message(
    base_url: str, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    agent = await make_person(client, tenant, "agent", "zhang")
    async with connect(ws_url(base_url)) as ws:
        await ws.send(f'{{"token": "{agent.token}"}}')
        hello = await recv(ws)
        assert (hello["type"], hello["user_id"], hello["role"]) == (
            "hello",
            agent.user_id,
            "agent",
        )
        await ws.send('{"type": "ping"}')
        assert (await recv(ws))["type"] == "pong"


async def receive_sms(hub: Hub, client: httpx.AsyncClient, t: TenantCtx, number: str) -> None:
    r = await client.put(
        "/api/v1/messaging/settings", headers=t.auth, json={"inbound_sms_numbers": [number]}
    )
    assert r.status_code == 200, r.text
    sink: MessagingSink = hub.services["messaging.sink"]
    sms = InboundSms("log", "13800138000", number + "1", "Where is my parcel?", utcnow(), ["p1"])
    assert await sink.receive_sms(sms)


async def test_an_inbound_sms_reaches_every_console_of_its_tenant_only(
    hub: Hub,
    base_url: str,
    client: httpx.AsyncClient,
    tenant: TenantCtx,
    other_tenant: TenantCtx,
) -> None:
    mine = await make_person(client, tenant, "agent", "li")
    boss = await make_person(client, tenant, "supervisor", "wang")
    foreign = await make_person(client, other_tenant, "admin", "zhao")
    async with (
        console(base_url, mine) as ws_mine,
        console(base_url, boss) as ws_boss,
        console(base_url, foreign) as ws_foreign,
    ):
        await receive_sms(hub, client, tenant, "10690001")
        await drain(hub)
        for ws in (ws_mine, ws_boss):
            push = await recv_type(ws, "sms")
            assert (push["sender"], push["preview"]) == ("+8613800138000", "Where is my parcel?")
            assert push["conversation_id"]
        assert await silent(ws_foreign)


async def ring(hub: Hub, t: TenantCtx, agent: str | None) -> None:
    async with hub.db.session() as s:
        scoped_to(s, t.id)
        publish(
            s,
            CallRinging.topic,
            CallRinging(
                call_id=uuid.uuid4(),
                tenant_id=t.id,
                direction="inbound",
                caller="+8613700000000",
                callee="4000",
                in_network=False,
                queue="sales",
                agent=agent,
                at=utcnow(),
            ),
        )
        await s.commit()
    await drain(hub)


async def test_call_events_reach_supervisors_and_the_agent_named_not_other_agents(
    hub: Hub, base_url: str, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    named = await make_person(client, tenant, "agent", "named")
    bystander = await make_person(client, tenant, "agent", "other")
    boss = await make_person(client, tenant, "supervisor", "boss")
    async with (
        console(base_url, named) as ws_named,
        console(base_url, bystander) as ws_other,
        console(base_url, boss) as ws_boss,
    ):
        await ring(hub, tenant, named.user_id)
        for ws in (ws_named, ws_boss):
            push = await recv_type(ws, "call")
            assert (push["event"], push["call"]["caller"]) == ("ringing", "+8613700000000")
        assert await silent(ws_other)


async def test_the_socket_closes_with_4401_when_the_token_expires(
    hub: Hub, base_url: str, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    agent = await make_person(client, tenant, "agent", "brief")
    short = Tokens(SECRET, 3).issue(uuid.UUID(agent.user_id), tenant.id, Role.AGENT)
    async with connect(ws_url(base_url, short)) as ws:
        assert (await recv(ws))["type"] == "hello"
        with pytest.raises(ConnectionClosed) as info:
            await recv(ws, timeout=10)
        assert info.value.rcvd is not None and info.value.rcvd.code == 4401
