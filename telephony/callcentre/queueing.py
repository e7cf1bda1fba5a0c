"""Queue-call use cases for the Stasis app: enter, offer, answer, end, abandon, overflow.

Every function changes rows and publishes in the caller's transaction; the Stasis app commits
before it sends the next ARI command, so a restart finds every decision in the database.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus.publish import publish
from telephony.callcentre import service
from telephony.callcentre.events import (
    QueueCallAbandoned,
    QueueCallAnswered,
    QueueCallEnded,
    QueueCallEntered,
    QueueCallOffered,
    QueueCallOverflowed,
    QueueCallTransferred,
    QueueStats,
)
from telephony.callcentre.models import Agent, Queue, QueueCall
from telephony.callcentre.state import OPEN_ENTRY, AgentState, EntryState, check_entry_move
from telephony.vpmn.models import Cdr

WAITING = (EntryState.WAITING, EntryState.CALLBACK_REQUESTED)


def _secs(later: datetime, earlier: datetime) -> int:
    return max(0, int((later - earlier).total_seconds()))


def _facts(entry: QueueCall, at: datetime) -> dict[str, Any]:
    return {
        "tenant_id": entry.tenant_id,
        "queue_id": entry.queue_id,
        "entry_id": entry.id,
        "call_id": entry.call_id,
        "caller": entry.caller,
        "at": at,
    }


def move_entry(entry: QueueCall, target: EntryState) -> None:
    check_entry_move(entry.state, target)
    entry.state = target


def legs(entry: QueueCall) -> dict[str, str]:
    """Agent legs being rung for this call: channel id -> agent id."""
    found: dict[str, str] = entry.extra.get("legs", {})
    return dict(found)


def _set_legs(entry: QueueCall, value: dict[str, str]) -> None:
    entry.extra = {**entry.extra, "legs": value}


async def position(session: AsyncSession, entry: QueueCall) -> int:
    """1 for the caller at the head of the line."""
    ahead = await session.scalar(
        select(func.count(QueueCall.id)).where(
            QueueCall.queue_id == entry.queue_id,
            QueueCall.state.in_(WAITING),
            QueueCall.id != entry.id,
            or_(
                QueueCall.priority > entry.priority,
                (QueueCall.priority == entry.priority) & (QueueCall.entered_at < entry.entered_at),
            ),
        )
    )
    return int(ahead or 0) + 1


async def waiting_count(session: AsyncSession, queue_id: uuid.UUID) -> int:
    n = await session.scalar(
        select(func.count(QueueCall.id)).where(
            QueueCall.queue_id == queue_id, QueueCall.state.in_(OPEN_ENTRY)
        )
    )
    return int(n or 0)


async def enter(
    session: AsyncSession,
    queue: Queue,
    *,
    call_id: uuid.UUID | None,
    channel_id: str,
    caller: str,
    priority: int,
    now: datetime,
    entered_at: datetime | None = None,
) -> QueueCall:
    entry = QueueCall(
        tenant_id=queue.tenant_id,
        queue_id=queue.id,
        call_id=call_id,
        channel_id=channel_id,
        caller=caller,
        priority=priority,
        entered_at=entered_at or now,
        state=EntryState.WAITING,
        extra={},
    )
    session.add(entry)
    await session.flush()
    publish(
        session,
        QueueCallEntered.topic,
        QueueCallEntered(
            **_facts(entry, now), priority=priority, position=await position(session, entry)
        ),
        tenant_id=queue.tenant_id,
    )
    return entry


async def open_entries(session: AsyncSession, queue_id: uuid.UUID | None = None) -> list[QueueCall]:
    """Open queue calls (waiting, offered or answered-not-ended), oldest first."""
    q = select(QueueCall).where(
        or_(
            QueueCall.state.in_(OPEN_ENTRY),
            (QueueCall.state == EntryState.ANSWERED) & QueueCall.ended_at.is_(None),
        )
    )
    if queue_id is not None:
        q = q.where(QueueCall.queue_id == queue_id)
    return list(await session.scalars(q.order_by(QueueCall.entered_at)))


def offer(
    session: AsyncSession, entry: QueueCall, agent: Agent, channel_id: str, now: datetime
) -> None:
    """The call rings at the agent's endpoint on leg ``channel_id``."""
    if entry.state is not EntryState.OFFERED:
        move_entry(entry, EntryState.OFFERED)
    entry.offered_at = entry.offered_at or now
    entry.offers += 1
    _set_legs(entry, {**legs(entry), channel_id: str(agent.id)})
    agent.last_offered_at = now
    service.move_agent(session, agent, AgentState.RINGING, f"offered {entry.caller}", now=now)
    publish(
        session,
        QueueCallOffered.topic,
        QueueCallOffered(**_facts(entry, now), agent_id=agent.id, user_id=agent.user_id),
        tenant_id=entry.tenant_id,
    )


def offer_failed(
    session: AsyncSession, entry: QueueCall, agent: Agent | None, channel_id: str, now: datetime
) -> None:
    """The agent's leg ended unanswered: not ready; the caller keeps their place in line."""
    remaining = legs(entry)
    remaining.pop(channel_id, None)
    _set_legs(entry, remaining)
    if agent is not None and agent.state is AgentState.RINGING:
        service.move_agent(session, agent, AgentState.NOT_READY, "ring timeout", now=now)
    if not remaining and entry.state is EntryState.OFFERED:
        callback = entry.overflow_target == "callback"
        move_entry(entry, EntryState.CALLBACK_REQUESTED if callback else EntryState.WAITING)


