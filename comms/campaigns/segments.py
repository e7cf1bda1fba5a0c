"""Campaign audiences from CRM segments, asked through the query registry: comms never
imports crm, and a hub without a package answering `crm.segment_members` says so (422)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comms.errors import InvalidInput
from comms.messages.addresses import normalise_phone
from comms.queries import Queries, UnknownQuery

SEGMENT_MEMBERS = "crm.segment_members"
BUILTIN_VARIABLES = frozenset({"name", "phone", "department"})  # every campaign has these
SEGMENT_VARIABLES = frozenset({"contact_id"})
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


async def segment_rows_for(
    session: AsyncSession, queries: Queries | None, segment: str, body: str
) -> list[dict[str, Any]]:
    """Recipient rows of a CRM segment, asked through the query registry (comms never
    imports crm). Members without a usable phone number are left out."""
    extra = set(PLACEHOLDER.findall(body)) - BUILTIN_VARIABLES - SEGMENT_VARIABLES
    if extra:
        raise InvalidInput(
            f"body: unknown template variable {sorted(extra)[0]!r}; a segment's members "
            f"carry only {', '.join(sorted(BUILTIN_VARIABLES | SEGMENT_VARIABLES))}",
            field="body",
        )
    try:
        if queries is None:
            raise UnknownQuery(SEGMENT_MEMBERS)
        members = await queries.ask(session, SEGMENT_MEMBERS, {"segment": segment})
    except UnknownQuery:
        raise InvalidInput(
            f"segment: no installed package answers {SEGMENT_MEMBERS} (the crm package); "
            "use group_id or recipients",
            field="segment",
        ) from None
    rows: dict[str, dict[str, Any]] = {}
    for m in members or []:
        try:
            phone = normalise_phone(m.get("phone") or "", "segment")
        except InvalidInput:
            continue
        contact = m.get("contact_id")
        rows.setdefault(
            phone,
            {
                "phone": phone,
                "name": m.get("name"),
                "department": None,
                "variables": {"contact_id": str(contact)} if contact is not None else None,
            },
        )
    if not rows:
        raise InvalidInput(
            f"segment: {segment!r} has no member with a phone number", field="segment"
        )
    return list(rows.values())
