"""A user's own preferences: channels or unsubscribe per topic, quiet hours in the
tenant's time zone, locale and digest interval."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus.subscribers import is_pattern, specificity, topic_matches
from comms.db.tenancy import current_tenant
from comms.errors import InvalidInput
from comms.tenants.models import Tenant
from notifications.models import NotificationSettings, TopicPreference
from notifications.schemas import PreferencesIn, PreferencesOut, TopicPrefIn

DEFAULT_LOCALE = "zh-CN"
DEFAULT_DIGEST_MINUTES = 60


async def settings_of(session: AsyncSession, user_id: uuid.UUID) -> NotificationSettings | None:
    return await session.scalar(
        select(NotificationSettings).where(NotificationSettings.user_id == user_id)
    )


def best_pref(rows: Iterable[TopicPreference], topic: str) -> TopicPreference | None:
    """The most specific preference covering `topic`: exact, then longest prefix, then `*`."""
    best: TopicPreference | None = None
    best_rank = -1
    for p in rows:
        if not topic_matches(p.topic, topic):
            continue
        rank = specificity(p.topic)
        if rank > best_rank:
            best, best_rank = p, rank
    return best


@dataclass
class UserPrefs:
    """Topic preferences and settings of several users, read in two queries."""

    topics: dict[uuid.UUID, list[TopicPreference]] = field(default_factory=dict)
    settings: dict[uuid.UUID, NotificationSettings] = field(default_factory=dict)


async def prefs_of(session: AsyncSession, user_ids: Collection[uuid.UUID]) -> UserPrefs:
    found = UserPrefs()
    if not user_ids:
        return found
    ids = sorted(set(user_ids), key=str)
    for p in await session.scalars(select(TopicPreference).where(TopicPreference.user_id.in_(ids))):
        found.topics.setdefault(p.user_id, []).append(p)
    for row in await session.scalars(
        select(NotificationSettings).where(NotificationSettings.user_id.in_(ids))
    ):
        found.settings[row.user_id] = row
    return found


ZONE_CACHE = "notifications.zone"


async def tenant_zone(session: AsyncSession) -> ZoneInfo:
    """The tenant's time zone, read once per transaction."""
    tid = current_tenant(session)
    key = (ZONE_CACHE, tid)
    zone: ZoneInfo | None = session.info.get(key)
    if zone is None:
        name = None
        if tid is not None:
            name = await session.scalar(select(Tenant.timezone).where(Tenant.id == tid))
        zone = ZoneInfo(name or "Asia/Shanghai")
        session.info[key] = zone
    return zone


def _hhmm(value: str) -> time:
    h, m = value.split(":")
    return time(int(h), int(m))


def quiet_until(row: NotificationSettings | None, zone: ZoneInfo, now: datetime) -> datetime | None:
    """When the quiet window that `now` falls in ends (UTC), or None outside quiet hours."""
    if row is None or not row.quiet_start or not row.quiet_end:
        return None
    start, end = _hhmm(row.quiet_start), _hhmm(row.quiet_end)
    if start == end:
        return None
    local = now.astimezone(zone)
    t = local.time().replace(second=0, microsecond=0)
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_at = datetime.combine(local.date(), end, tzinfo=zone)
    if end_at <= local:
        end_at += timedelta(days=1)
    return end_at.astimezone(now.tzinfo)


def defaults() -> PreferencesOut:
    return PreferencesOut(locale=DEFAULT_LOCALE, digest_minutes=DEFAULT_DIGEST_MINUTES)


async def get_preferences(session: AsyncSession, user_id: uuid.UUID) -> PreferencesOut:
    row = await settings_of(session, user_id)
    prefs = await session.scalars(
        select(TopicPreference)
        .where(TopicPreference.user_id == user_id)
        .order_by(TopicPreference.topic)
    )
    return PreferencesOut(
        quiet_start=row.quiet_start if row else None,
        quiet_end=row.quiet_end if row else None,
        locale=row.locale if row else DEFAULT_LOCALE,
        digest_minutes=row.digest_minutes if row else DEFAULT_DIGEST_MINUTES,
        topics=[
            TopicPrefIn(topic=p.topic, channels=p.channels, unsubscribed=p.unsubscribed)
            for p in prefs
        ],
    )


async def put_preferences(
    session: AsyncSession, user_id: uuid.UUID, data: PreferencesIn
) -> PreferencesOut:
    """Replace the user's preferences (flushes; the caller commits)."""
    if (data.quiet_start is None) != (data.quiet_end is None):
        field = "quiet_end" if data.quiet_end is None else "quiet_start"
        raise InvalidInput(f"{field}: quiet hours need both a start and an end", field=field)
    seen: set[str] = set()
    for i, p in enumerate(data.topics):
        where = f"topics[{i}]"
        if "*" in p.topic and not is_pattern(p.topic):
            raise InvalidInput(
                f"{where}.topic: a pattern is `prefix.*` or `*`", field=f"{where}.topic"
            )
        if p.topic in seen:
            raise InvalidInput(f"{where}.topic: listed twice", field=f"{where}.topic")
        seen.add(p.topic)
        if p.channels is not None and (not p.channels or len(set(p.channels)) != len(p.channels)):
            raise InvalidInput(
                f"{where}.channels: give distinct channels, or null for the rule's",
                field=f"{where}.channels",
            )
    row = await settings_of(session, user_id)
    if row is None:
        row = NotificationSettings(user_id=user_id)
        session.add(row)
    row.quiet_start, row.quiet_end = data.quiet_start, data.quiet_end
    row.locale, row.digest_minutes = data.locale, data.digest_minutes
    await session.execute(delete(TopicPreference).where(TopicPreference.user_id == user_id))
    for p in data.topics:
        session.add(
            TopicPreference(
                user_id=user_id,
                topic=p.topic,
                channels=[c.value for c in p.channels] if p.channels is not None else None,
                unsubscribed=p.unsubscribed,
            )
        )
    await session.flush()
    return await get_preferences(session, user_id)
