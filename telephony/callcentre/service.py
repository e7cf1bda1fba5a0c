"""Call-centre use cases: queues, agents and the agent state machine (queue calls: queueing.py)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from comms.audit import service as audit
from comms.auth.models import User
from comms.auth.principal import Principal
from comms.bus.publish import publish
from comms.db.base import utcnow
from comms.errors import Conflict, InvalidInput, NotFound
from telephony.callcentre.events import AgentStateChanged
from telephony.callcentre.models import (
    Agent,
    AgentTransition,
    Membership,
    Overflow,
    Queue,
    QueueCall,
)
from telephony.callcentre.schemas import (
    AgentIn,
    AgentOut,
    AgentUpdate,
    QueueIn,
    QueueUpdate,
    StateIn,
    WebRtcIn,
    WrapupIn,
)
from telephony.callcentre.state import OPEN_ENTRY, AgentState, IllegalMove, check_agent_move

# ------------------------------------------------------------------ queues


async def list_queues(session: AsyncSession) -> list[Queue]:
    return list(await session.scalars(select(Queue).order_by(Queue.name)))


async def get_queue(session: AsyncSession, queue_id: uuid.UUID) -> Queue:
    queue = await session.get(Queue, queue_id)
    if queue is None:
        raise NotFound("queue not found")
    return queue


async def queue_by_name(session: AsyncSession, name: str) -> Queue | None:
    return await session.scalar(select(Queue).where(Queue.name == name))


async def queue_for_did(session: AsyncSession, dialled: str) -> Queue | None:
    """The queue a number goes straight to (a tenant has a handful of queues: a scan is fine)."""
    for queue in await list_queues(session):
        if dialled in queue.dids:
            return queue
    return None


async def _check_queue(session: AsyncSession, data: QueueIn, own_id: uuid.UUID | None) -> None:
    for name, level in data.skills.items():
        if level < 0:
            raise InvalidInput(f"skill {name!r} needs a level >= 0", field="skills")
    if data.overflow is Overflow.QUEUE:
        if data.overflow_queue_id is None:
            raise InvalidInput(
                "overflow to a queue needs overflow_queue_id", field="overflow_queue_id"
            )
        if data.overflow_queue_id == own_id:
            raise InvalidInput("a queue cannot overflow into itself", field="overflow_queue_id")
        await get_queue_or_field(session, data.overflow_queue_id, "overflow_queue_id")
    if data.overflow is Overflow.VOICEMAIL and not data.overflow_mailbox:
        raise InvalidInput("overflow to voicemail needs overflow_mailbox", field="overflow_mailbox")
    if data.overflow is not Overflow.NONE and data.max_wait is None and data.max_length is None:
        raise InvalidInput("overflow needs max_wait or max_length", field="overflow")


async def get_queue_or_field(session: AsyncSession, queue_id: uuid.UUID, field: str) -> Queue:
    queue = await session.get(Queue, queue_id)
    if queue is None:
        raise InvalidInput(f"no queue {queue_id}", field=field)
    return queue


async def create_queue(session: AsyncSession, actor: Principal, data: QueueIn) -> Queue:
    await _check_queue(session, data, None)
    queue = Queue(tenant_id=actor.tenant_id, **data.model_dump())
    session.add(queue)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(f"a queue named {data.name!r} exists", field="name") from None
    audit.record(
        session,
        actor,
        "callcentre.queue.create",
        "cc_queue",
        queue.id,
        data.model_dump(mode="json"),
    )
    await session.commit()
    return queue


async def update_queue(
    session: AsyncSession, actor: Principal, queue_id: uuid.UUID, data: QueueUpdate
) -> Queue:
    queue = await get_queue(session, queue_id)
    changes = data.model_dump(exclude_unset=True)
    merged = QueueIn.model_validate(
        {**QueueIn.model_validate(queue, from_attributes=True).model_dump(), **changes}
    )
    await _check_queue(session, merged, queue.id)
    for key, value in changes.items():
        setattr(queue, key, value)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(f"a queue named {data.name!r} exists", field="name") from None
    audit.record(
        session,
        actor,
        "callcentre.queue.update",
        "cc_queue",
        queue.id,
        data.model_dump(mode="json", exclude_unset=True),
    )
    await session.commit()
    return queue


async def delete_queue(session: AsyncSession, actor: Principal, queue_id: uuid.UUID) -> None:
    queue = await get_queue(session, queue_id)
    waiting = await session.scalar(
        select(QueueCall.id).where(QueueCall.queue_id == queue.id, QueueCall.state.in_(OPEN_ENTRY))
    )
    if waiting is not None:
        raise Conflict("callers are waiting in this queue", field="queue_id")
    await session.delete(queue)
    audit.record(session, actor, "callcentre.queue.delete", "cc_queue", queue_id)
    await session.commit()


# ------------------------------------------------------------------ agents


async def list_agents(session: AsyncSession) -> list[Agent]:
    return list(await session.scalars(select(Agent).order_by(Agent.name)))


async def get_agent(session: AsyncSession, agent_id: uuid.UUID) -> Agent:
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound("agent not found")
    return agent


async def find_agent_of_user(session: AsyncSession, user_id: uuid.UUID | None) -> Agent | None:
    if user_id is None:
        return None
    agent: Agent | None = await session.scalar(select(Agent).where(Agent.user_id == user_id))
    return agent


async def agent_of_user(session: AsyncSession, user_id: uuid.UUID | None) -> Agent:
    agent = await find_agent_of_user(session, user_id)
    if agent is None:
        raise NotFound("no agent profile for this user")
    return agent


async def queue_ids_of(session: AsyncSession, agent_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Membership.queue_id).where(Membership.agent_id == agent_id).order_by(Membership.id)
    )
    return list(rows)


async def agents_of_queue(session: AsyncSession, queue_id: uuid.UUID) -> list[Agent]:
    q = (
        select(Agent)
        .join(Membership, Membership.agent_id == Agent.id)
        .where(Membership.queue_id == queue_id)
    )
    return list(await session.scalars(q))


async def agent_out(session: AsyncSession, agent: Agent) -> AgentOut:
    out = AgentOut.model_validate(agent)
    out.queue_ids = await queue_ids_of(session, agent.id)
    return out


async def _set_memberships(session: AsyncSession, agent: Agent, queue_ids: list[uuid.UUID]) -> None:
    for qid in queue_ids:
        await get_queue_or_field(session, qid, "queue_ids")
    await session.execute(delete(Membership).where(Membership.agent_id == agent.id))
    for qid in dict.fromkeys(queue_ids):
        session.add(Membership(tenant_id=agent.tenant_id, agent_id=agent.id, queue_id=qid))


async def create_agent(session: AsyncSession, actor: Principal, data: AgentIn) -> Agent:
    user = await session.get(User, data.user_id)
    if user is None or user.tenant_id != actor.tenant_id:
        raise InvalidInput("no such user in this tenant", field="user_id")
    agent = Agent(
        tenant_id=actor.tenant_id,
        user_id=data.user_id,
        name=data.name,
        endpoint=data.endpoint,
        skills=data.skills,
    )
    if data.webrtc is not None:
        _set_webrtc(agent, data.webrtc)
    session.add(agent)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict("this user already has an agent profile", field="user_id") from None
    await _set_memberships(session, agent, data.queue_ids)
    audit.record(
        session,
        actor,
        "callcentre.agent.create",
        "cc_agent",
        agent.id,
        _audited(data.model_dump(mode="json")),
    )
    await session.commit()
    return agent


async def update_agent(
    session: AsyncSession, actor: Principal, agent_id: uuid.UUID, data: AgentUpdate
) -> Agent:
    agent = await get_agent(session, agent_id)
    changes = data.model_dump(exclude_unset=True)
    queue_ids = changes.pop("queue_ids", None)
    if "webrtc" in changes:
        changes.pop("webrtc")
        _set_webrtc(agent, data.webrtc)
    for key, value in changes.items():
        if value is None:
            raise InvalidInput(f"{key} cannot be null", field=key)
        setattr(agent, key, value)
    if queue_ids is not None:
        await _set_memberships(session, agent, queue_ids)
    audit.record(
        session,
        actor,
        "callcentre.agent.update",
        "cc_agent",
        agent.id,
        _audited(data.model_dump(mode="json", exclude_unset=True)),
    )
    await session.commit()
    return agent


async def delete_agent(session: AsyncSession, actor: Principal, agent_id: uuid.UUID) -> None:
    agent = await get_agent(session, agent_id)
    if agent.state in (AgentState.RINGING, AgentState.ON_CALL):
        raise Conflict("the agent is on a call", field="agent_id")
    await session.delete(agent)
    audit.record(session, actor, "callcentre.agent.delete", "cc_agent", agent_id)
    await session.commit()


def _audited(changes: dict[str, Any]) -> dict[str, Any]:
    """Audit what changed, never the SIP password."""
    if changes.get("webrtc"):
        changes["webrtc"] = {**changes["webrtc"], "password": "***"}
    return changes


def _set_webrtc(agent: Agent, data: WebRtcIn | None) -> None:
    agent.webrtc_wss_url = data.wss_url if data else None
    agent.webrtc_sip_uri = data.sip_uri if data else None
    agent.webrtc_password = data.password if data else None


async def agent_webrtc(session: AsyncSession, args: Mapping[str, str]) -> dict[str, str] | None:
    """Named query telephony.agent_webrtc {"user_id"}: the console's browser-audio account."""
    try:
        user_id = uuid.UUID(args["user_id"])
    except (KeyError, ValueError):
        return None
    agent = await find_agent_of_user(session, user_id)
    if agent is None or not (agent.webrtc_sip_uri and agent.webrtc_wss_url):
        return None
    return {
        "wss_url": agent.webrtc_wss_url,
        "sip_uri": agent.webrtc_sip_uri,
        "password": agent.webrtc_password or "",
        "display_name": agent.name,
    }


