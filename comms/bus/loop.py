"""Run coroutines from Celery's synchronous task code on one long-lived event loop, and
make every loop of the hub's own processes the way uvicorn makes the API's."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop where it is installed (uvicorn[standard] brings it; not on Windows or PyPy), as
    uvicorn's `loop="auto"` picks for the API: a database round trip through asyncpg costs
    less of the loop's own Python there, and the worker, relay and CLI make most of them."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms uvloop does not build on
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def run(coro: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on the hub's loop (see `loop_factory`)."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coro)


class LoopThread:
    """An event loop in a daemon thread, started lazily and again after a fork (prefork pool
    children inherit no threads, so a loop made in the parent would be dead there)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                self._loop = loop_factory()()
                self._pid = os.getpid()
                threading.Thread(
                    target=self._loop.run_forever, name="huitong-loop", daemon=True
                ).start()
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self._loop is not None and self._pid == os.getpid():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop = None


class ForeignLoop:
    """Runs coroutines on a loop someone else drives (the API's, in the embedded worker)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)
