"""The WebSocket fan-out: audiences, tenant isolation, slow readers, and Redis across hubs."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from comms.auth.models import Role
from comms.realtime.fanout import OVERFLOW, QUEUE_LIMIT, Connection, Fanout, Registry
from comms.realtime.redis import RESYNC, RedisBackend
from hubtest import BROKER_URLS

REDIS_URL = next(
    (u for u in BROKER_URLS if u.startswith("redis://")),
    os.environ.get("HUITONG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
)
T1, T2 = uuid.uuid4(), uuid.uuid4()


async def next_push(conn: Connection, timeout: float = 2.0) -> dict[str, Any]:
    text = await asyncio.wait_for(conn.queue.get(), timeout)
    data: dict[str, Any] = json.loads(text)
    return data


async def nothing_for(conn: Connection, wait: float = 0.1) -> bool:
    await asyncio.sleep(wait)
    return conn.queue.empty()


async def test_a_user_push_reaches_only_that_users_sockets() -> None:
    fan = Fanout()
    me, other = uuid.uuid4(), uuid.uuid4()
    async with (
        fan.connect(T1, me, Role.AGENT) as tab1,
        fan.connect(T1, me, Role.AGENT) as tab2,
        fan.connect(T1, other, Role.AGENT) as theirs,
    ):
        await fan.to_user(T1, me, {"type": "agent", "state": "available"})
        assert (await next_push(tab1))["state"] == "available"
        assert (await next_push(tab2))["state"] == "available"
        assert await nothing_for(theirs)


async def test_supervisor_pushes_skip_agents_and_reach_admins() -> None:
    fan = Fanout()
    async with (
        fan.connect(T1, uuid.uuid4(), Role.AGENT) as agent,
        fan.connect(T1, uuid.uuid4(), Role.SUPERVISOR) as sup,
        fan.connect(T1, uuid.uuid4(), Role.ADMIN) as admin,
    ):
        await fan.to_supervisors(T1, {"type": "queue", "waiting": 3})
        assert (await next_push(sup))["waiting"] == 3
        assert (await next_push(admin))["waiting"] == 3
        assert await nothing_for(agent)


async def test_a_push_never_crosses_tenants_even_for_the_same_user_id() -> None:
    fan = Fanout()
    same_user = uuid.uuid4()
    async with (
        fan.connect(T1, same_user, Role.ADMIN) as mine,
        fan.connect(T2, same_user, Role.ADMIN) as foreign,
    ):
        await fan.to_tenant(T1, {"type": "sms"})
        await fan.to_user(T1, same_user, {"type": "notice"})
        await fan.to_supervisors(T1, {"type": "queue"})
        assert [(await next_push(mine))["type"] for _ in range(3)] == ["sms", "notice", "queue"]
        assert await nothing_for(foreign)


async def test_a_closed_socket_is_forgotten() -> None:
    fan = Fanout()
    async with fan.connect(T1, uuid.uuid4(), Role.AGENT):
        assert fan.connected(T1) == 1
    assert fan.connected(T1) == 0
    assert fan.connected() == 0


async def test_a_reader_that_falls_behind_is_cut_off_not_silently_skipped() -> None:
    fan = Fanout()
    async with fan.connect(T1, uuid.uuid4(), Role.AGENT) as slow:
        for i in range(QUEUE_LIMIT + 5):
            await fan.to_tenant(T1, {"type": "tick", "n": i})
        await asyncio.sleep(0.05)
        got = [slow.queue.get_nowait() for _ in range(slow.queue.qsize())]
        assert got[-1] is OVERFLOW
        assert [json.loads(m)["n"] for m in got[:-1]] == list(range(QUEUE_LIMIT))


async def test_a_push_from_another_thread_lands_on_the_sockets_loop() -> None:
    # Bus handlers of the embedded worker run on another loop/thread than the sockets.
    fan = Fanout()
    user = uuid.uuid4()
    async with fan.connect(T1, user, Role.AGENT) as conn:
        t = threading.Thread(
            target=lambda: asyncio.run(fan.to_user(T1, user, {"type": "from-thread"}))
        )
        t.start()
        t.join()
        assert (await next_push(conn))["type"] == "from-thread"


# ---------------------------------------------------------------- Redis, across processes


@pytest.fixture
async def redis_channel() -> AsyncIterator[str]:
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    finally:
        await client.aclose()
    yield f"huitong:test:{uuid.uuid4().hex}"  # one channel per test: parallel runs stay apart


def redis_fanout(channel: str) -> Fanout:
    registry = Registry()
    return Fanout(RedisBackend(REDIS_URL, registry, channel=channel), registry)


async def test_a_push_published_on_one_hub_reaches_a_socket_held_by_another(
    redis_channel: str,
) -> None:
    api_a, api_b, worker = (redis_fanout(redis_channel) for _ in range(3))
    user = uuid.uuid4()
    try:
        async with (
            api_a.connect(T1, user, Role.AGENT) as on_a,
            api_b.connect(T1, user, Role.AGENT) as on_b,
        ):
            # The worker holds no socket and never subscribes; it only publishes.
            await worker.to_user(T1, user, {"type": "offer", "caller": "+8613700000000"})
            assert (await next_push(on_a))["caller"] == "+8613700000000"
            assert (await next_push(on_b))["caller"] == "+8613700000000"
            await worker.to_user(T2, user, {"type": "offer", "caller": "other tenant"})
            await worker.to_user(T1, user, {"type": "marker"})
            assert (await next_push(on_b))["type"] == "marker"  # T2's push never arrived
    finally:
        for f in (api_a, api_b, worker):
            await f.close()


async def test_a_listener_that_lost_redis_tells_its_consoles_to_resync(
    redis_channel: str,
) -> None:
    fan = redis_fanout(redis_channel)
    backend = fan.backend
    assert isinstance(backend, RedisBackend)
    try:
        async with fan.connect(T1, uuid.uuid4(), Role.AGENT) as conn:
            admin = aioredis.from_url(REDIS_URL)
            try:
                # Kill only this listener's connection: the Redis server is shared.
                ours = [c for c in await admin.client_list() if c["name"] == backend.listener_name]
                assert len(ours) == 1
                await admin.client_kill_filter(_id=ours[0]["id"])
            finally:
                await admin.aclose()
            assert await next_push(conn, timeout=5) == RESYNC
            await admin_publish_garbage(redis_channel)
            await fan.to_tenant(T1, {"type": "after"})
            assert (await next_push(conn))["type"] == "after"
    finally:
        await fan.close()


async def admin_publish_garbage(channel: str) -> None:
    """A malformed message on the channel is logged and skipped, not fatal to the listener."""
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.publish(channel, "not json\n{}")
        await client.publish(channel, "no separator")
    finally:
        await client.aclose()
