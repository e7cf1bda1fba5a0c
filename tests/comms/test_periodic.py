"""Packages' periodic jobs (scheduled campaigns, SLA escalation) run in relaying processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from comms.db.engine import Database
from comms.hub import Hub
from comms.modules import Module, Periodic
from hubtest import all_modules, make_settings


async def test_periodic_jobs_run_repeatedly_survive_failures_and_stop_with_the_hub(
    database_url: str, tmp_path: Path
) -> None:
    runs: list[str] = []

    async def ticking(db: Database) -> None:
        runs.append("tick")

    async def failing(db: Database) -> None:
        runs.append("fail")
        raise RuntimeError("induced")

    jobs = Module(
        name="test_periodic",
        periodic=(Periodic("tick", 0.01, ticking), Periodic("fail", 0.01, failing)),
    )
    hub = Hub(make_settings(database_url, tmp_path), [*all_modules(), jobs])
    await hub.start(relay=True, worker=False)
    try:
        for _ in range(200):
            if runs.count("tick") >= 3 and runs.count("fail") >= 3:
                break
            await asyncio.sleep(0.01)
    finally:
        await hub.stop()
    assert runs.count("tick") >= 3 and runs.count("fail") >= 3
    after_stop = len(runs)
    await asyncio.sleep(0.05)
    assert len(runs) == after_stop


def test_installed_packages_schedule_campaigns_and_escalation() -> None:
    names = {job.name for m in all_modules() for job in m.periodic}
    assert {"sms-campaigns-due", "crm-escalate"} <= names
