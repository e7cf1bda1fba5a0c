"""Approval use cases: chains per kind, requests that walk their steps, one decision per step
from whichever channel (API, signed link, SMS reply) gets there first."""

from __future__ import annotations

import logging
import secrets
import uuid

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from comms.auth.models import Role, User
from comms.auth.principal import Principal
from comms.bus import publish
from comms.db.base import utcnow
from comms.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from comms.messages.queries import newest_first_page
from comms.settings import Settings
from erp.approvals import notify
from erp.approvals.events import ApprovalDecided, ApprovalRequested
from erp.approvals.models import (
    ApprovalDecision,
    ApprovalKind,
    ApprovalRequest,
    ApprovalStep,
    ChainStep,
    Decision,
    DecisionChannel,
    RequestStatus,
    StepStatus,
)
from erp.approvals.schemas import ChainIn, RequestIn

log = logging.getLogger(__name__)


class AlreadyDecided(Conflict):
    """The step was decided already (by another approver or channel)."""


async def set_chain(s: AsyncSession, body: ChainIn) -> list[ChainStep]:
    """Replace the tenant's chain for one kind; requests already made keep their steps."""
    for i, st in enumerate(body.steps):
        if (st.role is None) == (st.user_id is None):
            raise InvalidInput(
                f"steps[{i}]: name exactly one of role and user_id", field=f"steps[{i}]"
            )
        if st.user_id is not None and await s.get(User, st.user_id) is None:
            raise InvalidInput(f"steps[{i}].user_id: no such user", field=f"steps[{i}].user_id")
    await s.execute(delete(ChainStep).where(ChainStep.kind == body.kind))
    rows = [
        ChainStep(
            kind=body.kind,
            position=i,
            min_amount=st.min_amount,
            role=None if st.role is None else st.role.value,
            user_id=st.user_id,
        )
        for i, st in enumerate(body.steps)
    ]
    s.add_all(rows)
    await s.flush()
    return rows


async def chains(s: AsyncSession) -> dict[ApprovalKind, list[ChainStep]]:
    out: dict[ApprovalKind, list[ChainStep]] = {}
    for st in await s.scalars(select(ChainStep).order_by(ChainStep.kind, ChainStep.position)):
        out.setdefault(st.kind, []).append(st)
    return out


async def approvers(s: AsyncSession, step: ApprovalStep) -> list[User]:
    """Active users of the step's role in the tenant, or its named user."""
    q = select(User).where(User.is_active.is_(True)).order_by(User.email)
    if step.user_id is not None:
        q = q.where(User.id == step.user_id)
    else:
        q = q.where(User.role == Role(step.role or ""))
    return list(await s.scalars(q))


async def _user(s: AsyncSession, user_id: uuid.UUID) -> User:
    u = await s.get(User, user_id)
    assert u is not None
    return u


async def _new_code(s: AsyncSession) -> str:
    """Four digits no other pending step of the tenant uses, so a reply names one step."""
    taken = set(
        await s.scalars(select(ApprovalStep.code).where(ApprovalStep.status == StepStatus.PENDING))
    )
    for _ in range(200):
        code = f"{secrets.randbelow(10000):04d}"
        if code not in taken:
            return code
    raise Conflict("too many pending approvals to issue a reply code", field="kind")


async def create_request(
    s: AsyncSession, settings: Settings, requester_id: uuid.UUID, body: RequestIn, ttl: int
) -> ApprovalRequest:
    chain = [
        st
        for st in await s.scalars(
            select(ChainStep).where(ChainStep.kind == body.kind).order_by(ChainStep.position)
        )
    ]
    if not chain:
        raise InvalidInput(
            f"kind: no approval chain is configured for {body.kind.value}", field="kind"
        )
    r = ApprovalRequest(
        kind=body.kind,
        amount=body.amount,
        reason=body.reason,
        requester_id=requester_id,
        steps=[],
        decisions=[],
    )
    applying = [st for st in chain if body.amount >= st.min_amount]
    for n, st in enumerate(applying):
        r.steps.append(ApprovalStep(position=n, role=st.role, user_id=st.user_id))
    s.add(r)
    await s.flush()
    # The new row's requester is not loaded yet; async access must not lazy-load it.
    set_committed_value(r, "requester", await _user(s, requester_id))
    if not r.steps:
        # Below every threshold: nobody needs to look at it.
        r.status, r.decided_at = RequestStatus.APPROVED, utcnow()
        publish(s, ApprovalDecided.topic, _decided(r, None, Decision.APPROVE, "auto", None))
        return r
    await _start(s, settings, r, r.steps[0], ttl)
    return r


async def _start(
    s: AsyncSession, settings: Settings, r: ApprovalRequest, step: ApprovalStep, ttl: int
) -> None:
    step.status, step.code, step.started_at = StepStatus.PENDING, await _new_code(s), utcnow()
    await s.flush()
    people = await approvers(s, step)
    if not people:
        log.warning("approval %s step %d has no approver (role %s)", r.id, step.position, step.role)
    for person in people:
        await notify.notify_approver(s, settings, r, step, person, ttl)
    publish(
        s,
        ApprovalRequested.topic,
        ApprovalRequested(
            request_id=r.id,
            kind=r.kind.value,
            amount=r.amount,
            reason=r.reason,
            requester_id=r.requester_id,
            step=step.position + 1,
            steps=len(r.steps),
            approver_ids=[p.id for p in people],
            summary=(
                f"Approval needed (step {step.position + 1}/{len(r.steps)}): "
                f"{notify.describe(r)} from {r.requester_name}"
            ),
        ),
    )


