"""Call-centre routes: queues, agents, agent self-service, queue calls and stats (thin)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import select

from comms.db.base import utcnow
from comms.deps import AdminDep, AgentDep, HubDep, SessionDep, SupervisorDep, ViewerDep
from comms.errors import Conflict
from comms.hub import Hub
from telephony.ari import AriClient
from telephony.callcentre import agent_dial, consult, control, service, stats
from telephony.callcentre.models import QueueCall
from telephony.callcentre.queueing import WAITING, position
from telephony.callcentre.schemas import (
    AgentIn,
    AgentOut,
    AgentUpdate,
    DialIn,
    DialOut,
    EntryOut,
    IntervalOut,
    MonitorIn,
    MonitorOut,
    QueueCallOut,
    QueueIn,
    QueueOut,
    QueueUpdate,
    StateIn,
    StatsOut,
    TransferIn,
    TransitionOut,
    WrapupIn,
)
from telephony.callcentre.state import OPEN_ENTRY
from telephony.settings import TelephonySettings

router = APIRouter(prefix="/api/v1/callcentre", tags=["callcentre"])

# ------------------------------------------------------------------ queues


@router.get("/queues", response_model=list[QueueOut])
async def list_queues(actor: ViewerDep, s: SessionDep) -> object:
    return await service.list_queues(s)


@router.post("/queues", response_model=QueueOut, status_code=status.HTTP_201_CREATED)
async def create_queue(data: QueueIn, actor: AdminDep, s: SessionDep) -> object:
    return await service.create_queue(s, actor, data)


@router.get("/queues/{queue_id}", response_model=QueueOut)
async def get_queue(queue_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    return await service.get_queue(s, queue_id)


@router.patch("/queues/{queue_id}", response_model=QueueOut)
async def update_queue(
    queue_id: uuid.UUID, data: QueueUpdate, actor: AdminDep, s: SessionDep
) -> object:
    return await service.update_queue(s, actor, queue_id, data)


@router.delete("/queues/{queue_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_queue(queue_id: uuid.UUID, actor: AdminDep, s: SessionDep) -> Response:
    await service.delete_queue(s, actor, queue_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/queues/{queue_id}/entries", response_model=list[EntryOut])
async def queue_entries(queue_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    queue = await service.get_queue(s, queue_id)
    rows = await s.scalars(
        select(QueueCall)
        .where(QueueCall.queue_id == queue.id, QueueCall.state.in_(OPEN_ENTRY))
        .order_by(QueueCall.priority.desc(), QueueCall.entered_at)
    )
    out = []
    for row in rows:
        entry = EntryOut.model_validate(row)
        entry.position = await position(s, row) if row.state in WAITING else 0
        out.append(entry)
    return out


@router.get("/queues/{queue_id}/stats", response_model=StatsOut)
async def queue_stats(
    queue_id: uuid.UUID, actor: ViewerDep, s: SessionDep, since: datetime | None = None
) -> object:
    queue = await service.get_queue(s, queue_id)
    return await stats.live(s, queue, utcnow(), since)


@router.get(
    "/queues/{queue_id}/stats/intervals",
    response_model=list[IntervalOut],
    responses={200: {"content": {"text/csv": {}}}},
)
async def queue_intervals(
    queue_id: uuid.UUID,
    actor: ViewerDep,
    s: SessionDep,
    size: Literal["15m", "1h", "1d"] = "1h",
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    format: Literal["json", "csv"] = "json",
) -> object:
    queue = await service.get_queue(s, queue_id)
    end = end or utcnow()
    start = start or (end - timedelta(days=1))
    rows = await stats.intervals(s, queue, size, _aware(start), _aware(end))
    if format == "csv":
        return Response(stats.to_csv(rows), media_type="text/csv")
    return rows


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@router.get("/queue-calls", response_model=list[QueueCallOut])
async def queue_calls(
    actor: ViewerDep,
    s: SessionDep,
    queue_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> object:
    q = select(QueueCall).order_by(QueueCall.entered_at.desc()).limit(limit)
    if queue_id is not None:
        q = q.where(QueueCall.queue_id == queue_id)
    return list(await s.scalars(q))


# ------------------------------------------------------------------ agent self-service


@router.get("/agents/me", response_model=AgentOut | None)
async def my_agent(actor: AgentDep, s: SessionDep) -> object:
    """The caller's agent profile; null for a user (or API key) that is not an agent."""
    agent = await service.find_agent_of_user(s, actor.user_id)
    return None if agent is None else await service.agent_out(s, agent)


@router.post("/agents/me/state", response_model=AgentOut)
async def my_state(data: StateIn, actor: AgentDep, s: SessionDep) -> object:
    agent = await service.agent_of_user(s, actor.user_id)
    await service.set_state(s, agent, data)
    return await service.agent_out(s, agent)


@router.post("/agents/me/wrapup", response_model=QueueCallOut)
async def my_wrapup(data: WrapupIn, actor: AgentDep, s: SessionDep) -> object:
    agent = await service.agent_of_user(s, actor.user_id)
    return await service.save_wrapup(s, agent, data)


