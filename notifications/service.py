"""Use cases behind the API: rules and templates (admin), reading and marking notices."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comms.auth.models import Role
from comms.auth.principal import Principal
from comms.bus.topics import TopicRegistry
from comms.db.sets import among
from comms.errors import Conflict, NotFound
from comms.messages.queries import newest_first_page
from notifications import defaults
from notifications.models import (
    DeliveryAttempt,
    Notification,
    NotificationRule,
    NotificationStatus,
    NotificationTemplate,
)
from notifications.rules import validate_rule
from notifications.schemas import DefaultRuleOut, DefaultText, RuleIn, TemplateIn
from notifications.templates import check_template

# ---------------------------------------------------------------- rules


async def create_rule(
    session: AsyncSession, topics: TopicRegistry, data: RuleIn
) -> NotificationRule:
    await validate_rule(session, topics, data)
    rule = NotificationRule(**_rule_values(data))
    session.add(rule)
    await session.flush()
    return rule


async def update_rule(
    session: AsyncSession, topics: TopicRegistry, rule: NotificationRule, data: RuleIn
) -> NotificationRule:
    await validate_rule(session, topics, data)
    for k, v in _rule_values(data).items():
        setattr(rule, k, v)
    await session.flush()
    return rule


def _rule_values(data: RuleIn) -> dict[str, object]:
    d = data.model_dump(mode="json")
    return d


async def get_rule(session: AsyncSession, rule_id: uuid.UUID) -> NotificationRule:
    rule = await session.get(NotificationRule, rule_id)
    if rule is None:
        raise NotFound("notification rule not found")
    return rule


async def list_rules(session: AsyncSession) -> list[NotificationRule]:
    return list(
        await session.scalars(select(NotificationRule).order_by(NotificationRule.created_at))
    )


async def default_rules(session: AsyncSession) -> list[DefaultRuleOut]:
    """The built-in rules, each with the tenant's rules that replace it (see defaults.py)."""
    rows = await session.execute(
        select(NotificationRule.topic, NotificationRule.id).order_by(NotificationRule.created_at)
    )
    mine: dict[str, list[uuid.UUID]] = {}
    for topic, rule_id in rows:
        mine.setdefault(topic, []).append(rule_id)
    return [
        DefaultRuleOut(
            topic=d.topic,
            recipients=d.recipients,
            channels=[str(c) for c in d.channels],
            escalate_after_minutes=d.escalate_after_minutes,
            urgency=d.urgency,
            texts={
                loc: DefaultText(subject=subject, body=body)
                for (topic, loc), (subject, body) in defaults.DEFAULT_TEXTS.items()
                if topic == d.topic
            },
            active=d.topic not in mine,
            replaced_by=mine.get(d.topic, []),
        )
        for d in defaults.DEFAULT_RULES
    ]


# ---------------------------------------------------------------- templates


async def save_template(
    session: AsyncSession,
    topics: TopicRegistry,
    data: TemplateIn,
    tpl: NotificationTemplate | None = None,
) -> tuple[NotificationTemplate, list[str]]:
    """Create (tpl None) or replace a template; 409 when the (topic, channel, locale) exists."""
    warnings = check_template(topics, data)
    if tpl is None:
        tpl = NotificationTemplate()
        session.add(tpl)
    tpl.topic, tpl.channel, tpl.locale = data.topic, data.channel, data.locale
    tpl.subject, tpl.body = data.subject, data.body
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(
            "a template for this topic, channel and locale exists; update it instead",
            field="locale",
        ) from None
    return tpl, warnings


async def get_template(session: AsyncSession, template_id: uuid.UUID) -> NotificationTemplate:
    tpl = await session.get(NotificationTemplate, template_id)
    if tpl is None:
        raise NotFound("notification template not found")
    return tpl


async def list_templates(session: AsyncSession) -> list[NotificationTemplate]:
    return list(
        await session.scalars(
            select(NotificationTemplate).order_by(
                NotificationTemplate.topic,
                NotificationTemplate.channel,
                NotificationTemplate.locale,
            )
        )
    )


# ---------------------------------------------------------------- notices


def sees_all(who: Principal) -> bool:
    return who.role.allows(Role.SUPERVISOR)


async def get_notification(
    session: AsyncSession, who: Principal, notification_id: uuid.UUID
) -> Notification:
    """Agents see their own notices only; another's answers 404 like another tenant's."""
    n = await session.get(Notification, notification_id)
    if n is None or (not sees_all(who) and n.user_id != who.user_id):
        raise NotFound("notification not found")
    return n


async def attempts_of(session: AsyncSession, n: Notification) -> list[DeliveryAttempt]:
    return (await attempts_by_notice(session, [n])).get(n.id, [])


async def attempts_by_notice(
    session: AsyncSession, notices: list[Notification]
) -> dict[uuid.UUID, list[DeliveryAttempt]]:
    """The notices' attempts, oldest first, in one query (a page of the list, not one per
    notice)."""
    found: dict[uuid.UUID, list[DeliveryAttempt]] = {}
    if not notices:
        return found
    for a in await session.scalars(
        select(DeliveryAttempt)
        .where(among(DeliveryAttempt.notification_id, [n.id for n in notices]))
        .order_by(DeliveryAttempt.id)
    ):
        found.setdefault(a.notification_id, []).append(a)
    return found


@dataclass
class NoticeFilter:
    status: NotificationStatus | None = None
    topic: str | None = None
    user_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_notifications(
    session: AsyncSession, who: Principal, f: NoticeFilter, *, limit: int, cursor: str | None
) -> tuple[list[Notification], str | None]:
    """Newest first; agents get their own, supervisors and admins anyone's."""
    q = select(Notification)
    if not sees_all(who):
        q = q.where(Notification.user_id == who.user_id)
    if f.user_id is not None:
        q = q.where(Notification.user_id == f.user_id)
    if f.status is not None:
        q = q.where(Notification.status == f.status)
    if f.topic:
        q = q.where(Notification.topic == f.topic)
    if f.since is not None:
        q = q.where(Notification.created_at >= f.since)
    if f.until is not None:
        q = q.where(Notification.created_at < f.until)
    return await newest_first_page(
        session, q, Notification.created_at, Notification.id, limit=limit, cursor=cursor
    )
