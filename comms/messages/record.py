"""Recording what providers answered, set-wise: the sender's hot path.

A batch of up to 200 submissions is recorded with one locking read, one UPDATE per kind of
outcome (sent, retry, failed), one INSERT of the parts and one `comms.message.status` event,
without building ORM objects: at campaign rates the per-object cost of the ORM was most of
the sender's CPU. The rules are those of the state machine in state.py.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus.delivery import backoff_seconds
from comms.db.base import utcnow
from comms.db.sets import among
from comms.messages.events import StatusChange
from comms.messages.lifecycle import StatusBatch
from comms.messages.models import Channel, Message, MessagePart
from comms.messages.receipts import apply_orphans
from comms.messages.state import MessageStatus, can_transition
from comms.settings import Settings

log = logging.getLogger(__name__)

MESSAGES = cast(Table, Message.__table__)
PARTS = cast(Table, MessagePart.__table__)


class Outcome:
    """What a submission ended in: provider ids, or an error and whether to retry."""

    def __init__(
        self,
        provider: str,
        ids: list[str] | None = None,
        segments: int | None = None,
        error: tuple[str, str] | None = None,
        retry: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.provider, self.ids, self.segments = provider, ids or [], segments
        self.error, self.retry, self.retry_after = error, retry, retry_after


async def record_outcomes(
    s: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    results: list[tuple[uuid.UUID, Outcome]],
) -> None:
    """Record a batch of one tenant's outcomes in the caller's (tenant-scoped) transaction."""
    now = utcnow()
    ids = sorted({mid for mid, _ in results})
    # One locking read for the batch, in id order (no deadlock with another batch); the
    # select is scoped to the session's tenant, so the updates below touch only its rows.
    rows = {
        r.id: r
        for r in (
            await s.execute(
                select(
                    Message.id,
                    Message.status,
                    Message.channel,
                    Message.direction,
                    Message.conversation_id,
                    Message.attempts,
                    Message.provider_message_id,
                    Message.recipient,
                )
                .where(among(Message.id, ids))
                .order_by(Message.id)
                .with_for_update()
            )
        ).all()
    }
    batch = StatusBatch()
    sent: list[dict[str, Any]] = []
    retry: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []

    def change(r: Any, to: MessageStatus, previous: MessageStatus, code: str | None) -> None:
        batch.add(
            tenant_id,
            StatusChange(
                message_id=r.id,
                conversation_id=r.conversation_id,
                channel=r.channel,
                direction=r.direction,
                status=to,
                previous=previous,
                error_code=code,
                at=now,
                counterpart=r.recipient,
            ),
        )

    for mid, out in results:
        r = rows.pop(mid, None)  # pop: a repeated id in one batch is recorded once
        if r is None:
            continue
        if out.error is None:
            if r.provider_message_id is not None:
                log.warning("message %s was submitted twice (%s)", mid, out.ids)
                continue
            status = r.status
            if status is MessageStatus.QUEUED:
                # The stale sweep re-queued it while the provider was slow to answer.
                change(r, MessageStatus.SENDING, status, None)
                status = MessageStatus.SENDING
            if not can_transition(status, MessageStatus.SENT):
                continue
            segments = out.segments
            sent.append(
                {
                    "b_id": mid,
                    "b_provider": out.provider,
                    "b_pid": out.ids[0] if out.ids else None,
                    "b_segments": segments if r.channel is Channel.SMS else None,
                    "b_sending_at": now if r.status is MessageStatus.QUEUED else None,
                }
            )
            change(r, MessageStatus.SENT, MessageStatus.SENDING, None)
            if r.channel is Channel.SMS:
                parts += [
                    {
                        "tenant_id": tenant_id,
                        "message_id": mid,
                        "seq": seq,
                        "provider": out.provider,
                        "provider_message_id": pid,
                    }
                    for seq, pid in enumerate(out.ids)
                ]
        elif r.status is MessageStatus.SENDING:
            code, text = out.error
            if out.retry:
                wait = out.retry_after or backoff_seconds(r.attempts, settings)
                retry.append(
                    {
                        "b_id": mid,
                        "b_code": code,
                        "b_text": text,
                        "b_next": now + timedelta(seconds=wait),
                    }
                )
                change(r, MessageStatus.QUEUED, MessageStatus.SENDING, code)
                log.info("message %s queued again in %.1fs: %s %s", mid, wait, code, text)
            else:
                failed.append({"b_id": mid, "b_code": code, "b_text": text})
                change(r, MessageStatus.FAILED, MessageStatus.SENDING, code)
    await _write(s, now, sent, retry, failed, parts)
    await batch.publish(s)
    if parts:
        await _early_receipts(s, parts)


async def _write(
    s: AsyncSession,
    now: datetime,
    sent: list[dict[str, Any]],
    retry: list[dict[str, Any]],
    failed: list[dict[str, Any]],
    parts: list[dict[str, Any]],
) -> None:
    c = MESSAGES.c
    by_id = update(MESSAGES).where(c.id == bindparam("b_id"))
    if sent:
        stmt = by_id.values(
            status=MessageStatus.SENT,
            sent_at=now,
            provider=bindparam("b_provider"),
            provider_message_id=bindparam("b_pid"),
            # The SMSC's count wins over ours (it splits by its own rules); else keep ours.
            segments=func.coalesce(bindparam("b_segments"), c.segments),
            sending_at=func.coalesce(bindparam("b_sending_at"), c.sending_at),
            error_code=None,
            error_text=None,
        )
        await s.execute(stmt, sent)
    errors: dict[str, Any] = {"error_code": bindparam("b_code"), "error_text": bindparam("b_text")}
    if retry:
        stmt = by_id.values(
            status=MessageStatus.QUEUED,
            queued_at=now,
            next_attempt_at=bindparam("b_next"),
            **errors,
        )
        await s.execute(stmt, retry)
    if failed:
        await s.execute(by_id.values(status=MessageStatus.FAILED, failed_at=now, **errors), failed)
    if parts:
        await s.execute(insert(PARTS), parts)


async def _early_receipts(s: AsyncSession, parts: list[dict[str, Any]]) -> None:
    """Receipts that raced ahead of these records: one query, applied set-wise if any."""
    await apply_orphans(s, pids=[p["provider_message_id"] for p in parts])
