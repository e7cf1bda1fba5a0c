"""Groups and campaigns: create, release when due, and expand recipients chunk by chunk.

A campaign's recipients are rows (`sms_campaign_recipients`, unique per number) written at
create time, by one INSERT ... SELECT for a group and 1,000 at a time for inline recipients
(read from the POST body chunk by chunk, `inline.py`), so a 100,000-number campaign never sits
in memory. Sending is a chain of `CampaignChunk` events, each queueing at most `CHUNK`
pending rows as one batch (`messages.bulk.queue_sms_batch`) in its own delivery: a crash
or a repeated event resumes at the first row still `pending`, and a row is queued at most once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus.publish import publish
from comms.campaigns.events import CampaignChunk
from comms.campaigns.inline import ListRecipients, Recipients
from comms.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignRecipient,
    CampaignStatus,
    GroupMember,
    RecipientGroup,
    RecipientStatus,
    SmsOptOut,
)
from comms.campaigns.schemas import CampaignCreate, GroupCreate, MemberIn
from comms.campaigns.segments import BUILTIN_VARIABLES, PLACEHOLDER, segment_rows_for
from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.sets import among
from comms.db.statements import insert_or_skip
from comms.db.tenancy import current_tenant, scoped_to, unscoped
from comms.errors import Conflict, InvalidInput, NotFound
from comms.messages.addresses import normalise_phone
from comms.messages.bulk import Queued, SmsItem, queue_sms_batch
from comms.messages.sender import Sender, on_commit
from comms.messages.tenant_settings import rules
from comms.queries import Queries
from comms.settings import Settings
from comms.tenants.models import Tenant

CHUNK = 1000
INSERT_BATCH = 1000
OPT_OUT_LINE = "回T退订"


def _tenant(session: AsyncSession) -> uuid.UUID:
    tid = current_tenant(session)
    assert tid is not None, "campaign work needs a tenant-scoped session"
    return tid


def _member_rows(members: Sequence[MemberIn], field: str, offset: int = 0) -> list[dict[str, Any]]:
    """Normalised, de-duplicated (first wins) rows; a bad number is a 422 naming its index."""
    rows: dict[str, dict[str, Any]] = {}
    for i, m in enumerate(members, offset):
        phone = normalise_phone(m.phone, f"{field}[{i}].phone")
        rows.setdefault(
            phone,
            {
                "phone": phone,
                "name": m.name,
                "department": m.department,
                "variables": m.variables or None,
            },
        )
    return list(rows.values())


async def _insert(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    # Bulk INSERTs bypass the flush hook that stamps tenant_id, so stamp them here.
    tid = _tenant(session)
    for start in range(0, len(rows), INSERT_BATCH):
        batch = [{**r, "tenant_id": tid} for r in rows[start : start + INSERT_BATCH]]
        await session.execute(insert(model), batch)


# ---------------------------------------------------------------- groups


async def get_group(session: AsyncSession, group_id: uuid.UUID) -> RecipientGroup:
    group = await session.get(RecipientGroup, group_id)
    if group is None:
        raise NotFound("no such recipient group", field="group_id")
    return group


async def member_count(session: AsyncSession, group_id: uuid.UUID) -> int:
    q = select(func.count()).select_from(GroupMember).where(GroupMember.group_id == group_id)
    return int(await session.scalar(q) or 0)


async def create_group(session: AsyncSession, data: GroupCreate) -> RecipientGroup:
    """A named list (or department) of staff and contacts; members optional."""
    if await session.scalar(select(RecipientGroup.id).where(RecipientGroup.name == data.name)):
        raise Conflict(f"a group named {data.name!r} exists", field="name")
    group = RecipientGroup(id=uuid.uuid4(), name=data.name, kind=data.kind)
    session.add(group)
    await session.flush()
    rows = _member_rows(data.members, "members")
    await _insert(session, GroupMember, [{**r, "group_id": group.id} for r in rows])
    await session.commit()
    return group


async def add_members(session: AsyncSession, group_id: uuid.UUID, members: list[MemberIn]) -> int:
    """Add members in bulk; numbers already in the group are left as they are. Added count."""
    await get_group(session, group_id)
    rows = _member_rows(members, "members")
    have: set[str] = set()
    phones = [r["phone"] for r in rows]
    for start in range(0, len(phones), INSERT_BATCH):
        have.update(
            await session.scalars(
                select(GroupMember.phone).where(
                    GroupMember.group_id == group_id,
                    GroupMember.phone.in_(phones[start : start + INSERT_BATCH]),
                )
            )
        )
    new = [{**r, "group_id": group_id} for r in rows if r["phone"] not in have]
    await _insert(session, GroupMember, new)
    await session.commit()
    return len(new)


# ---------------------------------------------------------------- campaigns


def _check_variables(names: set[str], members: Sequence[MemberIn], offset: int) -> None:
    """Every placeholder must be filled for every inline recipient, or a 422 naming it."""
    for i, r in enumerate(members, offset):
        missing = sorted(names - set(r.variables))
        if missing:
            field = f"recipients[{i}].variables"
            raise InvalidInput(f"{field}: unknown template variable {missing[0]!r}", field=field)


async def _insert_inline(
    session: AsyncSession, campaign_id: uuid.UUID, inline: Recipients, names: set[str]
) -> None:
    """Check, normalise and insert a chunk before the next is read, so memory is one chunk's.

    A number given twice keeps its first row: within a chunk by `_member_rows`, across
    chunks by the unique (campaign_id, phone) pair. A bad recipient anywhere raises before
    the commit, so the caller's transaction stores nothing."""
    stmt = insert_or_skip(session, CampaignRecipient, ["campaign_id", "phone"])
    fixed = {
        "tenant_id": _tenant(session),
        "campaign_id": campaign_id,
        "status": RecipientStatus.PENDING.value,
    }
    for start, members in inline.chunks():
        _check_variables(names, members, start)
        rows = _member_rows(members, "recipients", start)
        await session.execute(stmt, [{**r, **fixed} for r in rows])