# ------------------------------------------------------------------ agents (admin/supervisor)


@router.get("/agents", response_model=list[AgentOut])
async def list_agents(actor: ViewerDep, s: SessionDep) -> object:
    return [await service.agent_out(s, a) for a in await service.list_agents(s)]


@router.post("/agents", response_model=AgentOut, status_code=status.HTTP_201_CREATED)
async def create_agent(data: AgentIn, actor: AdminDep, s: SessionDep) -> object:
    return await service.agent_out(s, await service.create_agent(s, actor, data))


@router.get("/agents/{agent_id}", response_model=AgentOut)
async def get_agent(agent_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    return await service.agent_out(s, await service.get_agent(s, agent_id))


@router.patch("/agents/{agent_id}", response_model=AgentOut)
async def update_agent(
    agent_id: uuid.UUID, data: AgentUpdate, actor: AdminDep, s: SessionDep
) -> object:
    return await service.agent_out(s, await service.update_agent(s, actor, agent_id, data))


@router.delete("/agents/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_agent(agent_id: uuid.UUID, actor: AdminDep, s: SessionDep) -> Response:
    await service.delete_agent(s, actor, agent_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/agents/{agent_id}/state", response_model=AgentOut)
async def set_agent_state(
    agent_id: uuid.UUID, data: StateIn, actor: SupervisorDep, s: SessionDep
) -> object:
    agent = await service.get_agent(s, agent_id)
    await service.set_state(s, agent, data, by="supervisor")
    return await service.agent_out(s, agent)


@router.get("/agents/{agent_id}/transitions", response_model=list[TransitionOut])
async def agent_transitions(agent_id: uuid.UUID, actor: ViewerDep, s: SessionDep) -> object:
    agent = await service.get_agent(s, agent_id)
    return await service.transitions_of(s, agent.id)


# ------------------------------------------------------------------ call control


def control_of(hub: Hub) -> control.CallControl:
    """The AriClient this process sends call-control requests on (made once, from settings).

    Looked up after the agent and call are found, so a route answers 404/409 without ARI.
    """
    found = hub.services.get(control.ARI_SERVICE)
    if found is None:
        settings = TelephonySettings()
        found = AriClient(settings.ari_base_url, settings.ari_app)
        hub.services[control.ARI_SERVICE] = found
    ari: control.CallControl = found
    return ari


@router.post("/agents/me/transfer", response_model=QueueCallOut)
async def my_transfer(data: TransferIn, actor: AgentDep, s: SessionDep, hub: HubDep) -> object:
    agent = await service.agent_of_user(s, actor.user_id)
    await control.current_call(s, agent)
    if data.kind == "attended":
        return await consult.consult(control_of(hub), s, agent, data)
    return await control.transfer(control_of(hub), s, agent, data)


@router.post("/agents/me/transfer/{step}", response_model=QueueCallOut)
async def my_transfer_step(
    step: Literal["complete", "cancel"], actor: AgentDep, s: SessionDep, hub: HubDep
) -> object:
    """Finish an attended transfer: hand the caller over, or go back to them."""
    agent = await service.agent_of_user(s, actor.user_id)
    entry = await control.current_call(s, agent)
    if "consult" not in entry.extra:
        raise Conflict("no consultation in progress", field="step")
    if step == "complete":
        return await consult.complete(control_of(hub), s, agent)
    return await consult.cancel(control_of(hub), s, agent)


@router.post("/agents/me/call/dial", response_model=DialOut)
async def my_dial(data: DialIn, actor: AgentDep, s: SessionDep, hub: HubDep) -> object:
    """Click-to-dial: the agent's phone rings, then the number is called and bridged."""
    agent = await service.agent_of_user(s, actor.user_id)
    call = await agent_dial.dial(s, actor, agent, data.number)
    return DialOut(call_id=call.id)


@router.post("/agents/me/call/{action}", response_model=QueueCallOut)
async def my_call(
    action: Literal["hold", "resume", "mute", "unmute", "hangup"],
    actor: AgentDep,
    s: SessionDep,
    hub: HubDep,
) -> object:
    """Hold/resume the caller, mute/unmute the agent, or hang up the agent's current call."""
    agent = await service.agent_of_user(s, actor.user_id)
    await control.current_call(s, agent)
    ari = control_of(hub)
    if action in ("hold", "resume"):
        return await control.hold(ari, s, agent, action == "hold")
    if action in ("mute", "unmute"):
        return await control.mute(ari, s, agent, action == "mute")
    return await control.hangup(ari, s, agent)


@router.post("/agents/{agent_id}/monitor", response_model=MonitorOut)
async def monitor_agent(
    agent_id: uuid.UUID, data: MonitorIn, actor: SupervisorDep, s: SessionDep, hub: HubDep
) -> object:
    """Supervisor listen, whisper or barge on the agent's current call."""
    await control.current_call(s, await service.get_agent(s, agent_id))
    return await control.monitor(control_of(hub), s, actor, agent_id, data)
