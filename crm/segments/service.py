"""Segment rules: filters validated at save, members and membership evaluated in SQL."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from comms.errors import Conflict, InvalidInput, NotFound
from comms.messages.addresses import try_phone
from crm.contacts.models import Company, Contact, ContactEmail, ContactPhone
from crm.segments.models import Segment
from crm.segments.schemas import (
    MemberOut,
    SegmentFilter,
    SegmentIn,
    SegmentOut,
    SegmentPatch,
)
from crm.segments.sql import PHONES, conditions

EMAILS = ContactEmail.__table__


def dialect_of(s: AsyncSession) -> str:
    return s.get_bind().dialect.name


def _prefix(raw: str) -> str:
    """A number prefix as E.164 digits: "+86138", "0086138", "138" (CN) or "010" (CN trunk)."""
    p = "".join(ch for ch in raw if not ch.isspace() and ch != "-")
    if p.startswith("00"):
        p = "+" + p[2:]
    elif p and not p.startswith("+"):
        p = "+86" + (p[1:] if p.startswith("0") else p)
    if len(p) < 2 or not p[1:].isdigit():
        raise InvalidInput(
            "filter.phone_prefix: give digits, e.g. +86138 or 138", field="filter.phone_prefix"
        )
    return p


async def check_filter(s: AsyncSession, f: SegmentFilter) -> SegmentFilter:
    """Refuse filters that cannot mean anything (422 naming the field); return it normalised."""
    for name in ("tags_any", "tags_all"):
        for i, tag in enumerate(getattr(f, name)):
            if not tag.strip():
                raise InvalidInput(f"filter.{name}[{i}]: empty tag", field=f"filter.{name}[{i}]")
    if f.company_id is not None and await s.get(Company, f.company_id) is None:
        raise InvalidInput("filter.company_id: no such company", field="filter.company_id")
    if f.created_from and f.created_to and f.created_to <= f.created_from:
        raise InvalidInput(
            "filter.created_to: must be after created_from", field="filter.created_to"
        )
    prefix = None if f.phone_prefix is None else _prefix(f.phone_prefix)
    return f.model_copy(
        update={
            "tags_any": [t.strip() for t in f.tags_any],
            "tags_all": [t.strip() for t in f.tags_all],
            "phone_prefix": prefix,
        }
    )


async def create_segment(s: AsyncSession, body: SegmentIn) -> Segment:
    f = await check_filter(s, body.filter)
    await _name_free(s, body.name, None)
    seg = Segment(name=body.name, description=body.description, filter=f.model_dump(mode="json"))
    s.add(seg)
    await _flush(s)
    return seg


async def _name_free(s: AsyncSession, name: str, own: uuid.UUID | None) -> None:
    q = select(Segment.id).where(Segment.name == name)
    if own is not None:
        q = q.where(Segment.id != own)
    if await s.scalar(q) is not None:
        raise Conflict(f"name: a segment named {name!r} exists", field="name")


async def _flush(s: AsyncSession) -> None:
    try:
        await s.flush()
    except IntegrityError:  # a concurrent save took the name between check and insert
        raise Conflict("name: a segment with this name exists", field="name") from None


async def get_segment(s: AsyncSession, segment_id: uuid.UUID) -> Segment:
    seg = await s.get(Segment, segment_id)
    if seg is None:
        raise NotFound("segment not found")
    return seg


async def segment_by_name(s: AsyncSession, name: str) -> Segment | None:
    return await s.scalar(select(Segment).where(Segment.name == name))


async def update_segment(s: AsyncSession, seg: Segment, body: SegmentPatch) -> Segment:
    if body.filter is not None:
        seg.filter = (await check_filter(s, body.filter)).model_dump(mode="json")
    if body.name is not None and body.name != seg.name:
        await _name_free(s, body.name, seg.id)
        seg.name = body.name
    if body.description is not None:
        seg.description = body.description
    await _flush(s)
    return seg


def filter_of(seg: Segment) -> SegmentFilter:
    return SegmentFilter.model_validate(seg.filter)


async def count(s: AsyncSession, f: SegmentFilter) -> int:
    q = select(func.count()).select_from(Contact).where(conditions(f, dialect_of(s)))
    return int(await s.scalar(q) or 0)


def _members_query(f: SegmentFilter, dialect: str) -> Select[uuid.UUID, str]:
    return (
        select(Contact.id, Contact.name)
        .where(conditions(f, dialect))
        .order_by(Contact.name, Contact.id)
    )


async def _with_addresses(
    s: AsyncSession, rows: Sequence[tuple[uuid.UUID, str]]
) -> list[MemberOut]:
    """Each contact's first phone and email, fetched per 1,000 contacts by the contact_id
    index (plain tables, for the reason given in crm.segments.sql; the ids are this
    tenant's already)."""
    phone: dict[uuid.UUID, str] = {}
    email: dict[uuid.UUID, str] = {}
    ids = [cid for cid, _ in rows]
    for i in range(0, len(ids), 1000):
        chunk = ids[i : i + 1000]
        for table, column, found in ((PHONES, "e164", phone), (EMAILS, "address", email)):
            q = (
                select(table.c.contact_id, table.c[column])
                .where(table.c.contact_id.in_(chunk))
                .order_by(table.c.id.desc())
            )
            for cid, value in await s.execute(q):
                found[cid] = value  # descending ids: the first one is written last
    return [
        MemberOut(contact_id=cid, name=name, phone=phone.get(cid), email=email.get(cid))
        for cid, name in rows
    ]


def _cursor(m: MemberOut) -> str:
    raw = json.dumps([m.name, str(m.contact_id)], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _after(cursor: str) -> tuple[str, uuid.UUID]:
    try:
        name, cid = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return str(name), uuid.UUID(cid)
    except (ValueError, TypeError):
        raise InvalidInput("cursor: not a cursor this API gave", field="cursor") from None


async def members(
    s: AsyncSession, f: SegmentFilter, *, limit: int, cursor: str | None = None
) -> tuple[list[MemberOut], str | None]:
    """One page by name (then id), keyset-paginated so pages stay stable and cheap."""
    q = _members_query(f, dialect_of(s))
    if cursor:
        name, cid = _after(cursor)
        q = q.where(or_(Contact.name > name, and_(Contact.name == name, Contact.id > cid)))
    rows = [(cid, name) for cid, name in await s.execute(q.limit(limit + 1))]
    page = await _with_addresses(s, rows[:limit])
    return page, _cursor(page[-1]) if len(rows) > limit else None


async def all_members(s: AsyncSession, f: SegmentFilter) -> list[MemberOut]:
    rows = [(cid, name) for cid, name in await s.execute(_members_query(f, dialect_of(s)))]
    return await _with_addresses(s, rows)


async def contains_phone(s: AsyncSession, seg: Segment, phone: str) -> bool:
    """One statement: the unique (tenant, e164) index finds the contact, then the filter runs
    on that single row."""
    # An alias: the filter's own phone_prefix EXISTS must not correlate to this join.
    asked = aliased(ContactPhone)
    q = (
        select(Contact.id)
        .join(asked, asked.contact_id == Contact.id)
        .where(asked.e164 == try_phone(phone), conditions(filter_of(seg), dialect_of(s)))
    )
    return await s.scalar(q) is not None


async def to_out(s: AsyncSession, seg: Segment) -> SegmentOut:
    f = filter_of(seg)
    return SegmentOut(
        id=seg.id,
        name=seg.name,
        description=seg.description,
        filter=f,
        count=await count(s, f),
        created_at=seg.created_at,
        updated_at=seg.updated_at,
    )
