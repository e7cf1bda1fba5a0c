"""Voicemail fixtures: the spec-checked ARI simulator and a Stasis app with messaging settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from comms.hub import Hub
from telephony.ari import AriClient, ReconnectPolicy
from telephony.ari.simulator import AriSimulator
from telephony.stasis.app import StasisApp

FAST_RECONNECT = ReconnectPolicy(initial_delay=0.02, max_delay=0.2, stable_after=30.0)


@pytest.fixture
async def stasis(hub: Hub, sim: AriSimulator) -> AsyncIterator[StasisApp]:
    async with AriClient(sim.base_url, sim.app, reconnect=FAST_RECONNECT) as ari:
        app = StasisApp(ari, hub.db, settings=hub.settings)
        await app.start()
        async with asyncio.timeout(5):
            await ari.wait_connected()
        yield app
        await app.close()
