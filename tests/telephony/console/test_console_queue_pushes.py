"""Call-centre events on the console: the screen pop for the offered agent, agent states
and queue stats for supervisors (topics as docs/callcentre-api.md names them)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import ClassVar

import httpx
import pytest
from console_testkit import console, emit, make_contact, make_person, recv_type, serve, silent

from comms.app import create_app
from comms.bus import EventPayload
from comms.hub import Hub
from comms.modules import Module
from comms.settings import Settings
from hubtest import RecordingDispatcher, all_modules, make_tenant


class _Stand(EventPayload):
    tenant_id: uuid.UUID
    at: datetime


class Offered(_Stand):
    topic: ClassVar[str] = "telephony.queue.call_offered"
    queue_id: uuid.UUID
    entry_id: uuid.UUID
    call_id: uuid.UUID
    caller: str
    agent_id: uuid.UUID
    user_id: uuid.UUID


class StateChanged(_Stand):
    topic: ClassVar[str] = "telephony.agent.state_changed"
    agent_id: uuid.UUID
    user_id: uuid.UUID
    from_state: str
    to_state: str
    reason: str | None


class QueueStats(_Stand):
    topic: ClassVar[str] = "telephony.queue.stats"
    queue_id: uuid.UUID
    waiting: int
    longest_wait_seconds: int
    available_agents: int


STAND_INS = (Offered, StateChanged, QueueStats)


@pytest.fixture
async def cc_hub(settings: Settings) -> AsyncIterator[Hub]:
    """The hub, with stand-ins for whichever call-centre topics the back end has not
    registered yet (their contracted fields); the back end's own classes win when present."""
    mods = all_modules()
    have = {t.topic for m in mods for t in m.topics}
    missing = tuple(t for t in STAND_INS if t.topic not in have)
    if missing:
        mods.append(Module(name="console-test-cc-topics", topics=missing))
    hub = Hub(settings, mods, dispatcher=RecordingDispatcher())
    yield hub
    await hub.stop()


async def test_the_offered_agent_gets_a_screen_pop_with_the_callers_crm_record(
    cc_hub: Hub,
) -> None:
    hub = cc_hub
    t = await make_tenant(hub, "pop-co")
    app = create_app(hub=hub, start_services=False)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://h") as client,
        serve(app) as base,
    ):
        contact = await make_contact(client, t, "韩梅梅", phones=["+8613800138000"], tags=["vip"])
        ticket = await client.post(
            "/api/v1/crm/tickets",
            headers=t.auth,
            json={"subject": "Router keeps rebooting", "contact_id": contact["id"]},
        )
        assert ticket.status_code == 201, ticket.text
        agent = await make_person(client, t, "agent", "li")
        other = await make_person(client, t, "agent", "wang")
        boss = await make_person(client, t, "supervisor", "zhao")
        async with (
            console(base, agent) as ws_agent,
            console(base, other) as ws_other,
            console(base, boss) as ws_boss,
        ):
            call_id = uuid.uuid4()
            await emit(
                hub,
                t.id,
                "telephony.queue.call_offered",
                queue_id=str(uuid.uuid4()),
                entry_id=str(uuid.uuid4()),
                call_id=str(call_id),
                caller="+8613800138000",
                agent_id=str(uuid.uuid4()),
                user_id=agent.user_id,
            )
            offer = await recv_type(ws_agent, "offer")
            assert (offer["call_id"], offer["caller"]) == (str(call_id), "+8613800138000")
            pop = offer["pop"]["contact"]
            assert (pop["name"], pop["tags"]) == ("韩梅梅", ["vip"])
            assert [x["subject"] for x in pop["recent_tickets"]] == ["Router keeps rebooting"]
            seen = await recv_type(ws_boss, "queue_call")
            assert (seen["event"], seen["caller"]) == ("offered", "+8613800138000")
            assert await silent(ws_other)


async def test_agent_states_reach_the_agent_and_supervisors_and_stats_only_supervisors(
    cc_hub: Hub,
) -> None:
    hub = cc_hub
    t = await make_tenant(hub, "states-co")
    app = create_app(hub=hub, start_services=False)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://h") as client,
        serve(app) as base,
    ):
        agent = await make_person(client, t, "agent", "li")
        other = await make_person(client, t, "agent", "wang")
        boss = await make_person(client, t, "supervisor", "zhao")
        async with (
            console(base, agent) as ws_agent,
            console(base, other) as ws_other,
            console(base, boss) as ws_boss,
        ):
            await emit(
                hub,
                t.id,
                "telephony.agent.state_changed",
                agent_id=str(uuid.uuid4()),
                user_id=agent.user_id,
                from_state="available",
                to_state="paused",
                reason="lunch",
            )
            for ws in (ws_agent, ws_boss):
                push = await recv_type(ws, "agent")
                assert (push["state"], push["reason"]) == ("paused", "lunch")
            queue_id = str(uuid.uuid4())
            await emit(
                hub,
                t.id,
                "telephony.queue.stats",
                queue_id=queue_id,
                waiting=3,
                longest_wait_seconds=42,
                available_agents=0,
            )
            stats = await recv_type(ws_boss, "queue")
            assert (stats["queue_id"], stats["waiting"]) == (queue_id, 3)
            assert await silent(ws_other)
            assert await silent(ws_agent)
