"""The hub of notifications tests also knows the fake ERP-shaped topic."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from comms.hub import Hub
from comms.settings import Settings
from hubtest import RecordingDispatcher, all_modules
from notif_testkit import FAKE_ERP


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    h = Hub(settings, [*all_modules(), FAKE_ERP], dispatcher=RecordingDispatcher())
    yield h
    await h.stop()
