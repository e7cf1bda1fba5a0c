"""Queue statistics: live figures and fixed-size historical intervals (JSON or CSV).

Definitions (the usual contact-centre ones, stated so wallboards and exports agree):
- service level: % of calls answered within the queue's service_level_seconds, out of the
  calls answered or abandoned (overflowed calls left for another target and do not count);
- abandon rate: % abandoned out of answered + abandoned;
- handle time: answer to hang-up of answered calls that have ended.
Intervals bucket calls by the time they entered the queue; buckets are computed in Python so
SQLite and PostgreSQL give the same answer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.errors import InvalidInput
from telephony.callcentre import service
from telephony.callcentre.models import Queue, QueueCall
from telephony.callcentre.schemas import IntervalOut, StatsOut
from telephony.callcentre.state import OPEN_ENTRY, AgentState, EntryState

SIZES = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "1d": timedelta(days=1)}
MAX_BUCKETS = 5000


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _avg(values: Sequence[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _figures(rows: Sequence[QueueCall], sl_seconds: int) -> dict[str, object]:
    answered = [r for r in rows if r.answered_at is not None]
    abandoned = [r for r in rows if r.state is EntryState.ABANDONED]
    overflowed = [r for r in rows if r.overflowed_at is not None]
    within = [r for r in answered if (r.wait_seconds or 0) <= sl_seconds]
    handled = [r.handle_seconds for r in answered if r.handle_seconds is not None]
    waits = [r.wait_seconds for r in rows if r.wait_seconds is not None]
    return {
        "offered": len(rows),
        "answered": len(answered),
        "abandoned": len(abandoned),
        "overflowed": len(overflowed),
        "service_level": _pct(len(within), len(answered) + len(abandoned)),
        "abandon_rate": _pct(len(abandoned), len(answered) + len(abandoned)),
        "average_wait_seconds": _avg(waits),
        "average_handle_seconds": _avg(handled),
    }


async def _rows(
    session: AsyncSession, queue_id: object, start: datetime, end: datetime
) -> list[QueueCall]:
    q = select(QueueCall).where(
        QueueCall.queue_id == queue_id, QueueCall.entered_at >= start, QueueCall.entered_at < end
    )
    return list(await session.scalars(q))


async def live(
    session: AsyncSession, queue: Queue, now: datetime, since: datetime | None = None
) -> StatsOut:
    start = since or now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    open_rows = await session.scalars(
        select(QueueCall.entered_at).where(
            QueueCall.queue_id == queue.id, QueueCall.state.in_(OPEN_ENTRY)
        )
    )
    waits = [max(0, int((now - t).total_seconds())) for t in open_rows]
    agents = {state.value: 0 for state in AgentState}
    for agent in await service.agents_of_queue(session, queue.id):
        agents[agent.state.value] += 1
    figures = _figures(
        await _rows(session, queue.id, start, now + timedelta(seconds=1)),
        queue.service_level_seconds,
    )
    figures.pop("average_wait_seconds")
    return StatsOut(
        queue_id=queue.id,
        waiting=len(waits),
        longest_wait_seconds=max(waits, default=0),
        agents=agents,
        since=start,
        **figures,
    )


async def intervals(
    session: AsyncSession, queue: Queue, size: str, start: datetime, end: datetime
) -> list[IntervalOut]:
    step = SIZES.get(size)
    if step is None:
        raise InvalidInput(f"size must be one of {', '.join(SIZES)}", field="size")
    if end <= start:
        raise InvalidInput("to must be after from", field="to")
    if (end - start) / step > MAX_BUCKETS:
        raise InvalidInput(f"at most {MAX_BUCKETS} intervals per request", field="size")
    buckets: list[list[QueueCall]] = []
    edges: list[datetime] = []
    t = start
    while t < end:
        edges.append(t)
        buckets.append([])
        t += step
    for row in await _rows(session, queue.id, start, end):
        buckets[int((row.entered_at - start) / step)].append(row)
    return [
        IntervalOut(
            start=edge,
            end=min(edge + step, end),
            **_figures(rows, queue.service_level_seconds),
        )
        for edge, rows in zip(edges, buckets, strict=True)
    ]


def to_csv(rows: Sequence[IntervalOut]) -> str:
    out = io.StringIO()
    fields = list(IntervalOut.model_fields)
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        data = row.model_dump(mode="json")
        writer.writerow({k: "" if data[k] is None else data[k] for k in fields})
    return out.getvalue()
