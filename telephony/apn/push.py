"""Open device WebSockets of this process, for the `apn.device.push` handler to write to.

The registry lives in `hub.services` (no global). Each connection gets a queue owned by its
own event loop; the handler may run on another loop or thread (the embedded worker), so it
hands messages over with `call_soon_threadsafe`. Pushes reach sockets held by the process
that runs the handler: with the embedded broker that is the API process itself; separate
`huitong worker` processes need the cross-process WebSocket fan-out the hub will get.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SERVICE_KEY = "apn.pushes"

Outbox = asyncio.Queue[dict[str, Any]]


class DevicePushes:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conns: dict[uuid.UUID, set[tuple[asyncio.AbstractEventLoop, Outbox]]] = {}

    @contextmanager
    def connect(self, device_id: uuid.UUID) -> Iterator[Outbox]:
        entry = (asyncio.get_running_loop(), Outbox(maxsize=1000))
        with self._lock:
            self._conns.setdefault(device_id, set()).add(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                conns = self._conns.get(device_id, set())
                conns.discard(entry)
                if not conns:
                    self._conns.pop(device_id, None)

    def connected(self, device_id: uuid.UUID) -> int:
        with self._lock:
            return len(self._conns.get(device_id, ()))

    def deliver(self, device_id: uuid.UUID, message: dict[str, Any]) -> int:
        """Hand `message` to every open socket of the device; returns how many."""
        with self._lock:
            targets = list(self._conns.get(device_id, ()))
        for loop, queue in targets:
            loop.call_soon_threadsafe(_put, queue, message)
        return len(targets)


def _put(queue: Outbox, message: dict[str, Any]) -> None:
    if not queue.full():  # a device that stopped reading loses pushes, not the server memory
        queue.put_nowait(message)


def pushes_of(services: dict[str, Any]) -> DevicePushes:
    found = services.get(SERVICE_KEY)
    if found is None:
        found = services.setdefault(SERVICE_KEY, DevicePushes())
    assert isinstance(found, DevicePushes)
    return found
