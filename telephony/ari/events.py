"""The ARI event WebSocket: a reconnecting listener and an in-order-per-channel dispatcher.

Protocol facts this module is built around:
- Asterisk does not replay events missed while no WebSocket was connected; after every
  (re)connect the app must re-read /channels and /bridges (the ``on_connected`` hook).
- Events for one channel must be handled in the order Asterisk sent them (StasisStart before
  PlaybackFinished before StasisEnd), but one slow call must not stall the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import websockets
from websockets.asyncio.client import ClientConnection, connect

from telephony.ari.models import ConnectedHook, Event, EventHandler

log = logging.getLogger(__name__)

# After these the channel (or bridge) produces no more events, so its worker can go.
# StasisEnd is followed by ChannelDestroyed for hung-up channels; a fresh worker then
# handles that one, which keeps order because the old worker had already drained.
TERMINAL_EVENTS = frozenset({"StasisEnd", "ChannelDestroyed", "BridgeDestroyed"})
GLOBAL_KEY = "global"


def ordering_key(event: Event) -> str:
    """Which serial lane an event belongs to: its channel, else its bridge, else global."""
    if event.get("type") == "Dial":
        # Dial events describe the dialled leg (peer); caller is optional.
        peer = event.get("peer")
        if isinstance(peer, dict) and isinstance(peer.get("id"), str):
            return f"channel:{peer['id']}"
    channel = event.get("channel")
    if isinstance(channel, dict) and isinstance(channel.get("id"), str):
        return f"channel:{channel['id']}"
    for key in ("playback", "recording"):
        media = event.get(key)
        if isinstance(media, dict) and isinstance(media.get("target_uri"), str):
            # target_uri is "channel:<id>" or "bridge:<id>" (also "endpoint:..."/"deviceState:...").
            return str(media["target_uri"])
    bridge = event.get("bridge")
    if isinstance(bridge, dict) and isinstance(bridge.get("id"), str):
        return f"bridge:{bridge['id']}"
    endpoint = event.get("endpoint")
    if isinstance(endpoint, dict):
        return f"endpoint:{endpoint.get('technology')}/{endpoint.get('resource')}"
    return GLOBAL_KEY


class ChannelDispatcher:
    """Runs handlers strictly in order per channel while different channels run concurrently."""

    def __init__(self, *, idle_timeout: float = 300.0) -> None:
        self._handlers: dict[str | None, list[EventHandler]] = {}
        self._queues: dict[str, asyncio.Queue[Event]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        # Backstop against leaked lanes when a terminal event never comes (e.g. missed in a gap).
        self._idle_timeout = idle_timeout
        self._pending = 0
        self._drained = asyncio.Event()
        self._drained.set()

    def add_handler(self, handler: EventHandler, *event_types: str) -> None:
        """Register ``handler`` for these event types, or for every event when none is given."""
        for event_type in event_types or (None,):
            self._handlers.setdefault(event_type, []).append(handler)

    @property
    def active_lanes(self) -> frozenset[str]:
        """Lanes that currently have a worker (tests use it to check cleanup)."""
        return frozenset(self._workers)

    def dispatch(self, event: Event) -> None:
        """Queue one event on its lane, starting a worker for the lane if needed; never blocks."""
        key = ordering_key(event)
        queue = self._queues.get(key)
        if queue is None:
            queue = asyncio.Queue()
            self._queues[key] = queue
            self._workers[key] = asyncio.create_task(self._work(key, queue), name=f"ari-lane-{key}")
        queue.put_nowait(event)
        self._pending += 1
        self._drained.clear()

    async def join(self) -> None:
        """Wait until every dispatched event has been handled."""
        await self._drained.wait()

    async def close(self) -> None:
        """Cancel every worker; events still queued are dropped."""
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        # A worker cancelled before its first step never reaches its finally: tidy up here.
        self._workers.clear()
        self._queues.clear()
        self._done(self._pending)

    async def _work(self, key: str, queue: asyncio.Queue[Event]) -> None:
        try:
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), self._idle_timeout)
                except TimeoutError:
                    if queue.empty():
                        return
                    continue
                try:
                    await self._run_handlers(event)
                finally:
                    self._done(1)
                # No await between the emptiness check and the removal below, so nothing
                # can be queued on this lane in between: no event is stranded.
                if event.get("type") in TERMINAL_EVENTS and queue.empty():
                    return
        finally:
            if self._queues.get(key) is queue:
                del self._queues[key]
                del self._workers[key]
            # Events left behind by a cancelled worker will never run: stop counting them.
            self._done(queue.qsize())

    def _done(self, count: int) -> None:
        self._pending -= count
        if self._pending <= 0:
            self._pending = 0
            self._drained.set()

    async def _run_handlers(self, event: Event) -> None:
        handlers = self._handlers.get(str(event.get("type")), []) + self._handlers.get(None, [])
        for handler in handlers:
            try:
                await handler(event)
            except Exception:
                log.exception("ARI handler %r failed on %s", handler, event.get("type"))


@dataclass(frozen=True)
class ReconnectPolicy:
    """Exponential backoff with jitter between WebSocket attempts."""

    initial_delay: float = 0.5
    max_delay: float = 30.0
    factor: float = 2.0
    # Each delay is scaled by a random factor in (1 - jitter, 1]: spreads reconnect storms
    # across app instances but never drops to zero, so a flapping server is never hammered.
    jitter: float = 0.5
    # A connection that lived this long resets the backoff; a shorter one (e.g. a server that
    # accepts then closes cleanly at once) keeps growing it.
    stable_after: float = 10.0

    def __post_init__(self) -> None:
        if self.initial_delay <= 0 or self.max_delay < self.initial_delay:
            raise ValueError("need 0 < initial_delay <= max_delay")
        if not 0 <= self.jitter < 1 or self.factor < 1:
            raise ValueError("need 0 <= jitter < 1 and factor >= 1")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait before retry number ``attempt`` (0-based)."""
        base = min(self.max_delay, self.initial_delay * self.factor ** min(attempt, 64))
        return base * (1.0 - self.jitter * rng.random())


