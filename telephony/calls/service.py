"""Call use cases the Stasis app drives: open, ring, answer, end (with CDR and events)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comms.audit import service as audit
from comms.auth.models import User
from comms.auth.principal import Principal
from comms.bus import publish
from comms.db.base import new_id, utcnow
from comms.errors import InvalidInput, NotFound
from telephony.calls.events import CallAnswered, CallEnded, CallMissed, CallRinging
from telephony.calls.models import Call, CallLeg, CallTransition, Direction, LegRole
from telephony.calls.schemas import ClickToCallIn
from telephony.calls.state import CallState, LegState, check_transition
from telephony.vpmn import service as vpmn
from telephony.vpmn.models import Disposition
from telephony.vpmn.resolve import (
    Action,
    MemberView,
    PlanView,
    desk_endpoint,
    find_member,
    member_targets,
    resolve,
)
from telephony.vpmn.schemas import CdrIn

# A click-to-call request no Stasis app picked up within this many seconds fails rather than
# ringing the agent's phone long after they gave up.
CLICK_TO_CALL_TTL = 60


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
    flush: bool = True,
) -> tuple[Call, CallLeg]:
    """A call that just entered Stasis: the call row and its caller leg (still unanswered).

    ``flush=False`` leaves the rows to the transaction's one flush, for a caller that adds no
    row referring to the call from another module (the ORM orders inserts of mappers with
    no relationship by module and class name: Call, CallLeg, CallTransition).
    """
    call = Call(
        id=new_id(),
        tenant_id=tenant_id,
        direction=Direction.INBOUND,
        state=CallState.NEW,
        caller=caller,
        callee=callee,
        in_network=in_network,
        member_id=member_id,
        started_at=utcnow(),
    )
    session.add(call)
    leg = CallLeg(
        tenant_id=tenant_id,
        call_id=call.id,
        channel_id=channel_id,
        role=LegRole.CALLER,
        endpoint=endpoint,
        # Every column a callee leg sets, so the flush inserts all legs in one statement.
        step=0,
        state=LegState.RINGING,
    )
    session.add(leg)
    if flush:
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
    leg.answered_at = now
    # A click-to-call's agent leg (the caller) answered before the customer did.
    caller_leg.answered_at = caller_leg.answered_at or now
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
    session: AsyncSession,
    call: Call,
    disposition: Disposition,
    reason: str,
    *,
    legs: Sequence[CallLeg] | None = None,
    directory: tuple[PlanView, Sequence[MemberView]] | None = None,
) -> None:
    """End the call once: write its CDR and publish missed (if never answered) and ended.

    ``legs``: every leg of the call, and ``directory``: the plan and members the call was
    routed with, when the caller holds them (else they are read).
    """
    if call.state is CallState.ENDED:
        return
    now = utcnow()
    call.ended_at = now
    call.disposition = disposition
    call.end_reason = reason
    transition(session, call, CallState.ENDED, reason)
    for leg in legs if legs is not None else await legs_of(session, call.id):
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
        directory=directory,
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


# ------------------------------------------------------------------ click-to-call


def click_leg(call_id: uuid.UUID) -> str:
    """The channel id of a click-to-call's first leg (the agent's phone)."""
    return f"c2c-{call_id}"


async def request_click_to_call(
    session: AsyncSession,
    actor: Principal,
    data: ClickToCallIn,
    *,
    label: str | None = None,
    field: str = "to",
    commit: bool = True,
) -> Call:
    """Record a click-to-call; a Stasis app places it (agent first, then the customer).

    The one back end of click-to-call: `POST /api/v1/calls` and the console's agent dial
    (which passes the agent's name as ``label`` for the call's `agent`, follows the call
    through the Stasis app's agent hook, and commits itself).

    The call is billed like one the member dialled: caller = the agent's short number when the
    agent is a member, so the CDR names the payer and in-network rates apply to members.
    """
    named = [k for k in ("endpoint", "member_id", "user_id") if getattr(data, k) is not None]
    if len(named) != 1:
        raise InvalidInput(
            "name the agent's phone with exactly one of endpoint, member_id or user_id",
            field=named[1] if named else "member_id",
        )
    plan = await vpmn.plan_view(session)
    members = [vpmn.member_view(m) for m in await vpmn.list_members(session)]
    member, endpoint = await _agent_phone(session, plan, members, data)
    caller = member.short_number if member else endpoint
    resolution = resolve(plan, members, caller=caller, dialled=data.to)
    if resolution.action is Action.ANNOUNCE or not resolution.targets:
        raise InvalidInput(
            f"{data.to!r} is neither a phone number nor a member's short number", field=field
        )
    call = Call(
        tenant_id=actor.tenant_id,
        direction=Direction.OUTBOUND,
        state=CallState.NEW,
        caller=caller,
        callee=resolution.dialled,
        in_network=resolution.in_network,
        member_id=member.id if member else None,
        agent=label or endpoint,
    )
    session.add(call)
    await session.flush()
    # The agent's leg is named now, with the phone to ring: the Stasis app places it from here.
    session.add(
        CallLeg(
            tenant_id=call.tenant_id,
            call_id=call.id,
            channel_id=click_leg(call.id),
            role=LegRole.CALLER,
            endpoint=endpoint,
            state=LegState.RINGING,
        )
    )
    audit.record(
        session,
        actor,
        "calls.click_to_call",
        "call",
        call.id,
        {"agent": endpoint, "to": resolution.dialled},
    )
    if commit:
        await session.commit()
    return call


async def _agent_phone(
    session: AsyncSession, plan: PlanView, members: list[MemberView], data: ClickToCallIn
) -> tuple[MemberView | None, str]:
    """(the agent as a member if they are one, the endpoint to ring first)."""
    if data.endpoint is not None:
        endpoint = desk_endpoint(data.endpoint.strip())
        return find_member(plan, members, endpoint), endpoint
    if data.member_id is not None:
        member = next((m for m in members if m.id == data.member_id), None)
        if member is None:
            raise InvalidInput("no such member", field="member_id")
    else:
        user = await session.get(User, data.user_id)
        if user is None:
            raise InvalidInput("no such user", field="user_id")
        if not user.mobile:
            raise InvalidInput("the user has no mobile number to ring", field="user_id")
        member = find_member(plan, members, user.mobile)
        if member is None:
            return None, plan.trunk_endpoint.format(number=user.mobile)
    targets = member_targets(plan, member)
    if not targets:
        raise InvalidInput("the member has no phone to ring", field="member_id")
    return member, targets[0].endpoint  # the desk first, as the member's own ringing does


async def pending_click_to_calls(session: AsyncSession, limit: int = 50) -> list[Call]:
    """Requested click-to-calls not yet placed (an unscoped session sees every tenant's)."""
    q = (
        select(Call)
        .where(Call.direction == Direction.OUTBOUND, Call.state == CallState.NEW)
        .order_by(Call.started_at)
        .limit(limit)
    )
    return list(await session.scalars(q))


async def claim_click_to_call(session: AsyncSession, call: Call) -> str | None:
    """Take a requested call for this Stasis app: the agent's endpoint to ring, or None when
    another app took it first."""
    claimed = await session.execute(
        update(Call)
        .where(Call.id == call.id, Call.state == CallState.NEW)
        .values(state=CallState.CONNECTING)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return None
    legs = await legs_of(session, call.id)
    agent = next(leg for leg in legs if leg.role is LegRole.CALLER)
    session.add(
        CallTransition(
            tenant_id=call.tenant_id,
            call_id=call.id,
            from_state=CallState.NEW,
            to_state=CallState.CONNECTING,
            reason=f"calling the agent on {agent.endpoint}",
        )
    )
    call.state = CallState.CONNECTING
    await session.flush()
    return agent.endpoint


def mark_agent_answered(leg: CallLeg) -> None:
    leg.state = LegState.UP
    leg.answered_at = utcnow()
