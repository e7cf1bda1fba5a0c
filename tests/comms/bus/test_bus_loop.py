"""The hub's own processes (worker, relay, CLI) run on the loop uvicorn gives the API."""

from __future__ import annotations

import asyncio

import pytest

from comms.bus.loop import LoopThread, run

uvloop = pytest.importorskip("uvloop", reason="uvloop does not build on this platform")


def test_the_worker_loop_thread_runs_on_uvloop() -> None:
    thread = LoopThread()
    try:

        async def which() -> type:
            return type(asyncio.get_running_loop())

        assert thread.run(which(), timeout=5) is uvloop.Loop
    finally:
        thread.stop()


def test_run_returns_the_result_on_uvloop() -> None:
    async def which() -> tuple[type, int]:
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop()), 42

    assert run(which()) == (uvloop.Loop, 42)
