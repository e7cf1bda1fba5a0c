"""A RADIUS server on random UDP ports of 127.0.0.1, in the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from comms.hub import Hub
from telephony.apn.deps import secret_box
from telephony.apn.radius.server import RadiusServer
from telephony.settings import TelephonySettings


@pytest.fixture
async def radius(hub: Hub) -> AsyncIterator[RadiusServer]:
    settings = TelephonySettings(
        radius_host="127.0.0.1",
        radius_auth_port=0,
        radius_acct_port=0,
        radius_poll_interval=3600,  # tests refresh explicitly: await radius.loader.poll()
    )
    server = RadiusServer(hub.db, secret_box(hub), settings)
    await server.start()
    yield server
    await server.stop()
