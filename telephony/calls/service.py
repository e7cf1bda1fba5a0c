"""Call use cases the Stasis app drives: open, ring, answer, end (with CDR and events)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus import publish
from comms.db.base import utcnow
from comms.errors import NotFound
from telephony.calls.events import CallAnswered, CallEnded, CallMissed, CallRinging
from telephony.calls.models import Call, CallLeg, CallTransition, Direction, LegRole
from telephony.calls.state import CallState, LegState, check_transition
from telephony.vpmn import service as vpmn
from telephony.vpmn.models import Disposition
from telephony.vpmn.schemas import CdrIn


def _facts(call: Call, at: datetime) -> dict[str, object]:
    return {
        "call_id": call.id,
        "tenant_id": call.tenant_id,
        "direction": call.direction.value,
        "caller": call.caller,
        "callee": call.callee,
        "in_network": call.in_network,
        "member_id": call.member_id,
        "queue": call.queue,
        "agent": call.agent,
        "at": at,
    }


def transition(session: AsyncSession, call: Call, target: CallState, reason: str) -> None:
    """Move the call, refusing illegal moves, and record the move."""
    check_transition(call.state, target)
    session.add(
        CallTransition(
            tenant_id=call.tenant_id,
            call_id=call.id,
            from_state=call.state,
            to_state=target,
            reason=reason,
        )
    )
    call.state = target


async def open_inbound(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    caller: str,
    callee: str,
    channel_id: str,
    endpoint: str,
    in_network: bool,
    member_id: uuid.UUID | None,
) -> tuple[Call, CallLeg]:
    """A call that just entered Stasis: the call row and its caller leg (still unanswered)."""
    call = Call(
        tenant_id=tenant_id,
        direction=Direction.INBOUND,
        state=CallState.NEW,
        caller=caller,
        callee=callee,
        in_network=in_network,
        member_id=member_id,
    )
    session.add(call)
    await session.flush()
    leg = CallLeg(
        tenant_id=tenant_id,
        call_id=call.id,
        channel_id=channel_id,
        role=LegRole.CALLER,
        endpoint=endpoint,
        state=LegState.RINGING,
    )
    session.add(leg)
    await session.flush()
    return call, leg


def add_callee_leg(
    session: AsyncSession, call: Call, channel_id: str, endpoint: str, step: int
) -> CallLeg:
    leg = CallLeg(
        tenant_id=call.tenant_id,
        call_id=call.id,
        channel_id=channel_id,
        role=LegRole.CALLEE,
        endpoint=endpoint,
        step=step,
        state=LegState.RINGING,
    )
    session.add(leg)
    return leg


def mark_ringing(session: AsyncSession, call: Call, ringback: str | None) -> None:
    if call.state is CallState.RINGING:
        return  # a later sequential step: still the same ringing call
    call.ringback_media = ringback
    transition(session, call, CallState.RINGING, "dialling")
    publish(session, CallRinging.topic, CallRinging(**_facts(call, utcnow())))


def mark_answered(
    session: AsyncSession, call: Call, leg: CallLeg, bridge_id: str, caller_leg: CallLeg
) -> None:
    now = utcnow()
    call.answered_at = now
    call.bridge_id = bridge_id
    leg.state = caller_leg.state = LegState.UP
    leg.answered_at = caller_leg.answered_at = now
    transition(session, call, CallState.ANSWERED, f"answered on {leg.endpoint}")
    publish(
        session,
        CallAnswered.topic,
        CallAnswered(**_facts(call, now), answered_by=leg.endpoint),
    )


def mark_leg_gone(leg: CallLeg, cause: int | None) -> None:
    if leg.state is not LegState.GONE:
        leg.state = LegState.GONE
        leg.ended_at = utcnow()
        leg.cause = cause


async def end_call(
    session: AsyncSession, call: Call, disposition: Disposition, reason: str
) -> None:
    """End the call once: write its CDR and publish missed (if never answered) and ended."""
    if call.state is CallState.ENDED:
        return
    now = utcnow()
    call.ended_at = now
    call.disposition = disposition
    call.end_reason = reason
    transition(session, call, CallState.ENDED, reason)
    for leg in await legs_of(session, call.id):
        mark_leg_gone(leg, None)
    billable = 0
    if call.answered_at is not None:
        billable = max(0, int((now - call.answered_at).total_seconds()))
    await vpmn.record_cdr(
        session,
        call.tenant_id,
        CdrIn(
            call_ref=str(call.id),
            caller=call.caller,
            callee=call.callee,
            started_at=call.started_at,
            answered_at=call.answered_at,
            ended_at=now,
            disposition=disposition,
        ),
        commit=False,
    )
    facts = _facts(call, now)
    if call.answered_at is None:
        publish(
            session,
            CallMissed.topic,
            CallMissed(**facts, disposition=disposition.value, reason=reason),
        )
    publish(
        session,
        CallEnded.topic,
        CallEnded(
            **facts,
            disposition=disposition.value,
            reason=reason,
            started_at=call.started_at,
            answered_at=call.answered_at,
            billable_seconds=billable,
        ),
    )


async def legs_of(session: AsyncSession, call_id: uuid.UUID) -> list[CallLeg]:
    q = select(CallLeg).where(CallLeg.call_id == call_id).order_by(CallLeg.created_at)
    return list(await session.scalars(q))


async def open_calls(session: AsyncSession) -> list[Call]:
    """Calls not yet ended (an unscoped session sees every tenant's: reconciliation)."""
    q = select(Call).where(Call.state != CallState.ENDED).order_by(Call.started_at)
    return list(await session.scalars(q))


async def get_call(session: AsyncSession, call_id: uuid.UUID) -> Call:
    call = await session.get(Call, call_id)
    if call is None:
        raise NotFound("call not found")
    return call


async def list_calls(session: AsyncSession, limit: int = 100) -> list[Call]:
    q = select(Call).order_by(Call.started_at.desc(), Call.id).limit(limit)
    return list(await session.scalars(q))


async def transitions_of(session: AsyncSession, call_id: uuid.UUID) -> list[CallTransition]:
    q = (
        select(CallTransition)
        .where(CallTransition.call_id == call_id)
        .order_by(CallTransition.at, CallTransition.id)
    )
    return list(await session.scalars(q))
