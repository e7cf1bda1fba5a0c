"""Questions crm answers for other packages through the hub's query registry (comms/queries.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.contacts.models import Company
from crm.contacts.service import find_contact_by_phone
from crm.segments import service as segments
from crm.tickets.models import Ticket

RECENT_TICKETS = 5


async def contact_by_phone(s: AsyncSession, args: Mapping[str, str]) -> dict[str, Any] | None:
    """The console's screen pop: who is calling, their company and latest tickets, or None.
    IVR lookups ask it with `phone` = the caller and keep one key (`field: name`)."""
    contact = await find_contact_by_phone(s, args.get("phone") or "")
    if contact is None:
        return None
    company = None if contact.company_id is None else await s.get(Company, contact.company_id)
    tickets = await s.scalars(
        select(Ticket)
        .where(Ticket.contact_id == contact.id)
        .order_by(Ticket.created_at.desc())
        .limit(RECENT_TICKETS)
    )
    return {
        "id": str(contact.id),
        "name": contact.name,
        "company": None if company is None else company.name,
        "phones": [p.e164 for p in contact.phones],
        "emails": [e.address for e in contact.emails],
        "tags": list(contact.tags),
        "recent_tickets": [
            {
                "id": str(t.id),
                "subject": t.subject,
                "status": t.status.value,
                "priority": t.priority.value,
                "created_at": t.created_at.isoformat(),
            }
            for t in tickets
        ],
    }


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
