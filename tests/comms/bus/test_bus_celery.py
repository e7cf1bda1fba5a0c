"""The bus through real Celery: the embedded in-process worker, and `huitong worker` processes
over each broker in HUITONG_TEST_BROKER_URLS (Redis, RabbitMQ)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator

import pytest
from kombu import Connection

from bus_fixtures import FlakyHappened, ThingHappened
from comms.bus import publish
from comms.bus.tasks import QUEUE
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import (
    BROKER_URLS,
    PYTHON,
    TenantCtx,
    all_modules,
    count_effects,
    make_settings,
    make_tenant,
    subprocess_env,
)


async def wait_for_effects(hub: Hub, expected: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    n = 0
    while time.monotonic() < deadline:
        n = await count_effects(hub)
        if n >= expected:
            return n
        await asyncio.sleep(0.1)
    return n


async def publish_batch(hub: Hub, tenant: TenantCtx, count: int) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        for n in range(count):
            publish(s, ThingHappened.topic, ThingHappened(n=n))
        publish(s, FlakyHappened.topic, FlakyHappened(n=-1, failures=1))
        await s.commit()


async def test_embedded_worker_delivers_through_celery(database_url: str, tmp_path: object) -> None:
    settings = make_settings(database_url, tmp_path)  # type: ignore[arg-type]
    hub = Hub(settings, all_modules())
    await hub.start()  # relay + in-process Celery worker on the memory transport
    try:
        tenant = await make_tenant(hub)
        await publish_batch(hub, tenant, 25)
        # 25 events x 2 subscribers, plus the flaky one after its retry.
        assert await wait_for_effects(hub, 51) == 51
    finally:
        await hub.stop()


@pytest.fixture(
    params=BROKER_URLS
    or [pytest.param("", marks=pytest.mark.skip(reason="HUITONG_TEST_BROKER_URLS not set"))]
)
def broker_url(request: pytest.FixtureRequest) -> str:
    url: str = request.param
    with Connection(url, connect_timeout=5) as conn:
        conn.ensure_connection(max_retries=2)
        conn.default_channel.queue_purge(QUEUE) if _queue_exists(conn) else None
    return url


def _queue_exists(conn: Connection) -> bool:
    try:
        conn.default_channel.queue_declare(QUEUE, passive=True)
        return True
    except Exception:
        return False


@pytest.fixture
async def broker_hub(database_url: str, tmp_path: object, broker_url: str) -> AsyncIterator[Hub]:
    settings = make_settings(database_url, tmp_path, broker_url=broker_url)  # type: ignore[arg-type]
    hub = Hub(settings, all_modules())
    await hub.start(relay=True, worker=False)
    yield hub
    await hub.stop()


def start_worker(hub: Hub, *, pool: str = "prefork", relay: bool = False) -> subprocess.Popen[str]:
    env = subprocess_env(
        hub.settings,
        HUITONG_BROKER_URL=hub.settings.broker_url,
        HUITONG_BUS_RELAY="true" if relay else "false",
        HUITONG_BUS_RETRY_BASE="0",
        HUITONG_LOG_LEVEL="WARNING",
    )
    # Own session, so a kill can take the whole process group (parent and pool children).
    return subprocess.Popen(
        [PYTHON, "-m", "comms.cli", "worker", "--concurrency", "2", "--pool", pool],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop_worker(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


@pytest.mark.broker
@pytest.mark.slow
async def test_worker_process_delivers_over_a_real_broker(broker_hub: Hub) -> None:
    tenant = await make_tenant(broker_hub)
    # Published and handed to the broker while no worker runs: the broker keeps them.
    await publish_batch(broker_hub, tenant, 40)
    await asyncio.sleep(0.5)
    assert await count_effects(broker_hub) == 0
    worker = start_worker(broker_hub)
    try:
        n = await wait_for_effects(broker_hub, 81)
    finally:
        out = stop_worker(worker)
    assert n == 81, out
    assert await count_effects(broker_hub, "flaky") == 1


@pytest.mark.broker
@pytest.mark.slow
async def test_killed_worker_loses_nothing(broker_hub: Hub) -> None:
    broker_hub.settings.bus_redeliver_after = 2.0
    tenant = await make_tenant(broker_hub)
    worker = start_worker(broker_hub)
    await asyncio.sleep(2.5)  # worker up
    await publish_batch(broker_hub, tenant, 30)
    await asyncio.sleep(0.05)
    # SIGKILL to the whole worker (parent and pool processes) while it takes the batch:
    # nothing gets acked or cleaned up.
    os.killpg(worker.pid, signal.SIGKILL)
    worker.communicate(timeout=20)
    worker = start_worker(broker_hub)
    try:
        n = await wait_for_effects(broker_hub, 61)
    finally:
        out = stop_worker(worker)
    assert n == 61, out


@pytest.mark.broker
@pytest.mark.slow
@pytest.mark.parametrize("pool", ["solo", "threads"])
async def test_worker_runs_its_own_relay_on_any_pool(
    database_url: str, tmp_path: object, broker_url: str, pool: str
) -> None:
    # No relay in this process: the worker alone must claim, hand over and deliver.
    settings = make_settings(database_url, tmp_path, broker_url=broker_url)  # type: ignore[arg-type]
    hub = Hub(settings, all_modules())
    try:
        tenant = await make_tenant(hub)
        await publish_batch(hub, tenant, 20)
        worker = start_worker(hub, pool=pool, relay=True)
        try:
            n = await wait_for_effects(hub, 41)
        finally:
            out = stop_worker(worker)
        assert n == 41, out
    finally:
        await hub.stop()
