"""Pushes made by a bus handler in one process reach sockets held by another (Redis), and
notices from the notifications package reach only the user they name."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import ClassVar

import httpx
import pytest
import redis.asyncio as aioredis
from console_testkit import console, make_person, recv_type, serve, silent

from comms.app import create_app
from comms.bus import EventPayload, publish
from comms.db.base import utcnow
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.modules import Module
from comms.settings import Settings
from hubtest import BROKER_URLS, RecordingDispatcher, TenantCtx, all_modules, drain, make_tenant
from telephony.calls.events import CallRinging

REDIS_URL = next(
    (u for u in BROKER_URLS if u.startswith("redis://")),
    os.environ.get("HUITONG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
)


@pytest.fixture
async def redis_url() -> str:
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    finally:
        await client.aclose()
    return REDIS_URL


@pytest.fixture
async def two_hubs(settings: Settings, redis_url: str) -> AsyncIterator[tuple[Hub, Hub]]:
    """Two API processes' hubs on one database, fanning out through Redis."""
    shared = settings.model_copy(update={"realtime_redis_url": redis_url})
    a = Hub(shared, all_modules(), dispatcher=RecordingDispatcher())
    b = Hub(shared, all_modules(), dispatcher=RecordingDispatcher())
    yield a, b
    await a.stop()
    await b.stop()


async def test_a_handler_on_one_hub_reaches_a_console_connected_to_the_other(
    two_hubs: tuple[Hub, Hub],
) -> None:
    worker_side, api_side = two_hubs
    t = await make_tenant(worker_side, "two-procs")
    transport = httpx.ASGITransport(app=create_app(hub=api_side, start_services=False))
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://hub") as client,
        serve(create_app(hub=api_side, start_services=False)) as base,
    ):
        agent = await make_person(client, t, "agent", "far")
        async with console(base, agent) as ws:
            async with worker_side.db.session() as s:
                scoped_to(s, t.id)
                publish(
                    s,
                    CallRinging.topic,
                    CallRinging(
                        call_id=uuid.uuid4(),
                        tenant_id=t.id,
                        direction="inbound",
                        caller="+8613700000001",
                        callee="4000",
                        in_network=False,
                        agent=agent.user_id,
                        at=utcnow(),
                    ),
                )
                await s.commit()
            assert api_side.realtime.connected(t.id) == 1
            assert worker_side.realtime.connected(t.id) == 0
            await drain(worker_side)  # the handler runs on the hub without the socket
            push = await recv_type(ws, "call")
            assert push["call"]["caller"] == "+8613700000001"


class ConsoleNotice(EventPayload):
    """Stands in for the notifications package's topic, with its contracted fields."""

    topic: ClassVar[str] = "notifications.console.posted"
    version: ClassVar[int] = 1

    notification_id: uuid.UUID
    user_id: uuid.UUID
    title: str
    body: str
    urgency: str
    created_at: datetime


@pytest.fixture
async def notice_hub(settings: Settings) -> AsyncIterator[Hub]:
    mods = all_modules()
    if not any(ConsoleNotice.topic in [t.topic for t in m.topics] for m in mods):
        mods.append(Module(name="console-test-notices", topics=(ConsoleNotice,)))
    hub = Hub(settings, mods, dispatcher=RecordingDispatcher())
    yield hub
    await hub.stop()


async def test_a_console_notification_reaches_only_the_user_it_names(notice_hub: Hub) -> None:
    hub = notice_hub
    t: TenantCtx = await make_tenant(hub, "notices")
    app = create_app(hub=hub, start_services=False)
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://hub") as client,
        serve(app) as base,
    ):
        approver = await make_person(client, t, "supervisor", "approver")
        colleague = await make_person(client, t, "supervisor", "colleague")
        async with console(base, approver) as ws_me, console(base, colleague) as ws_other:
            async with hub.db.session() as s:
                scoped_to(s, t.id)
                publish(
                    s,
                    ConsoleNotice.topic,
                    {
                        "notification_id": str(uuid.uuid4()),
                        "user_id": approver.user_id,
                        "title": "Approval requested",
                        "body": "PO-77 needs your approval",
                        "urgency": "urgent",
                        "created_at": utcnow().isoformat(),
                    },
                )
                await s.commit()
            await drain(hub)
            push = await recv_type(ws_me, "notification")
            assert (push["title"], push["urgency"]) == ("Approval requested", "urgent")
            assert await silent(ws_other)
