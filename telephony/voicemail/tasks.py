"""Periodic voicemail work: retention."""

from __future__ import annotations

from comms.db.engine import Database
from comms.db.tenancy import unscoped
from comms.jobs import job_command
from telephony.voicemail.service import purge_expired


async def purge_once(db: Database) -> int:
    """Delete every tenant's messages past their mailbox's retention; messages deleted."""
    async with db.session() as s:
        unscoped(s)
        return await purge_expired(s)


voicemail_purge = job_command(
    "voicemail-purge",
    "Delete voicemail messages past their mailbox's retention.",
    purge_once,
    "deleted {n} voicemail message(s)",
)
