"""Each notice along its channels: console first, the next channel when the console notice
stays unread or an SMS fails, release after quiet hours, digests. Events become notices in
notify.py."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus import publish
from comms.db.sets import among
from comms.errors import HuitongError
from comms.messages.events import StatusChange
from comms.messages.models import Channel
from comms.messages.schemas import MessageCreate
from comms.messages.service import queue_message
from comms.messages.state import MessageStatus
from comms.settings import Settings
from notifications.events import ConsolePosted
from notifications.models import (
    DeliveryAttempt,
    NoticeChannel,
    Notification,
    NotificationStatus,
    Urgency,
)
from notifications.preferences import quiet_until, settings_of, tenant_zone
from notifications.state import ALLOWED, transition
from notifications.templates import Rendered, render

S = NotificationStatus
DIGEST_TOPIC = "notifications.digest"
FAILED_STATUSES = frozenset({MessageStatus.FAILED, MessageStatus.UNDELIVERED})
# queued and sending change nothing for a notice; skipping them avoids a write per status
# (and lock contention between concurrent batches carrying statuses of the same message).
OUTCOMES = FAILED_STATUSES | {MessageStatus.SENT, MessageStatus.DELIVERED}
FINAL_ATTEMPT = ("failed", "undelivered", "delivered")  # an attempt's outcome stays
# The notices an SMS outcome moves on (sending or sent, as `_on_outcome` checks), to the
# states the lifecycle allows from each.
MOVES_ON = {
    to: [s for s in (S.SENDING, S.SENT) if to in ALLOWED[s]] for to in (S.SENT, S.DELIVERED)
}


def _attempt(
    session: AsyncSession,
    n: Notification,
    channel: NoticeChannel,
    status: str,
    now: datetime,
    *,
    address: str | None = None,
    message_id: uuid.UUID | None = None,
    error: str | None = None,
) -> DeliveryAttempt:
    a = DeliveryAttempt(
        notification_id=n.id,
        channel=channel,
        address=address,
        message_id=message_id,
        status=status,
        error=error,
        at=now,
        updated_at=now,
    )
    session.add(a)
    return a


async def advance(
    session: AsyncSession,
    settings: Settings,
    n: Notification,
    now: datetime,
    *,
    first: Rendered | None = None,
) -> None:
    """Try channels from `channel_index` on until one is under way; none left: failed.
    `first` is the current channel's text when the caller has rendered it already."""
    n.due_at = None
    while n.channel_index < len(n.channels):
        channel = NoticeChannel(n.channels[n.channel_index])
        if first is not None:
            text, first = first, None
        else:
            text = await render(session, n.topic, channel, n.locale, n.payload)
        if channel is NoticeChannel.CONSOLE:
            if n.user_id is None:
                _attempt(session, n, channel, "skipped", now, error="no user for a console notice")
                n.channel_index += 1
                continue
            _attempt(session, n, channel, "posted", now, address=f"user:{n.user_id}")
            transition(n, S.SENDING)
            publish(
                session,
                ConsolePosted.topic,
                ConsolePosted(
                    notification_id=n.id,
                    user_id=n.user_id,
                    tenant_id=n.tenant_id,
                    title=text.title,
                    body=text.body,
                    urgency=n.urgency,
                    created_at=now,
                ),
            )
            if n.channel_index + 1 < len(n.channels):
                n.due_at = now + timedelta(minutes=n.escalate_after_minutes)
            return
        address = n.phone if channel is NoticeChannel.SMS else n.email
        if not address:
            what = "mobile number" if channel is NoticeChannel.SMS else "email address"
            _attempt(session, n, channel, "skipped", now, error=f"recipient has no {what}")
            n.channel_index += 1
            continue
        data = MessageCreate(
            channel=Channel(channel.value),
            to=address,
            body=text.body,
            subject=text.title if channel is NoticeChannel.EMAIL else None,
            html=text.html if channel is NoticeChannel.EMAIL else None,
        )
        try:
            # A refused message (quota, opt-out, bad number) must not undo the notice.
            async with session.begin_nested():
                msg = await queue_message(session, settings, data, commit=False)
        except HuitongError as exc:
            _attempt(session, n, channel, "failed", now, address=address, error=exc.message[:500])
            n.channel_index += 1
            continue
        _attempt(session, n, channel, "queued", now, address=address, message_id=msg.id)
        transition(n, S.SENDING)
        return
    transition(n, S.FAILED)


