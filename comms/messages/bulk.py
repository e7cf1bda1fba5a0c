"""Queueing many SMS at once (campaigns): the same rules as `queue_message`, set-wise.

`queue_message` costs a handful of queries per message (rules, quota count, recipient cap,
duplicate window, conversation get-or-create, ORM flush, two outbox rows). A campaign chunk
of 1,000 recipients instead reads each of those once for the whole batch and writes
messages, conversation counters and outbox events with one multi-row statement each, in
the caller's transaction. The result per item is the same: queued with its
`comms.message.status` change (queued; one event carries a batch of changes) and its
`comms.message.queued` event (unless claimed here), or the error
`queue_message` would have raised (InvalidInput, QuotaExceeded, Suppressed).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus.publish import publish_many
from comms.bus.topics import EventPayload
from comms.channels.sms.encoding import (
    EmptyMessageError,
    SegmentLimitError,
    check_length,
    with_signature,
)
from comms.db.base import utcnow
from comms.db.sets import among
from comms.db.statements import insert_or_skip
from comms.db.tenancy import current_tenant
from comms.errors import HuitongError, InvalidInput
from comms.messages.addresses import render
from comms.messages.events import (
    MAX_CHANGES,
    MessageQueued,
    MessageStatusChanged,
    StatusChange,
)
from comms.messages.exceptions import QuotaExceeded, Suppressed
from comms.messages.models import Channel, Conversation, Direction, Message
from comms.messages.service import day_start
from comms.messages.state import MessageStatus
from comms.messages.tenant_settings import Rules, rules
from comms.settings import Settings

MESSAGES = cast(Table, Message.__table__)
CONVERSATIONS = cast(Table, Conversation.__table__)
IN_BATCH = 500  # bound parameters per IN (...) list; SQLite allows 32,766 in all


@dataclass(frozen=True, slots=True)
class SmsItem:
    """One SMS to queue; `to` must already be E.164 (campaign rows are normalised)."""

    to: str
    body: str
    variables: dict[str, Any] = field(default_factory=dict)
    template: str | None = None


@dataclass(frozen=True, slots=True)
class Queued:
    """What a caller keeps of a queued message (no ORM object is built)."""

    id: uuid.UUID
    created_at: datetime
    segments: int


Outcome = Queued | HuitongError


def _chunks(values: Sequence[str]) -> list[Sequence[str]]:
    return [values[i : i + IN_BATCH] for i in range(0, len(values), IN_BATCH)]


def _text(item: SmsItem, tenant_rules: Rules, settings: Settings) -> tuple[str, int, str]:
    body = render(item.body, item.variables, "body") or ""
    if not body.strip():
        raise InvalidInput("body: empty; carriers reject empty messages", field="body")
    text = with_signature(body, tenant_rules.sms_signature or "")
    try:
        info = check_length(text, settings.sms_max_segments)
    except (SegmentLimitError, EmptyMessageError) as exc:
        raise InvalidInput(f"body: {exc}", field="body") from None
    return text, info.segments, info.encoding.value


async def queue_sms_batch(
    session: AsyncSession, settings: Settings, items: Sequence[SmsItem], *, claim: bool = False
) -> list[Outcome]:
    """Validate and queue every item in the caller's transaction; one outcome per item.

    claim=True also claims them for this process's sender (queued -> sending, attempt 1,
    both changes published) instead of publishing one `comms.message.queued` work event per
    message: the caller hands the ids to `Sender.schedule` once its transaction commits, as
    the claim handler does. A crash before submission leaves them `sending` without provider
    id, which the stale sweep queues again: the same guarantee as the per-message claim."""
    tid = current_tenant(session)
    assert tid is not None, "queueing needs a tenant-scoped session"
    if not items:
        return []
    tenant_rules = await rules(session, settings)
    now = utcnow()
    outcomes: list[Outcome | None] = [None] * len(items)
    texts: dict[int, tuple[str, int, str]] = {}
    for i, item in enumerate(items):
        try:
            texts[i] = _text(item, tenant_rules, settings)
        except HuitongError as exc:
            outcomes[i] = exc
    phones = sorted({items[i].to for i in texts})
    since = await day_start(session, now)
    counted = (
        Message.channel == Channel.SMS,
        Message.direction == Direction.OUTBOUND,
        Message.status != MessageStatus.FAILED,
    )
    allowance: int | None = None
    if tenant_rules.sms_daily_quota:
        used = await session.scalar(
            select(func.count()).select_from(Message).where(*counted, Message.created_at >= since)
        )
        allowance = tenant_rules.sms_daily_quota - int(used or 0)
    per_phone: Counter[str] = Counter()
    if tenant_rules.sms_recipient_daily_cap:
        for part in _chunks(phones):
            counts = (
                select(Message.recipient, func.count())
                .where(*counted, Message.created_at >= since, among(Message.recipient, part))
                .group_by(Message.recipient)
            )
            per_phone.update({p: int(n) for p, n in (await session.execute(counts)).all()})
    recent: set[tuple[str, str]] = set()
    window = settings.sms_duplicate_window
    if window > 0:
        for part in _chunks(phones):
            q = select(Message.recipient, Message.body).where(
                *counted,
                Message.created_at >= now - timedelta(seconds=window),
                among(Message.recipient, part),
            )
            recent.update((p, b) for p, b in (await session.execute(q)).all())
    # The same checks, in the same order, as service._carrier_rules, counting this batch in.
    accepted: list[int] = []
    for i, (text, _, _) in texts.items():
        to = items[i].to
        if allowance is not None and allowance <= 0:
            outcomes[i] = QuotaExceeded(
                f"daily SMS quota of {tenant_rules.sms_daily_quota} used up", field="to"
            )
            continue
        cap = tenant_rules.sms_recipient_daily_cap
        if cap and per_phone[to] >= cap:
            outcomes[i] = Suppressed(
                f"{to} already got {per_phone[to]} SMS today (cap {cap})", reason="recipient_cap"
            )
            continue
        if window > 0 and (to, text) in recent:
            outcomes[i] = Suppressed(
                f"the same text went to {to} less than {window:g} s ago", reason="duplicate"
            )
            continue
        if allowance is not None:
            allowance -= 1
        per_phone[to] += 1
        recent.add((to, text))
        accepted.append(i)
    if accepted:
        conv_ids = await _conversations(session, tid, [items[i].to for i in accepted], now)
        await _insert_messages(
            session, tid, items, texts, accepted, conv_ids, now, outcomes, claim=claim
        )
    return [o if o is not None else InvalidInput("not queued") for o in outcomes]


async def _conversations(
    session: AsyncSession, tid: uuid.UUID, phones: list[str], now: datetime
) -> dict[str, uuid.UUID]:
    """Thread id per number (created on first contact) with its counters moved on."""
    wanted = sorted(set(phones))

    async def existing() -> dict[str, uuid.UUID]:
        found: dict[str, uuid.UUID] = {}
        for part in _chunks(wanted):
            q = select(Conversation.address, Conversation.id).where(
                Conversation.channel == Channel.SMS, among(Conversation.address, part)
            )
            found.update({a: i for a, i in (await session.execute(q)).all()})
        return found

    ids = await existing()
    missing = [p for p in wanted if p not in ids]
    per_phone = Counter(phones)
    fresh: set[uuid.UUID] = set()  # inserted here with their counters: no UPDATE below
    if missing:
        new = {p: uuid.uuid4() for p in missing}
        rows = [
            {
                "id": new[p],
                "tenant_id": tid,
                "channel": Channel.SMS,
                "address": p,
                "last_message_at": now,
                "message_count": per_phone[p],
            }
            for p in missing
        ]
        # ON CONFLICT DO NOTHING rather than a savepoint around a plain INSERT (two round
        # trips more for every batch that meets a new number): a number a concurrent first
        # message created meanwhile is not returned, and is read and counted as existing.
        made = await session.execute(
            insert_or_skip(session, CONVERSATIONS, ["tenant_id", "channel", "address"]).returning(
                CONVERSATIONS.c.address, CONVERSATIONS.c.id
            ),
            rows,
        )
        created = {a: i for a, i in made.all()}
        ids.update(created)
        fresh = set(created.values())
        if len(created) < len(missing):
            ids.update(await existing())
    per_conv = Counter(ids[p] for p in phones)
    by_count: dict[int, list[uuid.UUID]] = {}
    for cid, n in per_conv.items():
        if cid not in fresh:
            by_count.setdefault(n, []).append(cid)
    table = CONVERSATIONS
    # One UPDATE per distinct count (a campaign's numbers almost all get one message), not an
    # executemany of one statement per conversation.
    for n, cids in sorted(by_count.items()):
        for start in range(0, len(cids), IN_BATCH):
            await session.execute(
                update(table)
                .where(among(table.c.id, cids[start : start + IN_BATCH]))
                .values(
                    message_count=table.c.message_count + n,
                    last_message_at=case(
                        (table.c.last_message_at < now, now), else_=table.c.last_message_at
                    ),
                )
            )
    return ids


async def _insert_messages(
    session: AsyncSession,
    tid: uuid.UUID,
    items: Sequence[SmsItem],
    texts: dict[int, tuple[str, int, str]],
    accepted: list[int],
    conv_ids: dict[str, uuid.UUID],
    now: datetime,
    outcomes: list[Outcome | None],
    *,
    claim: bool,
) -> None:
    messages: list[dict[str, Any]] = []
    changes: list[StatusChange] = []
    work: list[MessageQueued] = []
    for i in accepted:
        item, (text, segments, encoding) = items[i], texts[i]
        mid, conv = uuid.uuid4(), conv_ids[item.to]
        row = {
            "id": mid,
            "tenant_id": tid,
            "conversation_id": conv,
            "channel": Channel.SMS,
            "direction": Direction.OUTBOUND,
            "status": MessageStatus.QUEUED,
            "recipient": item.to,
            "body": text,
            "template": item.template,
            "variables": item.variables or None,
            "segments": segments,
            "encoding": encoding,
            "created_at": now,
            "queued_at": now,
        }
        steps: list[tuple[MessageStatus, MessageStatus | None]] = [(MessageStatus.QUEUED, None)]
        if claim:
            row.update(status=MessageStatus.SENDING, sending_at=now, claimed_at=now, attempts=1)
            steps.append((MessageStatus.SENDING, MessageStatus.QUEUED))
        else:
            work.append(MessageQueued(message_id=mid, channel=Channel.SMS))
        messages.append(row)
        changes += [
            StatusChange(
                message_id=mid,
                conversation_id=conv,
                channel=Channel.SMS,
                direction=Direction.OUTBOUND,
                status=status,
                previous=previous,
                at=now,
                counterpart=item.to,
            )
            for status, previous in steps
        ]
        outcomes[i] = Queued(id=mid, created_at=now, segments=segments)
    # The status changes travel as few events (MAX_CHANGES each); work events one each.
    payloads: list[EventPayload] = [
        MessageStatusChanged.of(changes[k : k + MAX_CHANGES])
        for k in range(0, len(changes), MAX_CHANGES)
    ]
    payloads += work
    # A Core insert of the table: the ORM's bulk insert of the entities costs per row.
    await session.execute(insert(MESSAGES), messages)
    await publish_many(session, payloads, tenant_id=tid)
