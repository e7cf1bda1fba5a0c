"""Attended transfer from the API: consult an agent, a queue or a number, then complete or cancel.

The agent's leg moves into a consultation bridge (a channel is in one bridge at a time),
leaving the caller alone in the call's bridge with its music on hold. What is being consulted
is written on the queue call (`extra["consult"]`) before any ARI request, so the Stasis app can
settle a consultation that ends by itself without shared memory with this process:
- an agent or a number: a leg named `consult-<queue call id>-…` is rung into the bridge;
- a queue: a consultation entry waits in that queue (`extra["consult_for"]`, no channel of its
  own) and the ACD offers it like any caller; whoever answers is put into the bridge.
"""

from __future__ import annotations

import contextlib
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.base import utcnow
from comms.errors import Conflict, InvalidInput
from telephony.ari import AriError
from telephony.callcentre import queueing as qc
from telephony.callcentre import service
from telephony.callcentre.control import (
    CONSULT_PREFIX,
    LEG_ARG,
    CallControl,
    _ari,
    _free_agent,
    agent_leg,
    current_call,
)
from telephony.callcentre.models import Agent, QueueCall
from telephony.callcentre.schemas import TransferIn
from telephony.callcentre.state import AgentState, EntryState
from telephony.calls import service as calls
from telephony.vpmn import service as vpmn
from telephony.vpmn.resolve import Action


async def consult(
    ari: CallControl, session: AsyncSession, agent: Agent, data: TransferIn
) -> QueueCall:
    """Attended transfer, step 1: the caller hears music, the agent consults the target."""
    entry = await current_call(session, agent)
    if "consult" in entry.extra:
        raise Conflict("a consultation is already in progress", field="kind")
    queue = await service.get_queue(session, entry.queue_id)
    leg = agent_leg(entry)
    consult_bridge = f"consult-{uuid.uuid4().hex}"
    consult_leg = f"{CONSULT_PREFIX}{entry.id}-{uuid.uuid4().hex[:8]}"
    found: dict[str, str] = {"bridge": consult_bridge}
    ring: tuple[str, int] | None = None  # (endpoint, timeout) of a consultation leg
    if data.agent_id is not None:
        other = await _free_agent(session, agent, data.agent_id)
        service.move_agent(session, other, AgentState.RINGING, f"consulted by {agent.name}")
        found |= {"leg": consult_leg, "agent_id": str(other.id)}
        ring = (other.endpoint, queue.ring_timeout)
    elif data.number is not None:
        resolution = await vpmn.resolve_dial(session, caller=entry.caller, dialled=data.number)
        if resolution.action is Action.ANNOUNCE or not resolution.targets:
            raise InvalidInput(
                f"{data.number!r} is not a number this tenant can call", field="number"
            )
        target = resolution.targets[0]
        found |= {"leg": consult_leg, "number": resolution.dialled}
        ring = (target.endpoint, target.timeout)
        if entry.call_id is not None:
            call = await calls.get_call(session, entry.call_id)
            calls.add_callee_leg(session, call, consult_leg, target.endpoint, entry.offers + 1)
    else:
        assert data.queue_id is not None
        target_queue = await service.get_queue_or_field(session, data.queue_id, "queue_id")
        waiting = await qc.enter(
            session,
            target_queue,
            call_id=entry.call_id,
            # Not a channel: the consultation has none until an agent answers.
            channel_id=f"{CONSULT_PREFIX}{entry.id}-q{uuid.uuid4().hex[:8]}",
            caller=entry.caller,
            priority=entry.priority,
            now=utcnow(),
        )
        waiting.extra = {"consult_for": str(entry.id), "bridge": consult_bridge}
        found |= {"queue_id": str(target_queue.id), "entry_id": str(waiting.id)}
    entry.extra = {**entry.extra, "consult": found}
    await session.commit()
    call_bridge = entry.bridge_id or f"cc-{entry.id}"
    await _ari(ari.bridges.create("mixing", bridge_id=consult_bridge))
    await _ari(ari.bridges.add_channel(consult_bridge, [leg]))
    await _ari(ari.bridges.start_moh(call_bridge, queue.moh_class))
    if ring is None:
        # Waiting in a queue: the agent hears that queue's music until someone answers.
        await _ari(ari.bridges.start_moh(consult_bridge, queue.moh_class))
        return entry
    endpoint, timeout = ring
    await _ari(ari.channels.create(endpoint, ari.app, app_args=LEG_ARG, channel_id=consult_leg))
    await _ari(ari.bridges.add_channel(consult_bridge, [consult_leg]))
    await _ari(ari.channels.dial(consult_leg, caller=leg, ring_timeout=timeout))
    return entry


