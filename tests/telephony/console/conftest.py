"""Console fixtures: the test's hub served by a real uvicorn (WebSockets need a server), the
ARI simulator with the Stasis app, and a bus that runs by itself."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from console_testkit import hub_answering, serve, sip_account

from comms.app import create_app
from comms.hub import Hub
from comms.settings import Settings
from hubtest import drain
from telephony.ari import AriClient, ReconnectPolicy
from telephony.ari.simulator import AriSimulator
from telephony.stasis.app import StasisApp


@pytest.fixture
async def base_url(hub: Hub) -> AsyncIterator[str]:
    async with serve(create_app(hub=hub, start_services=False)) as url:
        yield url


@pytest.fixture
def sim_time_scale() -> float:
    # Ring timeouts count in ARI seconds: the simulator runs them 50x as fast.
    return 0.02


@pytest.fixture
async def stasis(hub: Hub, sim: AriSimulator) -> AsyncIterator[StasisApp]:
    """The Stasis app (calls, IVR, call centre) on the test's hub, against the simulator."""
    policy = ReconnectPolicy(initial_delay=0.02, max_delay=0.2, stable_after=30.0)
    async with AriClient(sim.base_url, sim.app, reconnect=policy) as ari:
        app = StasisApp(ari, hub.db, queries=hub.queries, queue_tick=0.05)
        await app.start()
        async with asyncio.timeout(5):
            await ari.wait_connected()
        yield app
        await app.close()


@pytest.fixture
async def bus_pump(hub: Hub) -> AsyncIterator[None]:
    """Run the bus continuously (relay + deliveries), as `huitong serve` does, so pushes
    follow the Stasis app's events without the test stepping it."""

    async def pump() -> None:
        while True:
            await drain(hub, rounds=200)
            await asyncio.sleep(0.02)

    task = asyncio.create_task(pump())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.fixture
async def webrtc_hub(settings: Settings) -> AsyncIterator[Hub]:
    """A hub whose agents have a WebRTC account (the SIP test peer at SIP_PORT)."""
    hub = hub_answering(settings, {"telephony.agent_webrtc": sip_account})
    yield hub
    await hub.stop()
