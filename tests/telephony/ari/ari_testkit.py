"""Helpers shared by the ARI tests: an awaitable, spec-validating log of handled events."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from telephony.ari import ReconnectPolicy
from telephony.ari.spec import SPEC_DIR_ENV, AriSpec

SKIP_REASON = (
    f"ARI spec not found: set {SPEC_DIR_ENV} to a directory holding resources.json and "
    "api-docs/ (default <repo root>/../shared/ari)"
)
FAST_RECONNECT = ReconnectPolicy(initial_delay=0.02, max_delay=0.2, stable_after=30.0)


class EventLog:
    """Events the client handled, each validated against the spec, with awaitable conditions."""

    def __init__(self, spec: AriSpec) -> None:
        self.spec = spec
        self.events: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self._changed = asyncio.Event()

    async def __call__(self, event: dict[str, Any]) -> None:
        self.problems += self.spec.validate_event(event)
        self.events.append(event)
        self._changed.set()

    def of(self, channel_id: str) -> list[dict[str, Any]]:
        """Events about one channel (as subject, Dial peer, or playback/recording target)."""
        target = f"channel:{channel_id}"
        return [
            e
            for e in self.events
            if e.get("channel", {}).get("id") == channel_id
            or e.get("peer", {}).get("id") == channel_id
            or e.get("playback", {}).get("target_uri") == target
            or e.get("recording", {}).get("target_uri") == target
        ]

    def types(self, channel_id: str | None = None) -> list[str]:
        events = self.events if channel_id is None else self.of(channel_id)
        return [e["type"] for e in events]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def wait_type(
        self, event_type: str, channel_id: str | None = None, count: int = 1
    ) -> dict[str, Any]:
        """Wait until ``count`` events of a type arrived (for a channel); return the last."""

        def matching() -> list[dict[str, Any]]:
            events = self.events if channel_id is None else self.of(channel_id)
            return [e for e in events if e["type"] == event_type]

        await self.wait_for(lambda: len(matching()) >= count)
        return matching()[count - 1]
