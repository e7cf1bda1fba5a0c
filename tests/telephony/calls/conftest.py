"""Call-flow fixtures: the ARI simulator (spec-checked) and a Stasis app on the test's hub."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from calls_testkit import FAST_RECONNECT
from ivr_query_fakes import Asked, fake_queries
from sqlalchemy.ext.asyncio import AsyncSession

from comms.hub import Hub
from telephony.ari import AriClient
from telephony.ari.simulator import AriSimulator
from telephony.ringback.service import ringback_lookup
from telephony.stasis.app import StasisApp
from telephony.vpmn.resolve import Resolution


@pytest.fixture
def tones() -> dict[str, str]:
    """Ringback media per member short number; tests fill it in."""
    return {}


@pytest.fixture
def asked() -> Asked:
    """Named queries the Stasis app asked (IVR lookups, segment conditions)."""
    return Asked()


@pytest.fixture
async def stasis(
    hub: Hub, sim: AriSimulator, tones: dict[str, str], asked: Asked
) -> AsyncIterator[StasisApp]:
    async def ringback(s: AsyncSession, r: Resolution, at: datetime) -> str | None:
        if r.member and r.member.short_number in tones:
            return tones[r.member.short_number]
        return await ringback_lookup(s, r, at)  # the tenant's real rules

    async with AriClient(sim.base_url, sim.app, reconnect=FAST_RECONNECT) as ari:
        app = StasisApp(
            ari,
            hub.db,
            ringback=ringback,
            click_poll_interval=0.02,
            queries=fake_queries(asked),  # erp.order_status, crm.in_segment stand-ins
        )
        await app.start()
        async with asyncio.timeout(5):
            await ari.wait_connected()
        yield app
        await app.close()
