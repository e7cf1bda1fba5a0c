"""The production path: a bus handler running in a separate `huitong worker` process (Celery
over a real broker) pushes to a console socket held by this API process, through Redis."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis
from console_testkit import console, make_person, recv_type, serve

from comms.app import create_app
from comms.bus import publish
from comms.db.base import utcnow
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import BROKER_URLS, PYTHON, all_modules, make_settings, make_tenant, subprocess_env
from telephony.calls.events import CallRinging

REDIS_FOR_PUSHES = next((u for u in BROKER_URLS if u.startswith("redis://")), "")

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.fixture(
    params=BROKER_URLS
    or [pytest.param("", marks=pytest.mark.skip(reason="HUITONG_TEST_BROKER_URLS not set"))]
)
async def api_hub(
    request: pytest.FixtureRequest, database_url: str, tmp_path: object
) -> AsyncIterator[Hub]:
    if not REDIS_FOR_PUSHES:
        pytest.skip("no redis:// URL in HUITONG_TEST_BROKER_URLS for the fan-out")
    client = aioredis.from_url(REDIS_FOR_PUSHES)
    try:
        await client.ping()
    finally:
        await client.aclose()
    settings = make_settings(
        database_url,
        tmp_path,  # type: ignore[arg-type]
        broker_url=request.param,
        realtime_redis_url=REDIS_FOR_PUSHES,
        bus_redeliver_after=5.0,
    )
    hub = Hub(settings, all_modules())
    await hub.start(relay=True, worker=False)  # the API process: relays, runs no handlers
    yield hub
    await hub.stop()


def start_worker(hub: Hub) -> subprocess.Popen[str]:
    env = subprocess_env(
        hub.settings,
        HUITONG_BROKER_URL=hub.settings.broker_url,
        HUITONG_REALTIME_REDIS_URL=REDIS_FOR_PUSHES,
        HUITONG_BUS_RELAY="false",
        HUITONG_LOG_LEVEL="WARNING",
    )
    return subprocess.Popen(
        [PYTHON, "-m", "comms.cli", "worker", "--concurrency", "1", "--pool", "solo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


async def test_a_handler_in_a_worker_process_reaches_a_console_in_the_api_process(
    api_hub: Hub,
) -> None:
    hub = api_hub
    t = await make_tenant(hub, f"worker-push-{uuid.uuid4().hex[:6]}")
    app = create_app(hub=hub, start_services=False)
    worker = start_worker(hub)
    try:
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://h") as c,
            serve(app) as base,
        ):
            boss = await make_person(c, t, "supervisor", "far")
            async with console(base, boss) as ws:
                async with hub.db.session() as s:
                    scoped_to(s, t.id)
                    publish(
                        s,
                        CallRinging.topic,
                        CallRinging(
                            call_id=uuid.uuid4(),
                            tenant_id=t.id,
                            direction="inbound",
                            caller="+8613700000009",
                            callee="4000",
                            in_network=False,
                            at=utcnow(),
                        ),
                    )
                    await s.commit()
                push = await recv_type(ws, "call", timeout=60)
                assert push["call"]["caller"] == "+8613700000009"
                assert worker.poll() is None
    finally:
        worker.terminate()
        try:
            await asyncio.to_thread(worker.communicate, timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            await asyncio.to_thread(worker.communicate)
