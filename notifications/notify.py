"""From events to notices, set-wise: a bus batch's events of one tenant in a few statements.

For the whole batch: the rules are read once per transaction (rules.py), earlier notices of
these events (a replay) in one query, users' preferences in two, open digests in one, the
dedupe window in one per dedupe rule; the notices are inserted in one statement, their SMS
queued in one `queue_sms_batch` call (claimed for this process's sender when it sends, and
handed to it after the commit), their attempts inserted in one statement. The rarer first
steps (console, email, an SMS refused or without a usable number) go through `advance`, the
per-notice path, so every channel rule lives in one place (dispatch.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.sets import among
from comms.db.tenancy import current_tenant
from comms.errors import InvalidInput
from comms.messages.addresses import normalise_phone
from comms.messages.bulk import Queued, SmsItem, queue_sms_batch
from comms.messages.sender import SENDER_KEY, Sender, on_commit
from comms.settings import Settings
from notifications import preferences as prefs
from notifications.dispatch import advance
from notifications.models import (
    DeliveryAttempt,
    NoticeChannel,
    Notification,
    NotificationStatus,
    Urgency,
)
from notifications.recipients import Target, resolve
from notifications.rules import _MISSING, RuleView, lookup, rules_for
from notifications.templates import Rendered, render

S = NotificationStatus


@dataclass(frozen=True)
class Incoming:
    """One event as the rules see it: its topic, outbox id and JSON payload."""

    topic: str
    event_id: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class Made:
    """A notice made from an event (no ORM object is kept)."""

    id: uuid.UUID
    user_id: uuid.UUID | None


@dataclass
class _Plan:
    rule: RuleView
    row: dict[str, Any]  # the notice's column values, as inserted
    text: Rendered  # its first channel's text
    user_settings: Any


async def notify_event(
    session: AsyncSession,
    settings: Settings,
    topic: str,
    event_id: int,
    payload: dict[str, Any],
    now: datetime,
) -> list[Made]:
    """Every notice one event makes under the tenant's rules (idempotent per event)."""
    return await notify_events(session, settings, [Incoming(topic, event_id, payload)], now)


async def notify_events(
    session: AsyncSession,
    settings: Settings,
    events: Sequence[Incoming],
    now: datetime,
    sender: Sender | None = None,
) -> list[Made]:
    """Every notice the events make, as `notify_event` one by one would (same tenant).

    `sender`: this process's sender, given by a bus handler; the batch's SMS are then
    claimed for it and handed over after the commit (as comms' own claim handler does,
    without its bus hop per message)."""
    work: list[tuple[Incoming, RuleView, Target]] = []
    memo: dict[Any, Any] = {}
    for ev in events:
        for rule in await rules_for(session, ev.topic):
            if rule.holds(ev.payload):
                targets = await resolve(session, rule.recipients, ev.payload, memo)
                work.extend((ev, rule, t) for t in targets)
    if not work:
        return []
    earlier = await session.execute(
        select(Notification.event_id, Notification.rule_id, Notification.recipient_key).where(
            among(Notification.event_id, {ev.event_id for ev in events})
        )
    )
    seen = {(e, r, k) for e, r, k in earlier}
    users = await prefs.prefs_of(session, [t.user_id for _, _, t in work if t.user_id is not None])
    plans: list[_Plan] = []
    for ev, rule, target in work:
        once = (ev.event_id, rule.id, target.key)
        if once in seen:
            continue  # a replay: this delivery's notice exists already
        seen.add(once)
        plan = await _plan(session, ev, rule, target, users, now)
        if plan is not None:
            plans.append(plan)
    if not plans:
        return []
    await _suppress_duplicates(session, plans, now)
    await _digest_or_hold(session, plans, now)
    if sender is None:
        # Outside a bus handler: claim only where this process sends (as queue_message).
        found: Sender | None = session.info.get(SENDER_KEY)
        sender = found if found is not None and found.accepting else None
    return await _store_and_send(session, settings, plans, now, sender)


