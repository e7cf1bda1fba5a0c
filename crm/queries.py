"""Questions crm answers for other packages through the hub's query registry (comms/queries.py)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.contacts import companies
from crm.contacts.models import Company, Contact
from crm.contacts.service import find_contact_by_phone
from crm.segments import service as segments
from crm.tickets.models import Ticket

RECENT_TICKETS = 5


async def contact_by_phone(s: AsyncSession, args: Mapping[str, str]) -> dict[str, Any] | None:
    """The console's screen pop: who is calling, their company and latest tickets, or None.
    A number no contact owns but a company does (its switchboard) answers the company, with
    `kind: company`, no `id` (it is not a contact to file a ticket on) and its contacts'
    latest tickets. IVR lookups ask it with `phone` = the caller and keep one key (`field:
    name`)."""
    phone = args.get("phone") or ""
    contact = await find_contact_by_phone(s, phone)
    if contact is None:
        firm = await companies.find_company_by_phone(s, phone) if phone else None
        if firm is None:
            return None
        tickets = await _recent_tickets(s, Ticket.contact_id.in_(_staff(firm.id)))
        return {
            "kind": "company",
            "id": None,
            "company_id": str(firm.id),
            "name": firm.name,
            "company": None,
            "phones": [p.e164 for p in firm.phones],
            "emails": [e.address for e in firm.emails],
            "tags": list(firm.tags),
            "recent_tickets": tickets,
        }
    company = None if contact.company_id is None else await s.get(Company, contact.company_id)
    return {
        "kind": "contact",
        "id": str(contact.id),
        "company_id": None if contact.company_id is None else str(contact.company_id),
        "name": contact.name,
        "company": None if company is None else company.name,
        "phones": [p.e164 for p in contact.phones],
        "emails": [e.address for e in contact.emails],
        "tags": list(contact.tags),
        "recent_tickets": await _recent_tickets(s, Ticket.contact_id == contact.id),
    }


def _staff(company_id: uuid.UUID) -> Select[uuid.UUID]:
    return select(Contact.id).where(Contact.company_id == company_id)


async def _recent_tickets(s: AsyncSession, whose: ColumnElement[bool]) -> list[dict[str, Any]]:
    tickets = await s.scalars(
        select(Ticket).where(whose).order_by(Ticket.created_at.desc()).limit(RECENT_TICKETS)
    )
    return [
        {
            "id": str(t.id),
            "subject": t.subject,
            "status": t.status.value,
            "priority": t.priority.value,
            "created_at": t.created_at.isoformat(),
        }
        for t in tickets
    ]


async def in_segment(s: AsyncSession, args: Mapping[str, str]) -> bool:
    """IVR conditions: is this caller in the named segment? An unknown segment or caller: no."""
    seg = await segments.segment_by_name(s, args["segment"])
    if seg is None:
        return False
    return await segments.contains_phone(s, seg, args["phone"])


async def segment_members(s: AsyncSession, args: Mapping[str, str]) -> list[dict[str, Any]]:
    """SMS campaign audiences: every member with one phone and email; [] for no such segment."""
    seg = await segments.segment_by_name(s, args["segment"])
    if seg is None:
        return []
    rows = await segments.all_members(s, segments.filter_of(seg))
    return [
        {"contact_id": str(m.contact_id), "name": m.name, "phone": m.phone, "email": m.email}
        for m in rows
    ]


QUERIES = {
    "crm.contact_by_phone": contact_by_phone,
    "crm.in_segment": in_segment,
    "crm.segment_members": segment_members,
}
