"""Handing claimed messages to their provider, outside any database transaction.

The bus handler claims a message (queued -> sending) in the delivery's transaction and asks
for `Sender.schedule` once that commits. The submission then runs between two short
transactions of its own: read the claimed message, submit, record the provider ids and
`sent` (or the error). Only the moment between the provider's acknowledgement and that
record's commit can produce a duplicate after a crash; a message whose provider id is
recorded is never submitted again. See docs/messaging.md.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from comms.channels.email.transport import Attachment, MailError, MailTransport, OutboundEmail
from comms.channels.sms.provider import OutboundSms, SmsProvider, SmsSink, SubmitError, Throttled
from comms.db.engine import Database
from comms.db.sets import among
from comms.db.tenancy import scoped_to
from comms.messages.models import Channel, Message, MessageAttachment
from comms.messages.record import Outcome, record_outcomes
from comms.messages.state import MessageStatus
from comms.settings import Settings

log = logging.getLogger(__name__)

ON_COMMIT_KEY = "messages.on_commit"
SENDER_KEY = "messages.sender"  # in session.info: this process's sender (see queue_message)
SMS_PROVIDER = "sms.provider"
MAIL_TRANSPORT = "mail.transport"
BATCH = 200  # messages per read / record transaction in schedule_many


def on_commit(session: AsyncSession, job: Callable[[], None]) -> None:
    """Run `job` once the session's outer transaction commits (never if it rolls back)."""
    session.info.setdefault(ON_COMMIT_KEY, []).append(job)


@sa_event.listens_for(Session, "after_commit")
def _run_on_commit(session: Session) -> None:
    # SQLAlchemy fires after_commit for savepoints too (bus handlers run in one); only the
    # outer commit makes the claim visible to the sender's own transactions.
    if session.in_nested_transaction():
        return
    for job in session.info.pop(ON_COMMIT_KEY, []):
        job()


@sa_event.listens_for(Session, "after_rollback")
def _drop_on_rollback(session: Session) -> None:
    session.info.pop(ON_COMMIT_KEY, None)


