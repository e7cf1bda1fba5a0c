"""`huitong sms-campaigns-due`: start scheduled campaigns whose time has come (cron or loop)."""

from __future__ import annotations

from comms.campaigns.service import release_due
from comms.jobs import job_command

campaigns_due = job_command(
    "sms-campaigns-due",
    "Start scheduled SMS campaigns that are due.",
    release_due,
    "started {n} campaign(s)",
)