async def _plan(
    session: AsyncSession,
    ev: Incoming,
    rule: RuleView,
    target: Target,
    users: prefs.UserPrefs,
    now: datetime,
) -> _Plan | None:
    """The notice's values before its status is decided; None: the user opted out."""
    channels = list(rule.channels)
    user_settings = None
    if target.user_id is not None:
        pref = prefs.best_pref(users.topics.get(target.user_id, ()), ev.topic)
        if pref is not None and pref.unsubscribed:
            return None
        if pref is not None and pref.channels:
            channels = list(pref.channels)
        user_settings = users.settings.get(target.user_id)
    else:
        channels = [c for c in channels if c != NoticeChannel.CONSOLE]
    if not channels:
        return None
    locale = user_settings.locale if user_settings else prefs.DEFAULT_LOCALE
    text = await render(session, ev.topic, NoticeChannel(channels[0]), locale, ev.payload)
    dedupe_key = None
    if rule.dedupe_field and rule.dedupe_minutes > 0:
        value = lookup(ev.payload, rule.dedupe_field)
        dedupe_key = None if value is _MISSING else str(value)[:400]
    row = {
        "id": uuid.uuid4(),
        "tenant_id": current_tenant(session),
        "rule_id": rule.id,
        "event_id": ev.event_id,
        "topic": ev.topic,
        "user_id": target.user_id,
        "recipient_key": target.key,
        "phone": target.phone,
        "email": target.email,
        "locale": locale,
        "urgency": rule.urgency,
        "channels": channels,
        "channel_index": 0,
        "escalate_after_minutes": rule.escalate_after_minutes,
        "status": S.SENDING,
        "title": text.title,
        "body": text.body,
        "payload": ev.payload,
        "dedupe_key": dedupe_key,
        "due_at": None,
        "created_at": now,
        "updated_at": now,
    }
    return _Plan(rule, row, text, user_settings)


async def _suppress_duplicates(session: AsyncSession, plans: list[_Plan], now: datetime) -> None:
    """A notice whose rule, recipient and dedupe key already made one within the rule's
    window (stored, or earlier in this batch) is kept as suppressed: one query per rule."""
    keyed = [p for p in plans if p.row["dedupe_key"] is not None]
    if not keyed:
        return
    taken: set[tuple[uuid.UUID | None, str, str]] = set()
    for rule_id in {p.rule.id for p in keyed}:
        mine = [p for p in keyed if p.rule.id == rule_id]
        since = now - timedelta(minutes=mine[0].rule.dedupe_minutes)
        found = await session.execute(
            select(Notification.recipient_key, Notification.dedupe_key).where(
                Notification.rule_id == rule_id,
                among(Notification.dedupe_key, {p.row["dedupe_key"] for p in mine}),
                Notification.status != S.SUPPRESSED,
                Notification.created_at >= since,
            )
        )
        taken.update((rule_id, key, dedupe) for key, dedupe in found if dedupe is not None)
    for p in keyed:
        k = (p.rule.id, p.row["recipient_key"], p.row["dedupe_key"])
        if k in taken:
            p.row["status"] = S.SUPPRESSED
        else:
            taken.add(k)


async def _digest_or_hold(session: AsyncSession, plans: list[_Plan], now: datetime) -> None:
    """Low urgency to a user waits for their digest, which comes due outside their quiet
    hours; the rest but urgent waits them out. Open digests of the batch's users are read in
    one query."""
    sending = [p for p in plans if p.row["status"] is S.SENDING]
    digest = [p for p in sending if p.rule.urgency is Urgency.LOW and p.row["user_id"]]
    if digest:
        # The earliest open digest per (user, channel) closes the new item too.
        open_due: dict[tuple[Any, str], datetime] = {}
        rows = await session.execute(
            select(Notification.user_id, Notification.channels, Notification.due_at).where(
                among(Notification.user_id, {p.row["user_id"] for p in digest}),
                Notification.status == S.DIGEST,
                Notification.due_at.is_not(None),
            )
        )
        for user_id, channels, due in rows:
            k = (user_id, channels[0])
            if due is not None and (k not in open_due or due < open_due[k]):
                open_due[k] = due
        for p in digest:
            k = (p.row["user_id"], p.row["channels"][0])
            if k not in open_due:
                us = p.user_settings
                minutes = us.digest_minutes if us else prefs.DEFAULT_DIGEST_MINUTES
                due = now + timedelta(minutes=minutes)
                if us is not None and us.quiet_start:
                    # Decided when the digest opens, as a held notice's release is: later
                    # items join this due_at, and the sweep sends it once quiet hours end.
                    zone = await prefs.tenant_zone(session)
                    due = prefs.quiet_until(us, zone, due) or due
                open_due[k] = due
            p.row["status"], p.row["due_at"] = S.DIGEST, open_due[k]
    for p in sending:
        if p.row["status"] is not S.SENDING or p.rule.urgency is Urgency.URGENT:
            continue
        hold = prefs.quiet_until(p.user_settings, await prefs.tenant_zone(session), now)
        if hold is not None:
            p.row["status"], p.row["due_at"] = S.HELD, hold


