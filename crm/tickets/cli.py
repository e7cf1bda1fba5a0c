"""`huitong crm-escalate`: escalate overdue tickets of every tenant (cron or loop)."""

from __future__ import annotations

from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.tenancy import unscoped
from comms.jobs import job_command
from crm.tickets.service import escalate_overdue


async def escalate_once(db: Database) -> int:
    """One sweep across tenants in one transaction; tickets escalated."""
    async with db.session() as s:
        unscoped(s)
        done = await escalate_overdue(s, utcnow())
        await s.commit()
        return len(done)


crm_escalate = job_command(
    "crm-escalate",
    "Escalate tickets past their SLA deadlines.",
    escalate_once,
    "escalated {n} ticket(s)",
)