async def _due_time(session: AsyncSession, at: datetime | None) -> datetime | None:
    """A naive time is the tenant's wall clock (offices schedule in local time)."""
    if at is None or at.tzinfo is not None:
        return at
    tenant = await session.get(Tenant, _tenant(session))
    return at.replace(tzinfo=ZoneInfo(tenant.timezone if tenant else "Asia/Shanghai"))


async def create_campaign(
    session: AsyncSession,
    settings: Settings,
    data: CampaignCreate,
    queries: Queries | None = None,
    recipients: Recipients | None = None,
) -> Campaign:
    """Validate, store the campaign and its recipients, and start it unless scheduled.

    `recipients` (the API's, streamed from the body) stands for `data.recipients`."""
    inline = recipients if recipients is not None else ListRecipients(data.recipients)
    if not (await rules(session, settings)).sms_signature:
        raise Conflict(
            "sms_signature: set the tenant's SMS signature (PUT /api/v1/messaging/settings) "
            "before sending; carriers refuse unsigned SMS",
            field="sms_signature",
        )
    audiences = sum((data.group_id is not None, inline.count > 0, data.segment is not None))
    if audiences != 1:
        raise InvalidInput(
            "recipients: give exactly one of group_id, recipients or segment", field="recipients"
        )
    bad = [k for k in data.reply_options if not k.strip() or len(k) > 32]
    if bad:
        raise InvalidInput(f"reply_options: invalid code {bad[0]!r}", field="reply_options")
    names = set(PLACEHOLDER.findall(data.body)) - BUILTIN_VARIABLES
    if data.group_id is not None:
        await get_group(session, data.group_id)
    segment_rows = None
    if data.segment is not None:
        segment_rows = await segment_rows_for(session, queries, data.segment, data.body)
    now = utcnow()
    due = await _due_time(session, data.scheduled_at)
    camp = Campaign(
        id=uuid.uuid4(),
        name=data.name,
        kind=data.kind,
        body=data.body,
        group_id=data.group_id,
        segment=data.segment,
        status=CampaignStatus.SCHEDULED,
        scheduled_at=due,
        reply_options={k.strip(): v for k, v in data.reply_options.items()} or None,
        created_at=now,
    )
    session.add(camp)
    await session.flush()
    pending = {"campaign_id": camp.id, "status": RecipientStatus.PENDING.value}
    if inline.count:
        await _insert_inline(session, camp.id, inline, names)
    elif segment_rows is not None:
        await _insert(session, CampaignRecipient, [{**r, **pending} for r in segment_rows])
    else:
        src = select(
            literal(_tenant(session), type_=GroupMember.tenant_id.type),
            literal(camp.id, type_=CampaignRecipient.campaign_id.type),
            GroupMember.phone,
            GroupMember.name,
            GroupMember.department,
            GroupMember.variables,
            literal(RecipientStatus.PENDING.value),
        ).where(GroupMember.tenant_id == _tenant(session), GroupMember.group_id == data.group_id)
        cols = ["tenant_id", "campaign_id", "phone", "name", "department", "variables", "status"]
        await session.execute(insert(CampaignRecipient).from_select(cols, src))
    if due is None or due <= now:
        start(session, camp)
    await session.commit()
    return camp


def start(session: AsyncSession, camp: Campaign) -> None:
    """scheduled -> queued with the first chunk event, in the caller's transaction."""
    camp.status = CampaignStatus.QUEUED
    camp.queued_at = utcnow()
    publish(
        session,
        CampaignChunk.topic,
        CampaignChunk(campaign_id=camp.id, after_id=0),
        tenant_id=camp.tenant_id,
    )


