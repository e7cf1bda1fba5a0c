"""Call-centre fixtures: the spec-checked ARI simulator and a Stasis app with a fast queue clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from cc_testkit import FAST_RECONNECT

from comms.hub import Hub
from telephony.ari import AriClient
from telephony.ari.simulator import AriSimulator
from telephony.stasis.app import StasisApp


@pytest.fixture
def sim_time_scale() -> float:
    # Ring timeouts count in ARI seconds: the simulator runs them 10x as fast.
    return 0.1


@pytest.fixture
async def stasis(hub: Hub, sim: AriSimulator) -> AsyncIterator[StasisApp]:
    async with AriClient(sim.base_url, sim.app, reconnect=FAST_RECONNECT) as ari:
        app = StasisApp(ari, hub.db, queries=hub.queries, queue_tick=0.05)
        await app.start()
        async with asyncio.timeout(5):
            await ari.wait_connected()
        yield app
        await app.close()