async def complete(ari: CallControl, session: AsyncSession, agent: Agent) -> QueueCall:
    """Attended transfer, step 2: the consulted party takes the caller; the agent leaves."""
    entry = await current_call(session, agent)
    found = entry.extra.get("consult")
    if not found:
        raise Conflict("no consultation in progress", field="kind")
    if "leg" not in found:
        raise Conflict("nobody in that queue has answered the consultation yet", field="kind")
    entry.extra = {**entry.extra, "transfer": {"kind": "attended", "by": str(agent.id), **found}}
    await session.commit()
    call_bridge = entry.bridge_id or f"cc-{entry.id}"
    await _ari(ari.bridges.stop_moh(call_bridge))
    await _ari(ari.bridges.add_channel(call_bridge, [found["leg"]]))
    await _ari(ari.channels.hangup(agent_leg(entry), "normal"))
    await _ari(ari.bridges.destroy(found["bridge"]))
    return entry


async def cancel(ari: CallControl, session: AsyncSession, agent: Agent) -> QueueCall:
    """Attended transfer abandoned: the consulted party is released, the agent is back."""
    entry = await current_call(session, agent)
    found = entry.extra.get("consult")
    if not found:
        raise Conflict("no consultation in progress", field="kind")
    extra = dict(entry.extra)
    extra.pop("consult")
    entry.extra = extra
    hangups = [found["leg"]] if "leg" in found else []
    if "agent_id" in found and "entry_id" not in found:
        other = await session.get(Agent, uuid.UUID(found["agent_id"]))
        if other is not None and other.state is AgentState.RINGING:
            service.move_agent(session, other, AgentState.AVAILABLE, "consultation cancelled")
    if "entry_id" in found:
        hangups += await _leave_queue(session, uuid.UUID(found["entry_id"]))
    await session.commit()
    call_bridge = entry.bridge_id or f"cc-{entry.id}"
    await _ari(ari.bridges.add_channel(call_bridge, [agent_leg(entry)]))
    await _ari(ari.bridges.stop_moh(call_bridge))
    # The consulted party may have hung up already.
    for leg in hangups:
        with contextlib.suppress(AriError):
            await ari.channels.hangup(leg, "normal")
    with contextlib.suppress(AriError):
        await ari.bridges.destroy(found["bridge"])
    return entry


async def _leave_queue(session: AsyncSession, entry_id: uuid.UUID) -> list[str]:
    """A queue consultation nobody answered leaves the queue; returns offer legs to hang up.

    An answered one is left to the Stasis app: hanging up the consulted agent's leg ends it
    there (that agent goes to wrap-up) as any answered queue call.
    """
    waiting = await session.get(QueueCall, entry_id)
    if waiting is None or waiting.state not in (EntryState.WAITING, EntryState.OFFERED):
        return []
    offered = qc.legs(waiting)
    ringing = [a for a in [await session.get(Agent, uuid.UUID(x)) for x in offered.values()] if a]
    qc.abandoned(session, waiting, utcnow())
    qc.release_ringing(session, ringing, utcnow(), "consultation cancelled")
    return list(offered)