@dataclass
class ListenerStats:
    """Counters the app can export and tests can assert on."""

    attempts: int = 0
    sessions: int = 0
    disconnects: int = 0
    delays: list[float] = field(default_factory=list)


class EventListener:
    """Keeps one ARI event WebSocket open, reconnecting with backoff for as long as it runs."""

    def __init__(
        self,
        url: str,
        on_message: Callable[[Event], None],
        *,
        on_connected: ConnectedHook | None = None,
        policy: ReconnectPolicy | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        open_timeout: float = 10.0,
        ping_interval: float | None = 20.0,
        display_url: str = "",
        use_proxy_env: bool = False,
    ) -> None:
        self._url = url
        # The real URL carries api_key=user:password; logs only ever see this one.
        self._display_url = display_url or url.split("?", 1)[0]
        self._on_message = on_message
        self.on_connected = on_connected
        self.policy = policy or ReconnectPolicy()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._sleep = sleep
        self._open_timeout = open_timeout
        self._ping_interval = ping_interval
        self._proxy: Literal[True] | None = True if use_proxy_env else None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.stats = ListenerStats()

    @property
    def connected(self) -> bool:
        """True while a session is open and its on_connected hook has completed."""
        return self._ready.is_set()

    async def start(self) -> None:
        """Start the supervisor task (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._supervise(), name="ari-events")

    async def wait_connected(self) -> None:
        """Wait for an open, reconciled session (wrap in asyncio.timeout to bound it)."""
        await self._ready.wait()

    async def stop(self) -> None:
        """Close the socket and stop reconnecting."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._ready.clear()

    async def _supervise(self) -> None:
        attempt = 0
        loop = asyncio.get_running_loop()
        while True:
            self.stats.attempts += 1
            opened_at: float | None = None
            try:
                async with connect(
                    self._url,
                    subprotocols=[websockets.Subprotocol("ari")],
                    open_timeout=self._open_timeout,
                    ping_interval=self._ping_interval,
                    close_timeout=2.0,
                    max_size=16 * 2**20,
                    proxy=self._proxy,
                    # Asterisk's WebSocket server negotiates no extensions; not offering
                    # permessage-deflate keeps peers that do (the simulator) from costing
                    # an inflate per event.
                    compression=None,
                ) as ws:
                    opened_at = loop.time()
                    await self._session(ws)
                # Iteration ended without error: the server closed cleanly (e.g. Asterisk
                # restarting). Still a disconnect: fall through to the backoff below.
                log.warning("ARI events %s closed by server", self._display_url)
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                log.warning("ARI events %s failed: %r", self._display_url, exc)
            except Exception:
                log.exception("ARI events %s: session aborted", self._display_url)
            finally:
                if self._ready.is_set():
                    self.stats.disconnects += 1
                self._ready.clear()
            if opened_at is not None and loop.time() - opened_at >= self.policy.stable_after:
                attempt = 0
            delay = self.policy.delay(attempt, self._rng)
            attempt += 1
            self.stats.delays.append(delay)
            await self._sleep(delay)

    async def _session(self, ws: ClientConnection) -> None:
        # Reconcile before reading: events of the new session wait in the socket meanwhile, so
        # the app's state is rebuilt from GET /channels before any of them is dispatched.
        # The hook therefore must not wait for events itself.
        if self.on_connected is not None:
            await self.on_connected()
        self.stats.sessions += 1
        self._ready.set()
        log.info("ARI events %s connected (session %d)", self._display_url, self.stats.sessions)
        async for raw in ws:
            try:
                message = json.loads(raw)
            except ValueError:
                log.warning("ARI events: dropping non-JSON message %.200r", raw)
                continue
            if not isinstance(message, dict):
                log.warning("ARI events: dropping non-object message %.200r", raw)
                continue
            self._on_message(message)
