"""A package's periodic job as a `huitong` command too: once (cron) or in a loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import click

from comms.bus.loop import run as run_loop
from comms.db.engine import Database

Job = Callable[[Database], Awaitable[int]]


async def repeat(run: Job, db: Database, interval: float) -> int:
    """Run once (interval <= 0) or forever every `interval` seconds; the summed counts."""
    total = 0
    while True:
        total += await run(db)
        if interval <= 0:
            return total
        await asyncio.sleep(interval)


async def _run(run: Job, interval: float) -> int:
    from comms.hub import Hub  # the hub assembles the modules; imported late to avoid a cycle
    from comms.settings import Settings

    hub = Hub(Settings())
    try:
        return await repeat(run, hub.db, interval)
    finally:
        await hub.db.dispose()


def job_command(name: str, help: str, run: Job, done: str) -> click.Command:
    """A click command running `run`; `done` formats the count, e.g. "started {n} campaign(s)"."""

    @click.command(name, help=help)
    @click.option("--interval", default=0.0, type=float, help="Repeat every N seconds; 0: once.")
    def command(interval: float) -> None:
        click.echo(done.format(n=run_loop(_run(run, interval))))

    return command
