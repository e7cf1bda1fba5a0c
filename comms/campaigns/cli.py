"""`huitong sms-campaigns-due`: start scheduled campaigns whose time has come (cron or loop)."""

from __future__ import annotations

import asyncio

import click

from comms.campaigns.service import release_due
from comms.db.engine import Database
from comms.settings import Settings


async def release_loop(db: Database, interval: float) -> int:
    """Release due campaigns once (interval <= 0) or forever; campaigns started."""
    total = 0
    while True:
        total += await release_due(db)
        if interval <= 0:
            return total
        await asyncio.sleep(interval)


async def _run(interval: float) -> int:
    from comms.hub import Hub  # the hub assembles the modules; imported late to avoid a cycle

    hub = Hub(Settings())
    try:
        return await release_loop(hub.db, interval)
    finally:
        await hub.db.dispose()


@click.command("sms-campaigns-due", help="Start scheduled SMS campaigns that are due.")
@click.option("--interval", default=0.0, type=float, help="Repeat every N seconds; 0: once.")
def campaigns_due(interval: float) -> None:
    click.echo(f"started {asyncio.run(_run(interval))} campaign(s)")