def current_step(r: ApprovalRequest) -> ApprovalStep | None:
    return next((st for st in r.steps if st.status is StepStatus.PENDING), None)


async def get_request(s: AsyncSession, request_id: uuid.UUID) -> ApprovalRequest:
    r = await s.get(ApprovalRequest, request_id)
    if r is None:
        raise NotFound("approval request not found")
    return r


async def decide(
    s: AsyncSession,
    settings: Settings,
    r: ApprovalRequest,
    step: ApprovalStep,
    approver_id: uuid.UUID,
    decision: Decision,
    channel: DecisionChannel,
    ttl: int,
    note: str = "",
) -> ApprovalDecision:
    """Record the decision, then advance (approve) or end (reject) the request.

    The step moves out of `pending` in one conditional UPDATE, so two channels racing for
    one step cannot both decide it: the loser gets AlreadyDecided."""
    if approver_id not in {u.id for u in await approvers(s, step)}:
        raise PermissionDenied("you are not an approver of this step", field="decision")
    now = utcnow()
    to = StepStatus.APPROVED if decision is Decision.APPROVE else StepStatus.REJECTED
    won = await s.execute(
        update(ApprovalStep)
        .where(ApprovalStep.id == step.id, ApprovalStep.status == StepStatus.PENDING)
        .values(status=to, decided_at=now)
        .returning(ApprovalStep.id)
        .execution_options(synchronize_session=False)
    )
    if won.one_or_none() is None:
        raise AlreadyDecided("this approval step was decided already", field="decision")
    step.status, step.decided_at = to, now
    row = ApprovalDecision(
        request_id=r.id,
        step_id=step.id,
        position=step.position,
        approver_id=approver_id,
        decision=decision,
        channel=channel,
        note=note,
        at=now,
    )
    r.decisions.append(row)
    following = [st for st in r.steps if st.status is StepStatus.WAITING]
    if decision is Decision.REJECT:
        r.status, r.decided_at = RequestStatus.REJECTED, now
        for st in following:
            st.status = StepStatus.SKIPPED
    elif not following:
        r.status, r.decided_at = RequestStatus.APPROVED, now
    await s.flush()
    event = _decided(r, step, decision, channel.value, approver_id)
    publish(s, ApprovalDecided.topic, event)
    await notify.notify_requester(s, settings, r, r.requester, event.summary)
    if decision is Decision.APPROVE and following:
        await _start(s, settings, r, following[0], ttl)
    return row


def _decided(
    r: ApprovalRequest,
    step: ApprovalStep | None,
    decision: Decision,
    channel: str,
    approver_id: uuid.UUID | None,
) -> ApprovalDecided:
    final = r.status is not RequestStatus.PENDING
    n = 0 if step is None else step.position + 1
    verb = "approved" if decision is Decision.APPROVE else "rejected"
    if step is None:
        summary = f"Your {notify.describe(r)} is approved (no approval needed for this amount)"
    elif final:
        summary = f"Your {notify.describe(r)} is {r.status.value} (step {n}/{len(r.steps)} {verb})"
    else:
        summary = f"Your {notify.describe(r)}: step {n}/{len(r.steps)} {verb}, next step pending"
    return ApprovalDecided(
        request_id=r.id,
        kind=r.kind.value,
        amount=r.amount,
        reason=r.reason,
        requester_id=r.requester_id,
        step=n,
        steps=len(r.steps),
        decision=decision.value,
        channel=channel,
        approver_id=approver_id,
        status=r.status.value,
        final=final,
        summary=summary,
    )


async def pending_steps_by_code(s: AsyncSession, code: str) -> list[ApprovalStep]:
    """Pending steps with this reply code: one, unless two requests raced for the same code."""
    q = select(ApprovalStep).where(
        ApprovalStep.code == code, ApprovalStep.status == StepStatus.PENDING
    )
    return list(await s.scalars(q))


async def list_requests(
    s: AsyncSession,
    status: RequestStatus | None,
    limit: int,
    cursor: str | None = None,
    awaiting: Principal | None = None,
) -> tuple[list[ApprovalRequest], str | None]:
    """Newest first; with `awaiting` (a signed-in user, so active), only requests whose current
    step that user may decide now (as `approvers`: the step's named user, else its role)."""
    q = select(ApprovalRequest)
    if status is not None:
        q = q.where(ApprovalRequest.status == status)
    if awaiting is not None:
        mine = or_(
            ApprovalStep.user_id == awaiting.user_id,
            and_(ApprovalStep.user_id.is_(None), ApprovalStep.role == awaiting.role.value),
        )
        q = q.join(ApprovalStep, ApprovalStep.request_id == ApprovalRequest.id).where(
            ApprovalStep.status == StepStatus.PENDING, mine
        )
    return await newest_first_page(
        s, q, ApprovalRequest.created_at, ApprovalRequest.id, limit=limit, cursor=cursor
    )