async def on_message_statuses(
    session: AsyncSession, settings: Settings, changes: list[StatusChange], now: datetime
) -> None:
    """Outcomes of a batch of messages: one query finds the few that carry a notice, one
    reads their notices and one their latest attempts."""
    by_message: dict[uuid.UUID, list[StatusChange]] = {}
    for c in changes:
        if c.status in OUTCOMES:
            by_message.setdefault(c.message_id, []).append(c)  # in order: sent, then final
    # The usual case set-wise: a message whose one outcome here is a success.
    for status in (MessageStatus.SENT, MessageStatus.DELIVERED):
        done = [m for m, cs in by_message.items() if len(cs) == 1 and cs[0].status is status]
        if done:
            await _succeeded(session, done, status, now)
            for m in done:
                del by_message[m]
    if not by_message:
        return
    attempts = list(
        await session.scalars(
            select(DeliveryAttempt)
            .where(among(DeliveryAttempt.message_id, by_message))
            .order_by(DeliveryAttempt.id)
        )
    )
    if not attempts:
        return
    ids = {a.notification_id for a in attempts}
    notices = {
        n.id: n
        for n in await session.scalars(select(Notification).where(among(Notification.id, ids)))
    }
    latest = await _latest_attempts(session, ids)
    for attempt in attempts:
        assert attempt.message_id is not None
        for change in by_message[attempt.message_id]:
            await _on_outcome(session, settings, attempt, change, now, notices, latest)


async def _succeeded(
    session: AsyncSession, message_ids: list[uuid.UUID], status: MessageStatus, now: datetime
) -> None:
    """What `_on_outcome` does for a success, for many messages in three statements: their
    open attempts take the status, and the notices whose latest attempt they are move on
    where the lifecycle allows (a notice read or failed meanwhile stays)."""
    moved = (
        await session.execute(
            update(DeliveryAttempt)
            .where(
                among(DeliveryAttempt.message_id, message_ids),
                DeliveryAttempt.status.not_in(FINAL_ATTEMPT),
            )
            .values(status=status.value, updated_at=now)
            .returning(DeliveryAttempt.id, DeliveryAttempt.notification_id)
            .execution_options(synchronize_session=False)
        )
    ).all()
    if not moved:
        return
    latest = await _latest_attempts(session, {n for _, n in moved})
    current = [n for a, n in moved if latest.get(n) == a]
    to = S.SENT if status is MessageStatus.SENT else S.DELIVERED
    if current:
        await session.execute(
            update(Notification)
            .where(among(Notification.id, current), Notification.status.in_(MOVES_ON[to]))
            .values(status=to, updated_at=now)
            .execution_options(synchronize_session=False)
        )


async def _on_outcome(
    session: AsyncSession,
    settings: Settings,
    attempt: DeliveryAttempt,
    p: StatusChange,
    now: datetime,
    notices: dict[uuid.UUID, Notification],
    latest: dict[uuid.UUID, int],
) -> None:
    """Record a message's outcome on its attempt; a failed SMS falls back to email."""
    if attempt.status in FINAL_ATTEMPT:
        return
    attempt.status = p.status.value
    attempt.updated_at = now
    if p.status in FAILED_STATUSES:
        attempt.error = p.error_code or p.status.value
    n = notices.get(attempt.notification_id)
    if n is None or n.status not in (S.SENDING, S.SENT):
        return  # the notice moved on already (read, failed, delivered)
    if latest.get(n.id) != attempt.id:
        return  # an older attempt: a later channel has taken over
    if p.status in FAILED_STATUSES:
        n.channel_index += 1
        if await _hold_for_quiet_hours(session, n, now):
            return
        await advance(session, settings, n, now)
        await session.flush()  # the next channel's attempt is now the latest
        latest[n.id] = await _latest_attempt(session, n.id)
    elif p.status is MessageStatus.SENT and n.status is S.SENDING:
        transition(n, S.SENT)
    elif p.status is MessageStatus.DELIVERED:
        transition(n, S.DELIVERED)