def _sms_to(p: _Plan) -> str | None:
    """The E.164 number when the notice starts with an SMS queue_sms_batch can take."""
    row = p.row
    if row["status"] is not S.SENDING or row["channels"][0] != NoticeChannel.SMS:
        return None
    if not row["phone"]:
        return None
    try:
        return normalise_phone(row["phone"], "to")
    except InvalidInput:
        return None  # advance records queue_message's refusal


async def _store_and_send(
    session: AsyncSession,
    settings: Settings,
    plans: list[_Plan],
    now: datetime,
    sender: Sender | None,
) -> list[Made]:
    tid = current_tenant(session)
    assert tid is not None, "notices need a tenant-scoped session"
    sms: list[tuple[_Plan, str]] = []  # with the E.164 number queue_message would send to
    others: list[_Plan] = []
    for p in plans:
        if p.row["status"] is not S.SENDING:
            continue
        to = _sms_to(p)
        if to is None:
            others.append(p)
        else:
            sms.append((p, to))
    # The notices that start on another channel go through the ORM (advance moves them on);
    # the rest, usually all, in one INSERT.
    via_orm = {p.row["id"] for p in others}
    inserted = [p.row for p in plans if p.row["id"] not in via_orm]
    if inserted:
        await session.execute(insert(Notification), inserted)
    moving = [Notification(**p.row) for p in others]
    if moving:
        session.add_all(moving)
        await session.flush()  # attempts reference them (no relationship orders the INSERTs)
    attempts: list[dict[str, Any]] = []
    refused: list[tuple[uuid.UUID, str, str]] = []
    if sms:
        claim = sender is not None
        items = [SmsItem(to, p.text.body) for p, to in sms]
        outcomes = await queue_sms_batch(session, settings, items, claim=claim)
        claimed = []
        for (p, _), out in zip(sms, outcomes, strict=True):
            if isinstance(out, Queued):
                attempts.append(
                    _attempt(tid, p.row["id"], p.row["phone"], "queued", now, message_id=out.id)
                )
                claimed.append(out.id)
            else:  # quota, cap, duplicate, bad text: the notice goes on to its next channel
                refused.append((p.row["id"], p.row["phone"], out.message[:500]))
        if claim and claimed:
            assert sender is not None
            on_commit(session, partial(sender.schedule_many, claimed, tid, 1))
    attempts += [_attempt(tid, nid, a, "failed", now, error=error) for nid, a, error in refused]
    if attempts:
        await session.execute(insert(DeliveryAttempt), attempts)
    # The per-notice path: load what was inserted and move it along its channels.
    for nid in [nid for nid, _, _ in refused]:
        n = await session.get(Notification, nid)
        assert n is not None
        n.channel_index += 1
        await advance(session, settings, n, now)
    for p, n in zip(others, moving, strict=True):
        await advance(session, settings, n, now, first=p.text)
    if refused or others:
        await session.flush()
    return [Made(p.row["id"], p.row["user_id"]) for p in plans]


def _attempt(
    tenant_id: uuid.UUID,
    notification_id: uuid.UUID,
    address: str,
    status: str,
    now: datetime,
    *,
    message_id: uuid.UUID | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "notification_id": notification_id,
        "channel": NoticeChannel.SMS,
        "address": address,
        "message_id": message_id,
        "status": status,
        "error": error,
        "at": now,
        "updated_at": now,
    }
