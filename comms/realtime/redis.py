"""Fan-out across processes over Redis pub/sub: every API process hears every push.

One channel for the whole hub; each process filters pushes against its own connections, so
a push costs one Redis PUBLISH whatever the number of processes. A process subscribes (one
listener task) only once it holds a socket: Celery workers publish and never listen.

Pub/sub is fire-and-forget: a push published while a listener is reconnecting is gone. So
after a reconnect the listener tells its local consoles `{"type": "resync"}`, and they re-read
their state over REST; the database stays the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from comms.realtime.fanout import Audience, Registry, encode

log = logging.getLogger(__name__)

CHANNEL = "huitong:realtime"
RESYNC: dict[str, Any] = {"type": "resync"}


class RedisBackend:
    def __init__(self, url: str, registry: Registry, *, channel: str = CHANNEL) -> None:
        self.url = url
        self.channel = channel
        self._registry = registry
        # redis.asyncio clients belong to the loop that made them; handlers may run on the
        # API's loop or a worker's, and prefork children must not share the parent's sockets.
        self._clients: dict[tuple[int, int], tuple[asyncio.AbstractEventLoop, aioredis.Redis]] = {}
        self._listener: asyncio.Task[None] | None = None
        # Shows in Redis' CLIENT LIST, so an operator can tell whose subscription it is.
        self.listener_name = f"huitong-realtime-{os.getpid()}-{id(self):x}"
        self._listener_pid = 0
        self._subscribed: asyncio.Event | None = None

    def _client(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        key = (os.getpid(), id(loop))
        found = self._clients.get(key)
        if found is None or found[0] is not loop:
            found = self._clients[key] = (loop, aioredis.from_url(self.url))
        return found[1]

    async def publish(self, audience: Audience, message: dict[str, Any]) -> None:
        # "<audience JSON>\n<push JSON>": a listener parses only the audience and hands the
        # push text to its sockets as it came.
        data = json.dumps(audience.to_wire()) + "\n" + encode(message)
        await self._client().publish(self.channel, data)

    async def ensure_listening(self) -> None:
        """Start this process's listener (once) and return when it is subscribed."""
        if not self._listening():
            self._subscribed = asyncio.Event()
            self._listener_pid = os.getpid()
            self._listener = asyncio.create_task(self._listen(), name="realtime-redis")
        assert self._subscribed is not None
        await self._subscribed.wait()

    def _listening(self) -> bool:
        return (
            self._listener is not None
            and not self._listener.done()
            and self._listener_pid == os.getpid()
        )

    async def _listen(self) -> None:
        assert self._subscribed is not None
        delay = 0.1
        first = True
        while True:
            client = aioredis.from_url(self.url, client_name=self.listener_name)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                if not first:
                    # Pushes published while we were away are lost: consoles re-read state.
                    self._registry.deliver_all(RESYNC)
                first = False
                delay = 0.1
                async for item in pubsub.listen():
                    if item.get("type") == "message":
                        self._dispatch(item["data"])
            except (RedisError, OSError) as exc:
                log.warning("realtime: Redis listener lost (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                with contextlib.suppress(Exception):
                    await client.aclose()

    def _dispatch(self, raw: bytes | str) -> None:
        text = raw.decode() if isinstance(raw, bytes) else raw
        head, sep, push = text.partition("\n")
        try:
            audience = Audience.from_wire(json.loads(head))
        except (ValueError, KeyError, TypeError):
            audience = None
        if audience is None or not sep or not push:
            log.warning("realtime: ignored a malformed push on %s", self.channel)
            return
        self._registry.deliver_text(audience, push)

    async def close(self) -> None:
        if self._listener is not None and self._listener_pid == os.getpid():
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        self._listener = None
        here = asyncio.get_running_loop()
        for key, (loop, client) in list(self._clients.items()):
            self._clients.pop(key, None)
            if key[0] != os.getpid() or loop.is_closed():
                continue
            with contextlib.suppress(Exception):
                if loop is here:
                    await client.aclose()
                elif loop.is_running():
                    fut = asyncio.run_coroutine_threadsafe(client.aclose(), loop)
                    await asyncio.wait_for(asyncio.wrap_future(fut), 2)