async def _latest_attempts(
    session: AsyncSession, notification_ids: set[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Each notice's latest attempt id: the one whose outcome moves the notice."""
    rows = await session.execute(
        select(DeliveryAttempt.notification_id, func.max(DeliveryAttempt.id))
        .where(among(DeliveryAttempt.notification_id, notification_ids))
        .group_by(DeliveryAttempt.notification_id)
    )
    return {n: int(a) for n, a in rows.all()}


async def _latest_attempt(session: AsyncSession, notification_id: uuid.UUID) -> int:
    return (await _latest_attempts(session, {notification_id})).get(notification_id, 0)


async def _hold_for_quiet_hours(session: AsyncSession, n: Notification, now: datetime) -> bool:
    """Hold a non-urgent user notice about to move on (escalation, fallback) in quiet hours:
    the check at creation does not see a move that comes due inside them."""
    if n.urgency is Urgency.URGENT or n.user_id is None or n.channel_index >= len(n.channels):
        return False
    row = await settings_of(session, n.user_id)
    until = quiet_until(row, await tenant_zone(session), now) if row is not None else None
    if until is None:
        return False
    transition(n, S.HELD)
    n.due_at = until
    return True


async def release(
    session: AsyncSession, settings: Settings, n_id: uuid.UUID, now: datetime
) -> None:
    """Quiet hours are over: send a held notice from its current channel on."""
    n = await session.get(Notification, n_id)
    if n is None or n.status is not S.HELD:
        return
    transition(n, S.SENDING)
    await advance(session, settings, n, now)


async def escalate(
    session: AsyncSession, settings: Settings, n_id: uuid.UUID, index: int, now: datetime
) -> None:
    """An unread console notice goes on to the next channel (once per channel)."""
    n = await session.get(Notification, n_id)
    if (
        n is None
        or n.status is not S.SENDING
        or n.channel_index != index
        or n.read_at is not None
        or n.channels[index] != NoticeChannel.CONSOLE
    ):
        return
    n.channel_index += 1
    if await _hold_for_quiet_hours(session, n, now):
        return
    await advance(session, settings, n, now)


def mark_read(n: Notification, now: datetime) -> None:
    """Read on the console: stops the escalation if the console notice is the current one,
    or the one whose escalation waits out quiet hours."""
    if n.read_at is None:
        n.read_at = now
    if n.status is S.SENDING:
        console = n.channels[n.channel_index]
    elif n.status is S.HELD and n.channel_index > 0:  # held at creation: nothing posted yet
        console = n.channels[n.channel_index - 1]
    else:
        return
    if console == NoticeChannel.CONSOLE:
        transition(n, S.READ)
        n.due_at = None


async def send_digest(
    session: AsyncSession,
    settings: Settings,
    user_id: uuid.UUID,
    channel: NoticeChannel,
    now: datetime,
) -> Notification | None:
    """One notice listing the user's claimed low-urgency notices on this channel."""
    rows = [
        n
        for n in await session.scalars(
            select(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.status == S.DIGEST,
                Notification.due_at.is_(None),
            )
            .order_by(Notification.created_at, Notification.id)
        )
        if n.channels[0] == channel
    ]
    if not rows:
        return None
    first = rows[0]
    en = first.locale == "en"
    head = f"{len(rows)} notices" if en else f"{len(rows)} 条通知"
    lines = "\n".join(f"- {n.title}" for n in rows)
    digest = Notification(
        id=uuid.uuid4(),
        topic=DIGEST_TOPIC,
        user_id=user_id,
        recipient_key=f"digest:{user_id}:{uuid.uuid4().hex}",
        phone=first.phone,
        email=first.email,
        locale=first.locale,
        urgency=Urgency.LOW,
        channels=[channel.value],
        channel_index=0,
        escalate_after_minutes=0,
        status=S.SENDING,
        title=head,
        body=lines,
        payload={"summary": f"{head}\n{lines}"},
        created_at=now,
    )
    session.add(digest)
    await session.flush()
    for n in rows:
        transition(n, S.DIGESTED)
        n.digest_id = digest.id
    await advance(session, settings, digest, now)
    return digest
