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
from telephony.callcentre.stasis_base import QueueCallsBase
from telephony.callcentre.state import AgentState, EntryState
from telephony.calls import service as calls


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
