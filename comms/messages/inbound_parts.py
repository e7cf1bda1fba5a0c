"""Multipart inbound SMS kept in the database until whole.

The adapter acknowledges every part to the carrier as it arrives, and the carrier never sends
it again, so a part held only in memory would be lost by a restart. A part is committed before
it is acknowledged; the message is assembled by whichever transaction finds the group whole
(the one that stored its last part, or the periodic sweep once the group waited too long) and
removes the parts in the same transaction that stores the message, so it is stored once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.channels.sms.provider import InboundPart, InboundSms
from comms.channels.sms.smpp_inbound import assemble
from comms.db.statements import insert_or_skip
from comms.messages.models import InboundSmsPart as P

GroupKey = tuple[str, str, str, int, int]  # provider, sender, recipient, reference, total
_UNIQUE = ["provider", "sender", "recipient", "reference", "total", "seq"]


def key_of(part: InboundPart) -> GroupKey:
    return (part.provider, part.sender, part.recipient, part.reference, part.total)


def _of(key: GroupKey) -> tuple[Any, ...]:
    provider, sender, recipient, reference, total = key
    return (
        P.provider == provider,
        P.sender == sender,
        P.recipient == recipient,
        P.reference == reference,
        P.total == total,
    )


async def keep(s: AsyncSession, part: InboundPart) -> None:
    """Store a part; a part the carrier sends again is ignored (the first copy wins)."""
    values = {
        "provider": part.provider,
        "sender": part.sender,
        "recipient": part.recipient,
        "reference": part.reference,
        "total": part.total,
        "seq": part.seq,
        "data_coding": part.data_coding,
        "payload": part.payload,
        "received_at": part.received_at,
        "deliver_by": part.received_at + timedelta(seconds=part.wait),
    }
    await s.execute(insert_or_skip(s, P, _UNIQUE).values(**values))


async def is_whole(s: AsyncSession, key: GroupKey) -> bool:
    n = await s.scalar(select(func.count(func.distinct(P.seq))).where(*_of(key)))
    return int(n or 0) >= key[4]


async def take(s: AsyncSession, key: GroupKey) -> tuple[InboundSms, bool] | None:
    """Remove a group's parts and return its message (gaps where parts are missing) and
    whether it is whole; None when another transaction took them first."""
    rows = (
        await s.execute(
            delete(P)
            .where(*_of(key))
            .returning(P.seq, P.payload, P.data_coding, P.received_at)
            .execution_options(synchronize_session=False)
        )
    ).all()
    if not rows:
        return None
    parts = {seq: payload for seq, payload, _, _ in rows}
    first = min(rows, key=lambda r: r[3])
    text, whole = assemble(parts, key[4], first[2])
    provider, sender, recipient, _, _ = key
    sms = InboundSms(
        provider=provider, sender=sender, recipient=recipient, text=text, received_at=first[3]
    )
    return sms, whole


async def due(s: AsyncSession, now: datetime, limit: int = 100) -> Sequence[GroupKey]:
    """Groups to assemble now: whole ones (a crash came between the last part's commit and
    the assembly) and those whose wait for missing parts is over. The table holds only
    partial messages, so reading it whole is cheap."""
    cols = (P.provider, P.sender, P.recipient, P.reference, P.total)
    rows = await s.execute(
        select(*cols)
        .group_by(*cols)
        .having(or_(func.min(P.deliver_by) <= now, func.count(func.distinct(P.seq)) >= P.total))
        .limit(limit)
    )
    return [(a, b, c, int(d), int(e)) for a, b, c, d, e in rows.all()]
