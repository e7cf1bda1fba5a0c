"""Call-centre fixtures: the spec-checked ARI simulator and a Stasis app with a fast queue clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from cc_testkit import FAST_RECONNECT

from comms.hub import Hub
from telephony.ari import AriClient
from telephony.ari.simulator import AriSimulator
from telephony.ari.spec import AriSpec, SpecNotFoundError, load_spec
from telephony.stasis.app import StasisApp


@pytest.fixture(scope="session")
def ari_spec() -> AriSpec:
    try:
        return load_spec()
    except SpecNotFoundError:
        pytest.skip("ARI spec not found: set HUITONG_ARI_SPEC_DIR (default ../shared/ari)")


@pytest.fixture
async def sim(ari_spec: AriSpec) -> AsyncIterator[AriSimulator]:
    # Ring timeouts count in ARI seconds: 15 s of ringing (the default) takes 1.5 s here.
    async with AriSimulator(spec=ari_spec, time_scale=0.1) as simulator:
        yield simulator
        assert simulator.violations == []


@pytest.fixture
async def stasis(hub: Hub, sim: AriSimulator) -> AsyncIterator[StasisApp]:
    async with AriClient(sim.base_url, sim.app, reconnect=FAST_RECONNECT) as ari:
        app = StasisApp(ari, hub.db, queries=hub.queries, queue_tick=0.05)
        await app.start()
        async with asyncio.timeout(5):
            await ari.wait_connected()
        yield app
        await app.close()
