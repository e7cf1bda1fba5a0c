"""Call control of an agent's current queue call from the API: hold, mute, hang up, transfer,
and supervisor listen / whisper / barge.

These are ARI REST requests any process may send (Asterisk does not tie them to the Stasis
app's WebSocket). What changes the call's shape after the agent leaves — a transfer — is
written on the queue call first and carried out by the Stasis app when the agent's leg ends,
so the app that owns the caller's channel stays the one that moves it.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.auth.principal import Principal
from comms.errors import Conflict, InvalidInput
from telephony.ari import AriError
from telephony.callcentre import service
from telephony.callcentre.models import Agent, QueueCall
from telephony.callcentre.queueing import legs
from telephony.callcentre.schemas import MonitorIn, MonitorOut, TransferIn
from telephony.callcentre.state import AgentState, EntryState
from telephony.vpmn import service as vpmn
from telephony.vpmn.resolve import Action

ARI_SERVICE = "telephony.ari"  # hub.services key of the AriClient the API sends requests on
LEG_ARG = "leg"
# Consultation legs are named after the queue call, so the Stasis app can settle one that
# ends before the transfer completes without any shared memory with the API process.
CONSULT_PREFIX = "consult-"


class CallControl(Protocol):
    """The slice of AriClient call control needs (AriClient satisfies it)."""

    app: str
    channels: Any
    bridges: Any


async def current_call(session: AsyncSession, agent: Agent) -> QueueCall:
    entry = await session.scalar(
        select(QueueCall).where(
            QueueCall.agent_id == agent.id,
            QueueCall.state == EntryState.ANSWERED,
            QueueCall.ended_at.is_(None),
        )
    )
    if entry is None:
        raise Conflict("the agent has no call in progress", field="agent")
    return entry


def agent_leg(entry: QueueCall) -> str:
    return next(iter(legs(entry)))


async def _ari(request: Any) -> None:
    try:
        await request
    except AriError as exc:
        raise Conflict(f"the call changed meanwhile: {exc}", field="call") from None


async def hold(ari: CallControl, session: AsyncSession, agent: Agent, on: bool) -> QueueCall:
    """Put the caller on hold (ARI hold: the caller's side plays its music on hold)."""
    entry = await current_call(session, agent)
    if on:
        await _ari(ari.channels.hold(entry.channel_id))
    else:
        await _ari(ari.channels.unhold(entry.channel_id))
    entry.extra = {**entry.extra, "held": on}
    await session.commit()
    return entry


async def mute(ari: CallControl, session: AsyncSession, agent: Agent, on: bool) -> QueueCall:
    """Mute the agent's microphone towards the caller (direction "in" on the agent's leg)."""
    entry = await current_call(session, agent)
    leg = agent_leg(entry)
    if on:
        await _ari(ari.channels.mute(leg, "in"))
    else:
        await _ari(ari.channels.unmute(leg, "in"))
    entry.extra = {**entry.extra, "muted": on}
    await session.commit()
    return entry


async def hangup(ari: CallControl, session: AsyncSession, agent: Agent) -> QueueCall:
    entry = await current_call(session, agent)
    await _ari(ari.channels.hangup(agent_leg(entry), "normal"))
    return entry


async def transfer(
    ari: CallControl, session: AsyncSession, agent: Agent, data: TransferIn
) -> QueueCall:
    """Blind transfer: the caller goes to another queue or agent when the agent's leg ends
    (attended transfers are consult.py's)."""
    entry = await current_call(session, agent)
    if "consult" in entry.extra:
        raise Conflict("a consultation is in progress: complete or cancel it", field="kind")
    target: dict[str, str] = {}
    if data.queue_id is not None:
        await service.get_queue_or_field(session, data.queue_id, "queue_id")
        target = {"queue_id": str(data.queue_id)}
    elif data.agent_id is not None:
        other = await _free_agent(session, agent, data.agent_id)
        target = {"agent_id": str(other.id)}
    elif data.number is not None:
        resolution = await vpmn.resolve_dial(session, caller=entry.caller, dialled=data.number)
        if resolution.action is Action.ANNOUNCE or not resolution.targets:
            raise InvalidInput(
                f"{data.number!r} is not a number this tenant can call", field="number"
            )
        target = {"number": data.number}
    entry.extra = {**entry.extra, "transfer": {"kind": "blind", "by": str(agent.id), **target}}
    await session.commit()
    await _ari(ari.channels.hangup(agent_leg(entry), "normal"))
    return entry


async def _free_agent(session: AsyncSession, agent: Agent, other_id: uuid.UUID) -> Agent:
    other = await session.get(Agent, other_id)
    if other is None:
        raise InvalidInput(f"no agent {other_id}", field="agent_id")
    if other.id == agent.id:
        raise InvalidInput("an agent cannot transfer a call to themself", field="agent_id")
    if other.state is not AgentState.AVAILABLE:
        raise Conflict(f"that agent is {other.state.value}", field="agent_id")
    return other


async def monitor(
    ari: CallControl, session: AsyncSession, actor: Principal, agent_id: uuid.UUID, data: MonitorIn
) -> MonitorOut:
    """Ring the supervisor's endpoint into the agent's call: listen, whisper or barge."""
    agent = await service.get_agent(session, agent_id)
    entry = await current_call(session, agent)
    leg = agent_leg(entry)
    supervisor = f"mon-{uuid.uuid4().hex}"
    snoop_id = None
    if data.mode == "barge":
        bridge_id = entry.bridge_id or f"cc-{entry.id}"
    else:
        # Listen hears both sides; whisper also speaks to the agent only ("out" of the snoop
        # towards the agent's channel), which the caller never hears.
        snoop_id = f"snoop-{uuid.uuid4().hex}"
        bridge_id = f"mon-{uuid.uuid4().hex}"
        await _ari(
            ari.channels.snoop(
                leg,
                ari.app,
                spy="both",
                whisper="out" if data.mode == "whisper" else None,
                app_args=LEG_ARG,
                snoop_id=snoop_id,
            )
        )
        await _ari(ari.bridges.create("mixing", bridge_id=bridge_id))
        await _ari(ari.bridges.add_channel(bridge_id, [snoop_id]))
    await _ari(ari.channels.create(data.endpoint, ari.app, app_args=LEG_ARG, channel_id=supervisor))
    await _ari(ari.bridges.add_channel(bridge_id, [supervisor]))
    await _ari(ari.channels.dial(supervisor, ring_timeout=30))
    monitors = [*entry.extra.get("monitors", []), {"mode": data.mode, "channel": supervisor}]
    entry.extra = {**entry.extra, "monitors": monitors}
    await session.commit()
    return MonitorOut(
        mode=data.mode,
        queue_call_id=entry.id,
        channel_id=supervisor,
        bridge_id=bridge_id,
        snoop_id=snoop_id,
    )
