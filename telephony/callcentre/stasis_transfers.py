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
    ) -> QueueCall | None:
        """An attended transfer completed: the consulted agent owns the call from now."""
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
        if entry.call_id is not None:
            call = await calls.get_call(s, entry.call_id)
            call.agent = other.name
        return taken

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
            if entry is None or not found or found["leg"] != channel_id:
                return
            if entry.extra.get("transfer") or entry.ended_at is not None:
                return  # completed (the leg lives on as the call's) or the call is over
            scoped_to(s, entry.tenant_id)
            extra = dict(entry.extra)
            extra.pop("consult")
            entry.extra = extra
            other = await s.get(Agent, uuid.UUID(found["agent_id"]))
            if other is not None and other.state is AgentState.RINGING:
                # Never picked up: the same rule as an unanswered offer.
                rang_out = event["channel"].get("state") != "Up"
                target = AgentState.NOT_READY if rang_out else AgentState.AVAILABLE
                service.move_agent(s, other, target, "consultation ended", now=now)
            await s.commit()
            bridge, leg = entry.bridge_id or f"cc-{entry.id}", next(iter(qc.legs(entry)))
        await self._safely(self.ari.bridges.add_channel(bridge, [leg]))
        await self._safely(self.ari.bridges.stop_moh(bridge))
        await self._safely(self.ari.bridges.destroy(found["bridge"]))

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