# ------------------------------------------------------------------ the agent state machine


def move_agent(
    session: AsyncSession,
    agent: Agent,
    target: AgentState,
    reason: str | None = None,
    *,
    now: datetime | None = None,
) -> None:
    """The one place an agent changes state: checked, recorded, published (same transaction)."""
    check_agent_move(agent.state, target)
    at = now or utcnow()
    before = agent.state
    session.add(
        AgentTransition(
            tenant_id=agent.tenant_id,
            agent_id=agent.id,
            from_state=before,
            to_state=target,
            reason=reason or "",
            at=at,
        )
    )
    agent.state = target
    agent.state_since = at
    agent.reason = reason if target in (AgentState.PAUSED, AgentState.NOT_READY) else None
    if target is AgentState.AVAILABLE:
        agent.idle_since = at
        agent.wrapup_until = None
    publish(
        session,
        AgentStateChanged.topic,
        AgentStateChanged(
            tenant_id=agent.tenant_id,
            agent_id=agent.id,
            user_id=agent.user_id,
            from_state=before.value,
            to_state=target.value,
            reason=reason,
            at=at,
        ),
        tenant_id=agent.tenant_id,
    )


async def set_state(session: AsyncSession, agent: Agent, data: StateIn, by: str = "agent") -> Agent:
    """An agent (or a supervisor) logs in, pauses, resumes or logs out."""
    target = AgentState(data.state)
    if target is agent.state and target is AgentState.PAUSED:
        agent.reason = data.reason  # a new reason code for the same break
    elif target is not agent.state:
        try:
            move_agent(session, agent, target, data.reason or by)
        except IllegalMove as exc:
            raise Conflict(str(exc), field="state") from None
        agent.reason = data.reason if target is AgentState.PAUSED else None
    await session.commit()
    return agent


