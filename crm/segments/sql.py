"""A segment filter as SQL conditions on crm_contacts, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, exists, func, literal, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB

from crm.contacts.models import Contact, ContactPhone
from crm.segments.schemas import FieldRule, SegmentFilter
from crm.tickets.models import Ticket
from crm.tickets.state import ACTIVE

# The EXISTS subqueries use the plain tables, not the ORM entities, so the session's tenant
# criterion is not repeated inside them: they correlate on contact_id to a contact that is
# already tenant-filtered, and with a second `tenant_id = ?` term SQLite picks the tenant_id
# index over contact_id and scans every ticket/phone of the tenant per contact.
TICKETS = Ticket.__table__
PHONES = ContactPhone.__table__


def json_list_has(column: Any, value: str, dialect: str) -> ColumnElement[bool]:
    """`value` is an element of a JSON list column (PostgreSQL: jsonb @>, SQLite: json_each)."""
    if dialect == "postgresql":
        return cast(column, JSONB).contains([value])
    each = func.json_each(column).table_valued("value")
    return exists(select(literal(1)).select_from(each).where(each.c.value == value))


def has_tag(tag: str, dialect: str) -> ColumnElement[bool]:
    return json_list_has(Contact.tags, tag, dialect)


def _field(rule: FieldRule) -> ColumnElement[bool]:
    text = cast(Contact.custom_fields[rule.field].as_string(), String)
    if rule.op == "equals":
        return text == rule.value
    return func.lower(text).contains(rule.value.lower(), autoescape=True)


def conditions(f: SegmentFilter, dialect: str) -> ColumnElement[bool]:
    """All criteria of `f` ANDed; true() for an empty filter."""
    parts: list[ColumnElement[bool]] = []
    if f.tags_any:
        parts.append(or_(*(has_tag(t, dialect) for t in f.tags_any)))
    parts.extend(has_tag(t, dialect) for t in f.tags_all)
    if f.company_id is not None:
        parts.append(Contact.company_id == f.company_id)
    if f.owner_id is not None:
        parts.append(Contact.owner_id == f.owner_id)
    parts.extend(_field(r) for r in f.custom_fields)
    if f.created_from is not None:
        parts.append(Contact.created_at >= f.created_from)
    if f.created_to is not None:
        parts.append(Contact.created_at < f.created_to)
    if f.has_open_ticket is not None:
        open_ticket = exists(
            select(TICKETS.c.id).where(
                TICKETS.c.contact_id == Contact.id, TICKETS.c.status.in_([a.value for a in ACTIVE])
            )
        )
        parts.append(open_ticket if f.has_open_ticket else ~open_ticket)
    if f.phone_prefix:
        parts.append(
            exists(
                select(PHONES.c.id).where(
                    PHONES.c.contact_id == Contact.id,
                    PHONES.c.e164.startswith(f.phone_prefix, autoescape=True),
                )
            )
        )
    return and_(*parts) if parts else true()
