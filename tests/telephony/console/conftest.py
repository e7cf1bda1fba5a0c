"""Console fixtures: the test's hub served by a real uvicorn (WebSockets need a server)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from console_testkit import serve

from comms.app import create_app
from comms.hub import Hub


@pytest.fixture
async def base_url(hub: Hub) -> AsyncIterator[str]:
    async with serve(create_app(hub=hub, start_services=False)) as url:
        yield url
