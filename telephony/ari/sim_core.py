"""Simulator core: the state containers, id generation, timers and event emission."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Coroutine
from typing import Any

from telephony.ari.sim_state import (
    EndpointBehaviour,
    SimBridge,
    SimChannel,
    SimHttpError,
    SimPlayback,
    SimRecording,
    ari_timestamp,
)


class SimCore:
    """State shared by the simulator's parts; subclasses decide where events go."""

    def __init__(
        self,
        *,
        app: str = "huitong",
        asterisk_id: str = "02:42:ac:11:00:02",
        default_media_duration: float = 0.03,
        time_scale: float = 1.0,
    ) -> None:
        self.app = app
        self.asterisk_id = asterisk_id
        # Seconds each media plays for; override per URI via media_durations.
        self.default_media_duration = default_media_duration
        self.media_durations: dict[str, float] = {}
        # Media URIs that fail to play (PlaybackStarted then PlaybackFinished state "failed").
        self.failing_media: set[str] = set()
        # Multiplies every duration given in ARI seconds (originate/dial timeouts,
        # maxDurationSeconds) so a test can run a "30 s" timeout in 0.3 s.
        self.time_scale = time_scale
        self.endpoints: dict[str, EndpointBehaviour] = {}
        # Per-attempt outcomes: each outbound call to the endpoint takes the next one, then
        # ``endpoints``/``default_behaviour`` apply (e.g. busy first, answer on the retry).
        self.endpoint_scripts: dict[str, list[EndpointBehaviour]] = {}
        self.default_behaviour = EndpointBehaviour()
        self.channels: dict[str, SimChannel] = {}
        self.bridges: dict[str, SimBridge] = {}
        self.playbacks: dict[str, SimPlayback] = {}
        self.live_recordings: dict[str, SimRecording] = {}
        self.stored_recordings: dict[str, str] = {}
        # Seconds of audio each stored recording holds (its /file is a WAV that long).
        self.stored_durations: dict[str, int] = {}
        self._seq = itertools.count(1)
        self._epoch = int(time.time())
        self._tasks: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ plumbing

    def _deliver(self, event: dict[str, Any]) -> None:
        """Send one finished event to the app's WebSocket (the server subclass does this)."""
        raise NotImplementedError

    def _emit(self, event_type: str, app: str, **fields: Any) -> None:
        # Asterisk's WebSocket layer stamps timestamp and asterisk_id on every message and
        # the Stasis layer adds the receiving application's name.
        event: dict[str, Any] = {"type": event_type, "timestamp": ari_timestamp(), **fields}
        event["application"] = app
        event["asterisk_id"] = self.asterisk_id
        self._deliver(event)

    def _emit_channel(self, ch: SimChannel, event_type: str, **fields: Any) -> None:
        """Emit an event about ``ch`` if the app is subscribed to it (else Asterisk sends none)."""
        if ch.subscribed:
            self._emit(event_type, ch.app, channel=ch.snapshot(), **fields)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _new_uniqueid(self) -> str:
        # Asterisk uniqueids look like "<epoch>.<sequence>".
        return f"{self._epoch}.{next(self._seq)}"

    def _next_seq(self) -> int:
        return next(self._seq)

    def behaviour(self, endpoint: str) -> EndpointBehaviour:
        """How ``endpoint`` (e.g. "PJSIP/alice") responds to outbound calls."""
        script = self.endpoint_scripts.get(endpoint)
        if script:
            return script.pop(0)
        return self.endpoints.get(endpoint, self.default_behaviour)

    def scaled(self, ari_seconds: float) -> float:
        """Real seconds to wait for a duration Asterisk would count in seconds."""
        return ari_seconds * self.time_scale

    # ------------------------------------------------------------------ lookups

    def get_channel(self, channel_id: str) -> SimChannel:
        """A live channel, or ARI's 404."""
        ch = self.channels.get(channel_id)
        if ch is None:
            raise SimHttpError(404, "Channel not found")
        return ch

    def stasis_channel(self, channel_id: str) -> SimChannel:
        """A channel the app controls: 404 when gone, 409 when not in Stasis."""
        ch = self.get_channel(channel_id)
        if not ch.in_stasis:
            raise SimHttpError(409, "Channel not in Stasis application")
        return ch

    def get_bridge(self, bridge_id: str) -> SimBridge:
        """A bridge, or ARI's 404."""
        bridge = self.bridges.get(bridge_id)
        if bridge is None:
            raise SimHttpError(404, "Bridge not found")
        return bridge

    def get_playback(self, playback_id: str) -> SimPlayback:
        """A queued or playing playback, or ARI's 404."""
        pb = self.playbacks.get(playback_id)
        if pb is None:
            raise SimHttpError(404, "Playback not found")
        return pb

    def _target_app(self, target_uri: str) -> str | None:
        """The app subscribed to a playback/recording target, or None if nobody is."""
        kind, _, ident = target_uri.partition(":")
        if kind == "channel":
            ch = self.channels.get(ident)
            return ch.app if ch is not None and ch.subscribed else None
        bridge = self.bridges.get(ident)
        return bridge.app if bridge is not None else None