class RateLimiter:
    """A token bucket per provider in this process: carriers and Twilio cap submissions/s."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._next: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def acquire(self, key: str) -> None:
        if self.rate <= 0:
            return
        async with self._lock:
            now = time.monotonic()
            slot = max(now, self._next.get(key, now))
            self._next[key] = slot + 1.0 / self.rate
        if slot > now:
            await asyncio.sleep(slot - now)


class Sender:
    def __init__(
        self,
        services: dict[str, Any],
        db: Callable[[], Database],
        settings: Settings,
        sink: SmsSink,
    ) -> None:
        self.services = services
        self.db = db
        self.settings = settings
        self.sink = sink
        self.limiter = RateLimiter(settings.sms_rate)
        self._tasks: set[asyncio.Task[None]] = set()
        self._gathered: dict[tuple[uuid.UUID, int], list[uuid.UUID]] = {}
        self._gathering: asyncio.Task[None] | None = None
        # Set while this process's hub runs its background work: then queue_message claims
        # new messages itself and hands them over here after its commit (no bus hop).
        self.accepting = False
        self._started: set[tuple[int, str]] = set()

    def schedule(self, message_id: uuid.UUID, tenant_id: uuid.UUID, attempt: int) -> None:
        """Submit in the background on this loop (called after the claim commits).

        Claims committed in the same moment (a batch of bus deliveries, notices fired by one
        event) are gathered into one `schedule_many`: one read and one record transaction
        for all of them instead of two each."""
        self._gathered.setdefault((tenant_id, attempt), []).append(message_id)
        if self._gathering is None or self._gathering.done():
            task = asyncio.get_running_loop().create_task(self._hand_gathered(), name="send-gather")
            self._gathering = task
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _hand_gathered(self) -> None:
        await asyncio.sleep(0)  # the other after-commit callbacks of this moment run first
        gathered, self._gathered = self._gathered, {}
        for (tenant_id, attempt), ids in gathered.items():
            self.schedule_many(ids, tenant_id, attempt)

    def schedule_many(
        self, message_ids: list[uuid.UUID], tenant_id: uuid.UUID, attempt: int
    ) -> None:
        """Submit a batch claimed together (a campaign chunk): one read and one record
        transaction per BATCH messages instead of two per message, submissions concurrent
        (the provider's window bounds them)."""
        task = asyncio.get_running_loop().create_task(
            self.submit_many(message_ids, tenant_id, attempt), name="send-batch"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def submit_many(
        self, message_ids: list[uuid.UUID], tenant_id: uuid.UUID, attempt: int
    ) -> None:
        for start in range(0, len(message_ids), BATCH):
            chunk = message_ids[start : start + BATCH]
            try:
                jobs = await self._load_many(chunk, tenant_id, attempt)
                outcomes = await asyncio.gather(*(self._hand_over(j) for _, j in jobs))
                results = [(mid, out) for (mid, _), out in zip(jobs, outcomes, strict=True)]
                await self._record(results, tenant_id)
            except Exception:
                # The claims stay `sending`; the sweep queues them again once stale.
                log.exception("sending a batch of %d messages failed unexpectedly", len(chunk))

    async def _load_many(
        self, message_ids: list[uuid.UUID], tenant_id: uuid.UUID, attempt: int
    ) -> list[tuple[uuid.UUID, OutboundSms | OutboundEmail]]:
        async with self.db().session() as s:
            scoped_to(s, tenant_id)
            # Columns, not ORM objects: a campaign batch is all SMS and needs only these.
            rows = await s.execute(
                select(
                    Message.id,
                    Message.channel,
                    Message.status,
                    Message.attempts,
                    Message.provider_message_id,
                    Message.recipient,
                    Message.body,
                    Message.sender,
                ).where(among(Message.id, message_ids))
            )
            out: list[tuple[uuid.UUID, OutboundSms | OutboundEmail]] = []
            mails: list[uuid.UUID] = []
            for r in rows:
                if not _ours(r.status, r.attempts, r.provider_message_id, attempt):
                    continue
                if r.channel is Channel.SMS:
                    out.append((r.id, _sms(r.id, r.recipient, r.body, r.sender)))
                else:
                    mails.append(r.id)
            if mails:
                for msg in await s.scalars(select(Message).where(Message.id.in_(mails))):
                    job = await self._job(s, msg, attempt)
                    if job is not None:
                        out.append((msg.id, job))
            return out

    async def wait_idle(self) -> None:
        """Wait for every scheduled submission of this process to finish."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def provider(self) -> SmsProvider:
        sms: SmsProvider = self.services[SMS_PROVIDER]
        key = (os.getpid(), sms.name)
        if key not in self._started:
            # Started lazily per process: Celery's forked workers inherit no connections.
            await sms.start(self.sink)
            self._started.add(key)
        return sms

    async def _job(
        self, s: AsyncSession, msg: Message, attempt: int
    ) -> OutboundSms | OutboundEmail | None:
        if not _ours(msg.status, msg.attempts, msg.provider_message_id, attempt):
            return None
        if msg.channel is Channel.SMS:
            return _sms(msg.id, msg.recipient, msg.body, msg.sender)
        files = await s.scalars(
            select(MessageAttachment)
            .where(MessageAttachment.message_id == msg.id)
            .order_by(MessageAttachment.id)
        )
        return OutboundEmail(
            message_id=msg.rfc_message_id or f"<{msg.id.hex}@huitong.local>",
            sender=msg.sender or self.settings.smtp_from,
            to=[msg.recipient],
            subject=msg.subject or "",
            text=msg.body,
            html=msg.html,
            attachments=[Attachment(f.filename, f.content_type, f.data) for f in files],
            in_reply_to=msg.in_reply_to,
            references=[msg.in_reply_to] if msg.in_reply_to else [],
        )

    async def _hand_over(self, job: OutboundSms | OutboundEmail) -> Outcome:
        if isinstance(job, OutboundEmail):
            mail: MailTransport = self.services[MAIL_TRANSPORT]
            try:
                queue_id = await mail.send(job)
            except MailError as exc:
                return Outcome(mail.name, error=(exc.code, exc.text), retry=not exc.permanent)
            except Exception as exc:  # connection refused, timeouts: the relay is down
                return Outcome(mail.name, error=("unavailable", str(exc)), retry=True)
            return Outcome(mail.name, ids=[queue_id or job.message_id])
        name = "sms"
        try:
            sms = await self.provider()
            name = sms.name
            await self.limiter.acquire(name)
            result = await sms.submit(job)
        except Throttled as exc:
            return Outcome(
                name, error=(exc.code, exc.text), retry=True, retry_after=exc.retry_after
            )
        except SubmitError as exc:
            return Outcome(name, error=(exc.code, exc.text), retry=not exc.permanent)
        except Exception as exc:
            return Outcome(name, error=("unavailable", str(exc)), retry=True)
        return Outcome(name, ids=result.provider_message_ids, segments=result.segments)

    async def _record(self, results: list[tuple[uuid.UUID, Outcome]], tenant_id: uuid.UUID) -> None:
        # The provider already has the messages: retry the record a few times before giving
        # up, since a lost record means the stale sweep submits them a second time.
        for attempt in range(5):
            try:
                await self._record_once(results, tenant_id)
                return
            except Exception:
                if attempt == 4:
                    raise
                log.warning("recording the outcome of %d message(s) failed; retrying", len(results))
                await asyncio.sleep(0.2 * 2**attempt)

    async def _record_once(
        self, results: list[tuple[uuid.UUID, Outcome]], tenant_id: uuid.UUID
    ) -> None:
        """One transaction for the outcomes of a batch (or of one message)."""
        async with self.db().session() as s:
            scoped_to(s, tenant_id)
            await record_outcomes(s, self.settings, tenant_id, results)
            await s.commit()


def _ours(
    status: MessageStatus, attempts: int, provider_message_id: str | None, attempt: int
) -> bool:
    """Only the claim we were scheduled for: a rolled-back or superseded one is not ours."""
    return status is MessageStatus.SENDING and attempts == attempt and provider_message_id is None


def _sms(message_id: uuid.UUID, to: str, text: str, sender: str | None) -> OutboundSms:
    return OutboundSms(
        message_id=message_id,
        to=to,
        text=text,
        sender=sender,
        # Differs between concurrent multipart messages to one handset, which is all the
        # 8-bit concatenation reference needs.
        reference=message_id.int % 256,
    )
