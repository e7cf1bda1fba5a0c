"""`huitong crm-escalate`: escalate overdue tickets of every tenant (cron or loop)."""

from __future__ import annotations

import asyncio

import click

from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.tenancy import unscoped
from comms.settings import Settings
from crm.tickets.service import escalate_overdue


async def escalate_once(db: Database) -> int:
    """One sweep across tenants in one transaction; tickets escalated."""
    async with db.session() as s:
        unscoped(s)
        done = await escalate_overdue(s, utcnow())
        await s.commit()
        return len(done)


async def escalate_loop(db: Database, interval: float) -> int:
    """Sweep once (interval <= 0) or forever; total tickets escalated."""
    total = 0
    while True:
        total += await escalate_once(db)
        if interval <= 0:
            return total
        await asyncio.sleep(interval)


async def _run(interval: float) -> int:
    from comms.hub import Hub  # the hub assembles the modules; imported late to avoid a cycle

    hub = Hub(Settings())
    try:
        return await escalate_loop(hub.db, interval)
    finally:
        await hub.db.dispose()


@click.command("crm-escalate", help="Escalate tickets past their SLA deadlines.")
@click.option("--interval", default=0.0, type=float, help="Repeat every N seconds; 0: once.")
def crm_escalate(interval: float) -> None:
    click.echo(f"escalated {asyncio.run(_run(interval))} ticket(s)")