async def transitions_of(session: AsyncSession, agent_id: uuid.UUID) -> list[AgentTransition]:
    q = select(AgentTransition).where(AgentTransition.agent_id == agent_id)
    return sorted(await session.scalars(q), key=lambda t: t.at)


async def finish_wrapups(session: AsyncSession, now: datetime) -> list[Agent]:
    """Agents whose wrap-up time is over become available (the Stasis app ticks this)."""
    due = list(
        await session.scalars(
            select(Agent).where(Agent.state == AgentState.WRAP_UP, Agent.wrapup_until <= now)
        )
    )
    for agent in due:
        move_agent(session, agent, AgentState.AVAILABLE, "wrap-up over", now=now)
    return due


async def save_wrapup(session: AsyncSession, agent: Agent, data: WrapupIn) -> QueueCall:
    """Wrap-up code and notes on the agent's last queue call."""
    last = await session.scalar(
        select(QueueCall)
        .where(QueueCall.agent_id == agent.id, QueueCall.answered_at.is_not(None))
        .order_by(QueueCall.answered_at.desc())
        .limit(1)
    )
    if last is None:
        raise NotFound("the agent has taken no queue call")
    last.wrapup_code = data.code
    last.notes = data.notes
    await session.commit()
    return last


def wrapup_deadline(now: datetime, seconds: int) -> datetime:
    return now + timedelta(seconds=seconds)
