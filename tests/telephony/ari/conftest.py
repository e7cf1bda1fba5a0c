"""ARI fixtures: Asterisk's spec (skip when absent), a running simulator, a connected client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from ari_testkit import FAST_RECONNECT, EventLog

from telephony.ari import AriClient
from telephony.ari.simulator import AriSimulator
from telephony.ari.spec import AriSpec


@pytest.fixture
async def ari(sim: AriSimulator) -> AsyncIterator[AriClient]:
    async with AriClient(sim.base_url, sim.app, reconnect=FAST_RECONNECT) as client:
        yield client


@pytest.fixture
async def log(ari: AriClient, ari_spec: AriSpec) -> AsyncIterator[EventLog]:
    """Start the client's events with a recording handler; asserts every event validated."""
    events = EventLog(ari_spec)
    ari.add_handler(events)
    await ari.start_events()
    async with asyncio.timeout(5):
        await ari.wait_connected()
    yield events
    assert events.problems == []