def answered(
    session: AsyncSession,
    entry: QueueCall,
    agent: Agent,
    bridge_id: str,
    now: datetime,
) -> None:
    move_entry(entry, EntryState.ANSWERED)
    entry.agent_id = agent.id
    entry.answered_at = now
    entry.bridge_id = bridge_id
    entry.wait_seconds = _secs(now, entry.entered_at)
    agent.current_call_id = entry.call_id
    agent.calls_taken += 1
    service.move_agent(session, agent, AgentState.ON_CALL, f"answered {entry.caller}", now=now)
    publish(
        session,
        QueueCallAnswered.topic,
        QueueCallAnswered(
            **_facts(entry, now),
            agent_id=agent.id,
            user_id=agent.user_id,
            wait_seconds=entry.wait_seconds,
        ),
        tenant_id=entry.tenant_id,
    )


def release_ringing(session: AsyncSession, agents: list[Agent], now: datetime, why: str) -> None:
    """Agents whose offer stopped through no fault of theirs go back to available."""
    for agent in agents:
        if agent.state is AgentState.RINGING:
            service.move_agent(session, agent, AgentState.AVAILABLE, why, now=now)


def ended(
    session: AsyncSession, entry: QueueCall, queue: Queue, agent: Agent | None, now: datetime
) -> None:
    """The answered call is over: the agent goes to wrap-up for the queue's wrap-up time."""
    if entry.ended_at is not None:
        return
    entry.ended_at = now
    entry.handle_seconds = _secs(now, entry.answered_at or now)
    if agent is not None and agent.state is AgentState.ON_CALL:
        agent.current_call_id = None
        service.move_agent(session, agent, AgentState.WRAP_UP, "call ended", now=now)
        agent.wrapup_until = service.wrapup_deadline(now, queue.wrapup_seconds)
    publish(
        session,
        QueueCallEnded.topic,
        QueueCallEnded(
            **_facts(entry, now),
            agent_id=entry.agent_id,
            wait_seconds=entry.wait_seconds or 0,
            handle_seconds=entry.handle_seconds,
        ),
        tenant_id=entry.tenant_id,
    )


def transferred(session: AsyncSession, entry: QueueCall, kind: str, to: str, now: datetime) -> None:
    entry.transferred_at = now
    publish(
        session,
        QueueCallTransferred.topic,
        QueueCallTransferred(**_facts(entry, now), agent_id=entry.agent_id, kind=kind, to=to),
        tenant_id=entry.tenant_id,
    )


def abandoned(session: AsyncSession, entry: QueueCall, now: datetime) -> None:
    move_entry(entry, EntryState.ABANDONED)
    entry.abandoned_at = now
    entry.ended_at = now
    entry.wait_seconds = _secs(now, entry.entered_at)
    _set_legs(entry, {})
    publish(
        session,
        QueueCallAbandoned.topic,
        QueueCallAbandoned(**_facts(entry, now), wait_seconds=entry.wait_seconds),
        tenant_id=entry.tenant_id,
    )


def overflowed(
    session: AsyncSession,
    entry: QueueCall,
    target: str,
    now: datetime,
    target_queue_id: uuid.UUID | None = None,
) -> None:
    if target == "callback":
        move_entry(entry, EntryState.CALLBACK_REQUESTED)
    else:
        move_entry(entry, EntryState.OVERFLOWED)
        entry.ended_at = now
    entry.overflowed_at = now
    entry.overflow_target = target if target_queue_id is None else f"queue:{target_queue_id}"
    entry.wait_seconds = _secs(now, entry.entered_at)
    publish(
        session,
        QueueCallOverflowed.topic,
        QueueCallOverflowed(**_facts(entry, now), target=target, target_queue_id=target_queue_id),
        tenant_id=entry.tenant_id,
    )


async def publish_stats(session: AsyncSession, queue: Queue, now: datetime) -> None:
    """A light snapshot for wallboards, published on every queue change."""
    waiting = list(
        await session.scalars(
            select(QueueCall.entered_at).where(
                QueueCall.queue_id == queue.id, QueueCall.state.in_(WAITING)
            )
        )
    )
    free = [
        a
        for a in await service.agents_of_queue(session, queue.id)
        if a.state is AgentState.AVAILABLE
    ]
    publish(
        session,
        QueueStats.topic,
        QueueStats(
            tenant_id=queue.tenant_id,
            queue_id=queue.id,
            waiting=len(waiting),
            longest_wait_seconds=max((_secs(now, t) for t in waiting), default=0),
            available_agents=len(free),
            at=now,
        ),
        tenant_id=queue.tenant_id,
    )


async def attach_recording(session: AsyncSession, call_id: uuid.UUID) -> None:
    """Reference the queue's recording(s) of this call on its CDR (written by end_call)."""
    names = [
        name
        for name in await session.scalars(
            select(QueueCall.recording)
            .where(QueueCall.call_id == call_id, QueueCall.recording.is_not(None))
            .order_by(QueueCall.entered_at)
        )
        if name
    ]
    cdr = await session.scalar(select(Cdr).where(Cdr.call_ref == str(call_id)))
    if cdr is not None and names:
        # A transferred call may have been recorded in two queues: keep both names.
        cdr.recording_ref = ",".join(names)[:300]