async def release_due(db: Database, *, now: datetime | None = None, limit: int = 100) -> int:
    """Start every scheduled campaign whose time has come (all tenants); how many."""
    now = now or utcnow()
    async with db.session() as s:
        unscoped(s)
        async with s.begin():
            due = list(
                await s.scalars(
                    select(Campaign)
                    .where(
                        Campaign.status == CampaignStatus.SCHEDULED,
                        Campaign.scheduled_at <= now,
                    )
                    .order_by(Campaign.scheduled_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            for camp in due:
                scoped_to(s, camp.tenant_id)
                start(s, camp)
                unscoped(s)
    return len(due)


async def dispatch_chunk(
    session: AsyncSession,
    settings: Settings,
    event: CampaignChunk,
    *,
    chunk: int = CHUNK,
    sender: Sender | None = None,
) -> int:
    """Queue up to `chunk` pending recipients after `event.after_id`; rows handled.

    With a `sender`, the messages are claimed here and handed to it after the commit
    (`queue_sms_batch(claim=True)`): no per-message work event crosses the bus."""
    camp = await session.get(Campaign, event.campaign_id)
    if camp is None or camp.status is not CampaignStatus.QUEUED:
        return 0
    # Columns and one executemany, not 1,000 ORM objects: this runs for every chunk.
    r_ = CampaignRecipient
    rows = (
        await session.execute(
            select(r_.id, r_.phone, r_.name, r_.department, r_.variables)
            .where(
                r_.campaign_id == camp.id,
                r_.status == RecipientStatus.PENDING,
                r_.id > event.after_id,
            )
            .order_by(r_.id)
            .limit(chunk)
            .with_for_update(skip_locked=True)
        )
    ).all()
    marketing = camp.kind is CampaignKind.MARKETING
    opted: set[str] = set()
    if marketing and rows:
        opted = set(
            await session.scalars(
                select(SmsOptOut.phone).where(among(SmsOptOut.phone, [r.phone for r in rows]))
            )
        )
    body = f"{camp.body}{OPT_OUT_LINE}" if marketing else camp.body
    # The signature may have been removed since create: never send unsigned SMS.
    signed = bool((await rules(session, settings)).sms_signature)
    done: dict[RecipientStatus, list[dict[str, Any]]] = {}

    def mark(rid: int, status: RecipientStatus, reason: str | None = None, **more: Any) -> None:
        done.setdefault(status, []).append({"b_id": rid, "b_reason": reason, **more})

    todo = []
    for r in rows:
        if not signed:
            mark(r.id, RecipientStatus.SKIPPED, "no sms_signature configured")
        elif r.phone in opted:
            mark(r.id, RecipientStatus.SUPPRESSED)
        else:
            todo.append(r)
    # One batch for the chunk: the carrier rules are checked set-wise (messages/bulk.py).
    template = f"sms_campaign:{camp.id}"
    items = [SmsItem(r.phone, body, _variables(r), template) for r in todo]
    outcomes = await queue_sms_batch(session, settings, items, claim=sender is not None)
    for r, outcome in zip(todo, outcomes, strict=True):
        if isinstance(outcome, Queued):
            mark(r.id, RecipientStatus.QUEUED, b_mid=outcome.id, b_at=outcome.created_at)
        else:  # bad variables, quota, recipient cap, duplicate
            mark(r.id, RecipientStatus.SKIPPED, outcome.message[:200])
    await _mark_recipients(session, done)
    if sender is not None:
        claimed = [o.id for o in outcomes if isinstance(o, Queued)]
        on_commit(session, partial(sender.schedule_many, claimed, camp.tenant_id, 1))
    if len(rows) == chunk:
        publish(
            session,
            CampaignChunk.topic,
            CampaignChunk(campaign_id=camp.id, after_id=rows[-1].id),
            tenant_id=camp.tenant_id,
        )
    else:
        left = await session.scalar(
            select(func.count())
            .select_from(CampaignRecipient)
            .where(
                CampaignRecipient.campaign_id == camp.id,
                CampaignRecipient.status == RecipientStatus.PENDING,
            )
        )
        if not left:
            camp.status = CampaignStatus.DISPATCHED
            camp.dispatched_at = utcnow()
    return len(rows)


async def _mark_recipients(
    session: AsyncSession, done: dict[RecipientStatus, list[dict[str, Any]]]
) -> None:
    """One UPDATE per outcome for a chunk's recipients (their ids came from a scoped read)."""
    table = cast(Table, CampaignRecipient.__table__)
    for status, values in done.items():
        more: dict[str, Any] = {"skip_reason": bindparam("b_reason")}
        if status is RecipientStatus.QUEUED:
            more = {"message_id": bindparam("b_mid"), "queued_at": bindparam("b_at")}
            values = [{k: v for k, v in row.items() if k != "b_reason"} for row in values]
        else:
            values = [{"b_id": row["b_id"], "b_reason": row["b_reason"]} for row in values]
        stmt = update(table).where(table.c.id == bindparam("b_id")).values(status=status, **more)
        await session.execute(stmt, values)


def _variables(r: Any) -> dict[str, Any]:
    return {
        "name": r.name or "",
        "phone": r.phone,
        "department": r.department or "",
        **(r.variables or {}),
    }
