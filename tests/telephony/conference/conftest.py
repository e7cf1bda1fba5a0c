"""Conference fixtures: the simulator, a Stasis app with quick retries, the API wired to ARI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from comms.hub import Hub
from telephony.ari import AriClient, ReconnectPolicy
from telephony.ari.simulator import AriSimulator
from telephony.conference.api import ARI_SERVICE
from telephony.conference.stasis import ConferenceFlows
from telephony.stasis.app import StasisApp

FAST_RECONNECT = ReconnectPolicy(initial_delay=0.02, max_delay=0.2, stable_after=30.0)


@pytest.fixture
async def stasis(hub: Hub, sim: AriSimulator) -> AsyncIterator[StasisApp]:
    async with AriClient(sim.base_url, sim.app, reconnect=FAST_RECONNECT) as ari:
        flows = ConferenceFlows(ari, hub.db, max_attempts=2, retry_delay=0.05)
        app = StasisApp(ari, hub.db, settings=hub.settings, conference=flows)
        await app.start()
        async with asyncio.timeout(5):
            await ari.wait_connected()
        yield app
        await app.close()


@pytest.fixture
async def api_ari(hub: Hub, sim: AriSimulator) -> AsyncIterator[AriClient]:
    """The API process's REST-only ARI client, pointed at the simulator."""
    async with AriClient(sim.base_url, sim.app) as ari:
        hub.services[ARI_SERVICE] = ari
        yield ari
