"""Contact rules: normalised phone/email index, lookups other packages call, merges."""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.sets import among
from comms.errors import Conflict, InvalidInput, NotFound
from comms.messages.addresses import try_phone
from crm.contacts import profile
from crm.contacts.models import (
    Company,
    Contact,
    ContactAlias,
    ContactEmail,
    ContactPhone,
    TimelineEntry,
)
from crm.contacts.schemas import ContactIn, ContactOut, ContactPatch
from crm.surveys.models import Survey
from crm.tickets.models import Ticket


def to_out(c: Contact) -> ContactOut:
    """The API shape: phones and emails flattened from the index rows."""
    return ContactOut(
        id=c.id,
        name=c.name,
        company_id=c.company_id,
        owner_id=c.owner_id,
        phones=[p.e164 for p in c.phones],
        emails=[e.address for e in c.emails],
        tags=list(c.tags),
        custom_fields=dict(c.custom_fields),
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


async def _check_free(
    s: AsyncSession, phones: list[str], emails: list[str], owner: uuid.UUID | None
) -> None:
    """A number or address belongs to one contact per tenant: clash is a 409 naming it."""
    i = await profile.first_taken(s, ContactPhone.e164, ContactPhone.contact_id, phones, owner)
    if i is not None:
        raise Conflict(f"phone {phones[i]} belongs to another contact", field="phones")
    i = await profile.first_taken(s, ContactEmail.address, ContactEmail.contact_id, emails, owner)
    if i is not None:
        raise Conflict(f"email {emails[i]} belongs to another contact", field="emails")


def _phone(e164: str) -> ContactPhone:
    return ContactPhone(e164=e164)


def _email(address: str) -> ContactEmail:
    return ContactEmail(address=address)


async def _check_company(s: AsyncSession, company_id: uuid.UUID | None) -> None:
    if company_id is not None and await s.get(Company, company_id) is None:
        raise InvalidInput("company_id: no such company", field="company_id")


async def create_contact(s: AsyncSession, body: ContactIn) -> Contact:
    """Validate, index and add a contact (flushed, not committed)."""
    phones, emails = profile.phones(body.phones), profile.emails(body.emails)
    await _check_company(s, body.company_id)
    await _check_free(s, phones, emails, None)
    c = Contact(
        name=body.name,
        company_id=body.company_id,
        phones=[_phone(p) for p in phones],
        emails=[_email(e) for e in emails],
    )
    profile.fill(c, body)
    s.add(c)
    await s.flush()
    return c


async def get_contact(s: AsyncSession, contact_id: uuid.UUID) -> Contact:
    c = await s.get(Contact, contact_id)
    if c is None:
        raise NotFound("contact not found")
    return c


async def update_contact(s: AsyncSession, contact_id: uuid.UUID, body: ContactPatch) -> Contact:
    """Apply the given fields; phone/email lists are replaced whole and re-indexed."""
    c = await get_contact(s, contact_id)
    phones, emails = profile.given_phones(body), profile.given_emails(body)
    await _check_free(s, phones or [], emails or [], c.id)
    if "company_id" in body.model_fields_set:
        await _check_company(s, body.company_id)
        c.company_id = body.company_id
    if body.name is not None:
        c.name = body.name
    profile.patch(c, body)
    if phones is not None:
        c.phones = profile.reindexed(c.phones, phones, lambda p: p.e164, _phone)
    if emails is not None:
        c.emails = profile.reindexed(c.emails, emails, lambda e: e.address, _email)
    await s.flush()
    return c


# Fewer digits than this would match most numbers of a tenant ("13", "86"): name/email only.
MIN_PHONE_DIGITS = 4


def _matching(text: str) -> ColumnElement[bool]:
    """Name contains `text` (any case), or a number holds its digits or is it written another
    way, or an address contains it."""
    needle = text.strip()
    where = [
        Contact.name.icontains(needle, autoescape=True),
        Contact.id.in_(
            select(ContactEmail.contact_id).where(
                ContactEmail.address.contains(needle.lower(), autoescape=True)
            )
        ),
    ]
    digits = re.sub(r"\D", "", needle)
    if len(digits) >= MIN_PHONE_DIGITS:
        e164 = try_phone(needle)
        where.append(
            Contact.id.in_(
                select(ContactPhone.contact_id).where(
                    or_(ContactPhone.e164.contains(digits), ContactPhone.e164 == e164)
                )
            )
        )
    return or_(*where)


async def list_contacts(
    s: AsyncSession,
    *,
    q: str | None = None,
    tag: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[Contact], str | None]:
    """A page by name, those matching `q` if given, and the cursor of the next page (None on
    the last). Tags are a JSON list, filtered here so SQLite and PostgreSQL agree: with a tag
    the rows are read in chunks until the page is full."""
    query = select(Contact).order_by(Contact.name, Contact.id)
    if q is not None and q.strip():
        query = query.where(_matching(q))
    after = _decode_name_cursor(cursor) if cursor else None
    page: list[Contact] = []
    chunk = limit + 1 if tag is None else max(200, limit + 1)
    while len(page) <= limit:
        rows = list(await s.scalars(_after(query, after).limit(chunk)))
        page += [c for c in rows if tag is None or tag in c.tags]
        if len(rows) < chunk:
            break
        after = (rows[-1].name, rows[-1].id)
    if len(page) <= limit:
        return page, None
    last = page[limit - 1]
    return page[:limit], _encode_name_cursor(last.name, last.id)


def _after(query: Select[Contact], after: tuple[str, uuid.UUID] | None) -> Select[Contact]:
    """Keyset paging on (name, id), the list's order: the database compares, so its collation
    decides where a page ends."""
    if after is None:
        return query
    name, last = after
    return query.where(or_(Contact.name > name, and_(Contact.name == name, Contact.id > last)))


def _encode_name_cursor(name: str, contact_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(json.dumps([name, str(contact_id)]).encode()).decode()


def _decode_name_cursor(cursor: str) -> tuple[str, uuid.UUID]:
    try:
        name, contact_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return str(name), uuid.UUID(contact_id)
    except (ValueError, TypeError):
        raise InvalidInput("cursor: not a cursor this API gave out", field="cursor") from None


async def find_contact_by_phone(s: AsyncSession, phone: str) -> Contact | None:
    """Public: the contact owning `phone` written any way (+86…, 138…, spaces), or None."""
    e164 = try_phone(phone)
    cid = await s.scalar(select(ContactPhone.contact_id).where(ContactPhone.e164 == e164))
    return None if cid is None else await s.get(Contact, cid)


async def find_contact_by_email(s: AsyncSession, email: str) -> Contact | None:
    """Public: the contact owning `email`, case-insensitively, or None."""
    addr = email.strip().lower()
    cid = await s.scalar(select(ContactEmail.contact_id).where(ContactEmail.address == addr))
    return None if cid is None else await s.get(Contact, cid)


async def find_contact_by_address(s: AsyncSession, address: str) -> Contact | None:
    """A message counterpart (E.164 or mail address) to its contact."""
    if "@" in address:
        return await find_contact_by_email(s, address)
    return await find_contact_by_phone(s, address)


async def contacts_by_addresses(s: AsyncSession, addresses: set[str]) -> dict[str, uuid.UUID]:
    """Message counterparts (E.164 numbers, mail addresses) to their contacts' ids, set-wise:
    two queries for a whole batch; strangers are left out."""
    phones = sorted(a for a in addresses if "@" not in a)
    emails = {a.strip().lower(): a for a in addresses if "@" in a}
    found: dict[str, uuid.UUID] = {}
    for start in range(0, len(phones), 500):
        part = phones[start : start + 500]
        q = select(ContactPhone.e164, ContactPhone.contact_id).where(among(ContactPhone.e164, part))
        found.update({e164: cid for e164, cid in (await s.execute(q)).all()})
    keys = sorted(emails)
    for start in range(0, len(keys), 500):
        part = keys[start : start + 500]
        q = select(ContactEmail.address, ContactEmail.contact_id).where(
            among(ContactEmail.address, part)
        )
        found.update({emails[a]: cid for a, cid in (await s.execute(q)).all()})
    return found


async def merge_contacts(s: AsyncSession, keep_id: uuid.UUID, dup_id: uuid.UUID) -> Contact:
    """Move everything of `dup` onto `keep` (phones, emails, tags, fields, timeline, tickets,
    surveys), then delete `dup`, so no duplicate is left and no history is lost."""
    if keep_id == dup_id:
        raise InvalidInput("duplicate_id: cannot merge a contact into itself", field="duplicate_id")
    keep = await get_contact(s, keep_id)
    dup = await get_contact(s, dup_id)
    await s.execute(
        update(TimelineEntry)
        .where(TimelineEntry.contact_id == dup.id)
        .values(contact_id=keep.id)
        .execution_options(synchronize_session=False)
    )
    for model in (Ticket, Survey):
        await s.execute(
            update(model)
            .where(model.contact_id == dup.id)
            .values(contact_id=keep.id)
            .execution_options(synchronize_session=False)
        )
    phones, emails = list(dup.phones), list(dup.emails)
    dup.phones, dup.emails = [], []
    keep.phones.extend(phones)
    keep.emails.extend(emails)
    keep.tags = list(dict.fromkeys([*keep.tags, *dup.tags]))
    keep.custom_fields = {**dup.custom_fields, **keep.custom_fields}
    keep.company_id = keep.company_id or dup.company_id
    keep.owner_id = keep.owner_id or dup.owner_id
    # Other packages keep the duplicate's id (erp orders): its alias, and those of contacts
    # merged into it before, now name the kept contact.
    await s.execute(
        update(ContactAlias)
        .where(ContactAlias.contact_id == dup.id)
        .values(contact_id=keep.id)
        .execution_options(synchronize_session=False)
    )
    s.add(ContactAlias(id=dup.id, contact_id=keep.id))
    await s.flush()
    await s.delete(dup)
    await s.flush()
    return keep


async def resolve_contact_ids(s: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Contact ids named by other packages to this tenant's contacts: a live id to itself, a
    merged-away one to the contact it was merged into; unknown ids are left out."""
    if not ids:
        return {}
    found = {cid: cid for cid in await s.scalars(select(Contact.id).where(among(Contact.id, ids)))}
    rest = ids - found.keys()
    if rest:
        q = select(ContactAlias.id, ContactAlias.contact_id).where(among(ContactAlias.id, rest))
        found.update({old: new for old, new in (await s.execute(q)).all()})
    return found


async def add_timeline_entry(
    s: AsyncSession,
    contact_id: uuid.UUID,
    *,
    kind: str,
    ref: str,
    at: datetime,
    direction: str | None = None,
    status: str | None = None,
    summary: str = "",
) -> TimelineEntry:
    """Idempotent by `ref`: a repeated event updates the entry's status instead of adding."""
    entry = await s.scalar(select(TimelineEntry).where(TimelineEntry.ref == ref))
    if entry is None:
        entry = TimelineEntry(
            contact_id=contact_id,
            kind=kind,
            ref=ref,
            at=at,
            direction=direction,
            status=status,
            summary=summary[:500],
        )
        s.add(entry)
    elif status is not None and entry.status not in FINAL_STATUSES:
        entry.status = status
    await s.flush()
    return entry


# A call entry in this status means its missed call was handled (callback ticket opened or
# voicemail attached); the ended event never writes it, so either may arrive first.
CALL_MISSED = "missed"


async def add_call_entry(
    s: AsyncSession,
    contact_id: uuid.UUID,
    *,
    call_id: uuid.UUID,
    direction: str,
    disposition: str,
    at: datetime,
    duration_seconds: int,
    summary: str,
) -> TimelineEntry:
    """One entry per call (`call:<id>`); an entry the missed-call path wrote first keeps its
    status and gains the duration."""
    ref = f"call:{call_id}"
    entry = await s.scalar(select(TimelineEntry).where(TimelineEntry.ref == ref))
    if entry is None:
        entry = TimelineEntry(
            contact_id=contact_id,
            kind="call",
            ref=ref,
            at=at,
            direction=direction,
            status=disposition,
            duration_seconds=duration_seconds,
            summary=summary[:500],
        )
        s.add(entry)
    elif entry.duration_seconds is None:
        entry.duration_seconds = duration_seconds
    await s.flush()
    return entry


async def mark_call_missed(
    s: AsyncSession, contact_id: uuid.UUID, *, call_id: uuid.UUID, at: datetime, summary: str
) -> bool:
    """Put the inbound call on the timeline as missed; False if it was already (handled)."""
    ref = f"call:{call_id}"
    entry = await s.scalar(select(TimelineEntry).where(TimelineEntry.ref == ref))
    if entry is not None and entry.status == CALL_MISSED:
        return False
    if entry is None:
        entry = TimelineEntry(
            contact_id=contact_id, kind="call", ref=ref, at=at, direction="inbound"
        )
        s.add(entry)
    entry.status, entry.summary = CALL_MISSED, summary[:500]
    await s.flush()
    return True


# Message statuses after which a late, older status event must not overwrite the entry.
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed", "received"})
