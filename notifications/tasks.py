"""The periodic sweep: hands due notices (quiet hours over, console unread too long,
digest closed) to bus handlers, which run with the messaging services."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus import publish
from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.tenancy import unscoped
from comms.jobs import job_command
from notifications.events import DigestDue, NoticeDue
from notifications.models import NoticeChannel, Notification, NotificationStatus

S = NotificationStatus
BATCH = 500


async def sweep(session: AsyncSession, now: datetime) -> int:
    """Claim due notices across tenants (clearing `due_at`) and publish one event each
    (one per user and channel for digests); the caller commits. Returns events published."""
    rows = (
        await session.execute(
            select(
                Notification.id,
                Notification.tenant_id,
                Notification.status,
                Notification.channel_index,
                Notification.user_id,
                Notification.channels,
            )
            .where(
                Notification.due_at <= now,
                Notification.status.in_([S.HELD, S.SENDING, S.DIGEST]),
            )
            .order_by(Notification.due_at)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not rows:
        return 0
    digests: set[tuple[uuid.UUID, uuid.UUID, str]] = set()
    published = 0
    for n_id, tenant_id, status, index, user_id, channels in rows:
        if status is S.DIGEST and user_id is not None:
            digests.add((tenant_id, user_id, channels[0]))
            continue
        action = "release" if status is S.HELD else "escalate"
        publish(
            session,
            NoticeDue.topic,
            NoticeDue(notification_id=n_id, action=action, channel_index=index),
            tenant_id=tenant_id,
        )
        published += 1
    for tenant_id, user_id, channel in sorted(digests, key=str):
        publish(
            session,
            DigestDue.topic,
            DigestDue(user_id=user_id, channel=NoticeChannel(channel)),
            tenant_id=tenant_id,
        )
        published += 1
    await session.execute(
        update(Notification)
        .where(Notification.id.in_([r[0] for r in rows]))
        .values(due_at=None)
        .execution_options(synchronize_session=False)
    )
    return published


async def sweep_once(db: Database) -> int:
    async with db.session() as s:
        unscoped(s)
        n = await sweep(s, utcnow())
        await s.commit()
        return n


notifications_sweep = job_command(
    "notifications-sweep",
    "Release notices after quiet hours, escalate unread console notices, send digests.",
    sweep_once,
    "published {n} due notice event(s)",
)
