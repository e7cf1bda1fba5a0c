"""The periodic sweep: resume what a dead sender left, retry what is due, expire the old,
and apply early receipts that missed their submission record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text

from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.tenancy import unscoped
from comms.messages.lifecycle import StatusBatch, enqueue
from comms.messages.models import UNSENT, Message
from comms.messages.receipts import apply_orphans
from comms.messages.state import MessageStatus
from comms.settings import Settings


@dataclass
class SweepResult:
    resumed: int = 0
    expired: int = 0
    enqueued: int = 0
    receipts: int = 0


async def sweep(
    db: Database, settings: Settings, *, now: datetime | None = None, limit: int = 500
) -> SweepResult:
    """One pass over every tenant; safe to run in several processes at once."""
    now = now or utcnow()
    out = SweepResult()
    async with db.session() as s:
        unscoped(s)
        async with s.begin():
            # `sending` with no provider id and an old claim: its sender died (restart, kill)
            # before the provider answered or before the answer was recorded. Send again;
            # a message whose provider id was recorded is never touched here.
            stale = await s.scalars(
                select(Message)
                .where(
                    text(UNSENT),  # implied by the status; names the partial index
                    Message.status == MessageStatus.SENDING,
                    Message.provider_message_id.is_(None),
                    Message.claimed_at < now - timedelta(seconds=settings.messages_stale_after),
                )
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            batch = StatusBatch()
            for msg in stale:
                batch.change(
                    msg,
                    MessageStatus.QUEUED,
                    error_code="resumed",
                    error_text="sender stopped before the provider's answer was recorded",
                )
                msg.next_attempt_at = now
                out.resumed += 1
            old = await s.scalars(
                select(Message)
                .where(
                    text(UNSENT),
                    Message.status == MessageStatus.QUEUED,
                    Message.created_at < now - timedelta(seconds=settings.messages_expire_after),
                )
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            for msg in old:
                batch.change(
                    msg,
                    MessageStatus.FAILED,
                    error_code="expired",
                    error_text=f"not sent within {settings.messages_expire_after:g} s "
                    f"(last error: {msg.error_code or 'none'})",
                )
                msg.next_attempt_at = None  # out of ix_messages_retry_due for good
                out.expired += 1
            await batch.publish(s)
            due = await s.scalars(
                select(Message)
                .where(Message.status == MessageStatus.QUEUED, Message.next_attempt_at <= now)
                .order_by(Message.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            for msg in due:
                enqueue(s, msg)
                out.enqueued += 1
            # Early receipts whose record landed without seeing them (receipts.apply_orphans).
            out.receipts = await apply_orphans(s, limit=limit)
    return out
