"""Transfers as the Stasis app carries them out when the transferring agent's leg ends."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.tenancy import scoped_to, unscoped
from telephony.callcentre import queueing as qc
from telephony.callcentre import service
from telephony.callcentre.control import CONSULT_PREFIX
from telephony.callcentre.models import Agent, Queue, QueueCall
from telephony.callcentre.stasis_base import LEG_ARG, Binding, QueueCallsBase
from telephony.callcentre.state import AgentState, EntryState
from telephony.calls import service as calls
from telephony.vpmn import service as vpmn
from telephony.vpmn.models import Disposition


class QueueTransfers(QueueCallsBase):
    async def _transferred(
        self, s: AsyncSession, entry: QueueCall, transfer: dict[str, str], now: datetime
    ) -> tuple[QueueCall, Queue, uuid.UUID | None]:
        """A blind transfer the agent asked for (control.py): the caller queues again."""
        direct = uuid.UUID(transfer["agent_id"]) if "agent_id" in transfer else None
        queue_id = uuid.UUID(transfer["queue_id"]) if "queue_id" in transfer else entry.queue_id
        target = await s.get(Queue, queue_id) or await s.get(Queue, entry.queue_id)
        assert target is not None
        to = f"agent:{direct}" if direct else f"queue:{target.id}"
        qc.transferred(s, entry, "blind", to, now)
        moved = await qc.enter(
            s,
            target,
            call_id=entry.call_id,
            channel_id=entry.channel_id,
            caller=entry.caller,
            priority=entry.priority,
            now=now,
        )
        if entry.call_id is not None:
            call = await calls.get_call(s, entry.call_id)
            call.queue = target.name
        return moved, target, direct

    async def _handed_over(
        self, s: AsyncSession, entry: QueueCall, transfer: dict[str, str], now: datetime
    ) -> dict[str, Binding]:
        """An attended transfer completed: the consulted party owns the call from now.

        Returns the channels to bind to the call's new owner (none if the party is gone).
        """
        call = await calls.get_call(s, entry.call_id) if entry.call_id is not None else None
        if "number" in transfer:
            # The consultation leg to the number stays in the call's bridge with the caller.
            qc.transferred(s, entry, "attended", f"number:{transfer['number']}", now)
            entry.extra = {**entry.extra, "external": transfer["leg"]}
            if call is not None:
                call.agent, call.callee = None, transfer["number"]
            return {transfer["leg"]: Binding(entry.tenant_id, entry.id, "external")}
        if "entry_id" in transfer:
            taken = await self._queue_took(s, entry, transfer, now)
        else:
            taken = await self._agent_took(s, entry, transfer, now)
        if taken is None:
            return {}
        agent = await s.get(Agent, taken.agent_id) if taken.agent_id else None
        if call is not None and agent is not None:
            call.agent = agent.name
        found = {taken.channel_id: Binding(entry.tenant_id, taken.id, "caller")}
        for leg in qc.legs(taken):
            found[leg] = Binding(entry.tenant_id, taken.id, "agent")
        return found

    async def _agent_took(
        self, s: AsyncSession, entry: QueueCall, transfer: dict[str, str], now: datetime
    ) -> QueueCall | None:
        other = await s.get(Agent, uuid.UUID(transfer["agent_id"]))
        queue = await s.get(Queue, entry.queue_id)
        if other is None or queue is None or other.state is not AgentState.RINGING:
            return None
        qc.transferred(s, entry, "attended", f"agent:{other.id}", now)
        taken = await qc.enter(
            s,
            queue,
            call_id=entry.call_id,
            channel_id=entry.channel_id,
            caller=entry.caller,
            priority=entry.priority,
            now=now,
        )
        qc.move_entry(taken, EntryState.OFFERED)
        taken.offered_at = now
        taken.offers = 1
        taken.extra = {"legs": {transfer["leg"]: str(other.id)}}
        qc.answered(s, taken, other, entry.bridge_id or f"cc-{entry.id}", now)
        return taken

    async def _queue_took(
        self, s: AsyncSession, entry: QueueCall, transfer: dict[str, str], now: datetime
    ) -> QueueCall | None:
        """The consultation entry answered in the other queue becomes the caller's."""
        taken = await s.get(QueueCall, uuid.UUID(transfer["entry_id"]))
        if taken is None or taken.state is not EntryState.ANSWERED or taken.ended_at is not None:
            return None
        qc.transferred(s, entry, "attended", f"queue:{taken.queue_id}", now)
        taken.channel_id = entry.channel_id
        taken.bridge_id = entry.bridge_id or f"cc-{entry.id}"
        taken.extra = {"legs": qc.legs(taken), "consulted_from": str(entry.id)}
        queue = await s.get(Queue, taken.queue_id)
        if entry.call_id is not None and queue is not None:
            call = await calls.get_call(s, entry.call_id)
            call.queue = queue.name
        return taken

    async def _consult_taken(
        self,
        s: AsyncSession,
        entry: QueueCall,
        queue: Queue,
        agent: Agent,
        others: list[Agent],
        leg_id: str,
        now: datetime,
    ) -> None:
        """An agent of the queue answered a consultation: into the consulting agent's bridge."""
        bridge = str(entry.extra["bridge"])
        qc.answered(s, entry, agent, bridge, now)
        qc.release_ringing(s, others, now, "answered by another agent")
        entry.extra = {**entry.extra, "legs": {leg_id: str(agent.id)}}
        origin = await s.get(QueueCall, uuid.UUID(entry.extra["consult_for"]))
        found = origin.extra.get("consult") if origin is not None else None
        live = (
            origin is not None
            and found is not None
            and found.get("entry_id") == str(entry.id)
            and origin.ended_at is None
        )
        if origin is not None and found is not None and live:
            consult = {**found, "leg": leg_id, "agent_id": str(agent.id)}
            origin.extra = {**origin.extra, "consult": consult}
        await qc.publish_stats(s, queue, now)
        await s.commit()
        if not live:
            # Cancelled (or the caller left) while this agent picked up.
            await self._safely(self.ari.channels.hangup(leg_id, "normal"))
            return
        await self._safely(self.ari.bridges.stop_moh(bridge))
        await self._safely(self.ari.bridges.add_channel(bridge, [leg_id]))

    async def _consult_over(self, s: AsyncSession, entry: QueueCall) -> tuple[str, str, str] | None:
        """The agent who took a queue consultation hung up before the transfer completed:
        returns (call bridge, consulting agent's leg, consultation bridge) to go back."""
        origin = await s.get(QueueCall, uuid.UUID(entry.extra["consult_for"]))
        found = origin.extra.get("consult") if origin is not None else None
        if origin is None or not found or found.get("entry_id") != str(entry.id):
            return None  # cancelled already
        if origin.extra.get("transfer") or origin.ended_at is not None:
            return None
        extra = dict(origin.extra)
        extra.pop("consult")
        origin.extra = extra
        return origin.bridge_id or f"cc-{origin.id}", next(iter(qc.legs(origin))), found["bridge"]

    async def _back_to_caller(self, call_bridge: str, agent_leg: str, consult_bridge: str) -> None:
        await self._safely(self.ari.bridges.add_channel(call_bridge, [agent_leg]))
        await self._safely(self.ari.bridges.stop_moh(call_bridge))
        await self._safely(self.ari.bridges.destroy(consult_bridge))

    async def _drop_consult(self, s: AsyncSession, entry: QueueCall, now: datetime) -> list[str]:
        """The caller hung up during a consultation: release whoever was consulted.

        Returns the legs to hang up (the consultation bridge is destroyed here)."""
        found = entry.extra.get("consult")
        if not found or entry.extra.get("transfer"):
            return []
        hangups = [found["leg"]] if "leg" in found else []
        if "entry_id" in found:
            waiting = await s.get(QueueCall, uuid.UUID(found["entry_id"]))
            if waiting is not None and waiting.state in (EntryState.WAITING, EntryState.OFFERED):
                offered = qc.legs(waiting)
                ringing = [await s.get(Agent, uuid.UUID(a)) for a in offered.values()]
                qc.abandoned(s, waiting, now)
                qc.release_ringing(s, [a for a in ringing if a], now, "caller hung up")
                hangups += list(offered)
        elif "agent_id" in found:
            other = await s.get(Agent, uuid.UUID(found["agent_id"]))
            if other is not None and other.state is AgentState.RINGING:
                service.move_agent(s, other, AgentState.AVAILABLE, "caller hung up", now=now)
        await self._safely(self.ari.bridges.destroy(found["bridge"]))
        return hangups

    async def _consult_gone(self, channel_id: str, event: dict[str, Any]) -> None:
        """A consultation leg ended before its transfer completed: back to the caller."""
        entry_id = channel_id.removeprefix(CONSULT_PREFIX)[:36]
        try:
            parsed = uuid.UUID(entry_id)
        except ValueError:
            return
        now = self.clock()
        async with self.db.session() as s:
            unscoped(s)
            entry = await s.get(QueueCall, parsed)
            found = entry.extra.get("consult") if entry is not None else None
            if entry is None or not found or found.get("leg") != channel_id:
                return
            if entry.extra.get("transfer") and entry.ended_at is None:
                # Completed, and the hand-over (the agent's leg ending) not yet seen here:
                # the party left first; _leg_gone settles it once the leg is the call's.
                self.vanished.add(channel_id)
                return
            if entry.extra.get("transfer") or entry.ended_at is not None:
                return  # the leg lives on as the call's, or the call is over
            scoped_to(s, entry.tenant_id)
            extra = dict(entry.extra)
            extra.pop("consult")
            entry.extra = extra
            other = (
                await s.get(Agent, uuid.UUID(found["agent_id"])) if "agent_id" in found else None
            )
            if other is not None and other.state is AgentState.RINGING:
                # Never picked up: the same rule as an unanswered offer.
                rang_out = event["channel"].get("state") != "Up"
                target = AgentState.NOT_READY if rang_out else AgentState.AVAILABLE
                service.move_agent(s, other, target, "consultation ended", now=now)
            if entry.call_id is not None:
                for row in await calls.legs_of(s, entry.call_id):
                    if row.channel_id == channel_id:
                        calls.mark_leg_gone(row, event.get("cause"))
            await s.commit()
            bridge, leg = entry.bridge_id or f"cc-{entry.id}", next(iter(qc.legs(entry)))
        await self._back_to_caller(bridge, leg, found["bridge"])

    async def _transferred_out(
        self, s: AsyncSession, entry: QueueCall, number: str, now: datetime
    ) -> tuple[str, str, int]:
        """A blind transfer to a number: the caller stays in the call's bridge, a leg to the
        number joins it. Returns (leg id, endpoint, ring timeout)."""
        qc.transferred(s, entry, "blind", f"number:{number}", now)
        resolution = await vpmn.resolve_dial(s, caller=entry.caller, dialled=number)
        target = resolution.targets[0]
        leg_id = f"xfer-{uuid.uuid4().hex}"
        entry.extra = {**entry.extra, "external": leg_id}
        if entry.call_id is not None:
            call = await calls.get_call(s, entry.call_id)
            calls.add_callee_leg(s, call, leg_id, target.endpoint, entry.offers + 1)
            call.agent = None
            call.callee = resolution.dialled
        return leg_id, target.endpoint, target.timeout

    async def _ring_out(
        self, binding: Binding, caller: str, bridge_id: str | None, out: tuple[str, str, int]
    ) -> None:
        leg_id, endpoint, timeout = out
        self.channels[leg_id] = Binding(binding.tenant_id, binding.entry_id, "external")
        await self._safely(self.ari.channels.start_moh(caller))
        await self._safely(
            self.ari.channels.create(endpoint, self.ari.app, app_args=LEG_ARG, channel_id=leg_id)
        )
        if bridge_id:
            await self._safely(self.ari.bridges.add_channel(bridge_id, [leg_id]))
        await self._safely(self.ari.channels.dial(leg_id, caller=caller, ring_timeout=timeout))

    async def _external_answered(self, binding: Binding) -> None:
        async with self.session(binding.tenant_id) as s:
            entry = await s.get(QueueCall, binding.entry_id)
            caller = entry.channel_id if entry is not None else None
        if caller:
            await self._safely(self.ari.channels.stop_moh(caller))

    async def _external_gone(self, binding: Binding) -> None:
        """The party the caller was transferred to hung up (or never answered): end the call."""
        async with self.session(binding.tenant_id) as s:
            entry = await s.get(QueueCall, binding.entry_id)
            if entry is None:
                return
            if entry.call_id is not None:
                call = await calls.get_call(s, entry.call_id)
                for row in await calls.legs_of(s, call.id):
                    if row.channel_id == entry.extra.get("external"):
                        calls.mark_leg_gone(row, None)
                await calls.end_call(s, call, Disposition.ANSWERED, "transferred party hung up")
                await qc.attach_recording(s, call.id)
            await s.commit()
            caller, bridge = entry.channel_id, entry.bridge_id
        await self._safely(self.ari.channels.hangup(caller, "normal"))
        if bridge:
            await self._safely(self.ari.bridges.destroy(bridge))
