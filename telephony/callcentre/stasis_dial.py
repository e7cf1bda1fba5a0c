"""Click-to-dial in the Stasis app: the agent's leg answers, then the number is rung and bridged.

The API (control.dial) makes the call row and rings the agent's leg `dial-<call id>`; legs
carry the call id in their names, so this process needs no shared memory with the API.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.tenancy import scoped_to, unscoped
from telephony.callcentre import service
from telephony.callcentre.control import DIAL_PREFIX, LEG_ARG, OUT_PREFIX
from telephony.callcentre.models import Agent
from telephony.callcentre.stasis_base import QueueCallsBase
from telephony.callcentre.state import AgentState
from telephony.calls import service as calls
from telephony.calls.models import Call, Direction
from telephony.calls.state import CallState, LegState
from telephony.vpmn import service as vpmn
from telephony.vpmn.models import Disposition

BUSY_CAUSES = frozenset({17})


def is_dial_leg(channel_id: str) -> bool:
    return channel_id.startswith((DIAL_PREFIX, OUT_PREFIX))


def _call_id(channel_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(channel_id.removeprefix(DIAL_PREFIX).removeprefix(OUT_PREFIX))
    except ValueError:
        return None


class QueueDial(QueueCallsBase):
    async def _dial_call(self, s: AsyncSession, channel_id: str) -> tuple[Call, Agent] | None:
        call_id = _call_id(channel_id)
        if call_id is None:
            return None
        unscoped(s)
        call = await s.get(Call, call_id)
        if call is None:
            return None
        scoped_to(s, call.tenant_id)
        agent = await s.scalar(select(Agent).where(Agent.current_call_id == call.id))
        if agent is None:
            return None
        return call, agent

    async def _dial_answered(self, channel_id: str) -> None:
        async with self.db.session() as s:
            found = await self._dial_call(s, channel_id)
            if found is None:
                return
            call, agent = found
            legs = {leg.channel_id: leg for leg in await calls.legs_of(s, call.id)}
            agent_leg, out_leg = f"{DIAL_PREFIX}{call.id}", f"{OUT_PREFIX}{call.id}"
            bridge_id = f"dial-{call.id}"
            if channel_id == agent_leg:
                if out_leg in legs:
                    return
                # The agent picked up: now call the number (resolved as the VPMN would).
                resolution = await vpmn.resolve_dial(s, caller=agent.endpoint, dialled=call.callee)
                target = resolution.targets[0]
                calls.add_callee_leg(s, call, out_leg, target.endpoint, 0)
                await s.commit()
                await self._safely(self.ari.bridges.create("mixing", bridge_id=bridge_id))
                await self._safely(self.ari.bridges.add_channel(bridge_id, [agent_leg]))
                await self._safely(
                    self.ari.channels.create(
                        target.endpoint, self.ari.app, app_args=LEG_ARG, channel_id=out_leg
                    )
                )
                await self._safely(self.ari.bridges.add_channel(bridge_id, [out_leg]))
                await self._safely(
                    self.ari.channels.dial(out_leg, caller=agent_leg, ring_timeout=target.timeout)
                )
                return
            if call.state is CallState.RINGING:
                calls.mark_answered(s, call, legs[out_leg], bridge_id, legs[agent_leg])
                if agent.state is AgentState.RINGING:
                    service.move_agent(s, agent, AgentState.ON_CALL, f"{call.callee} answered")
                await s.commit()

    async def reconcile_dials(self, alive: set[str]) -> None:
        """After a (re)connect: agent dial-outs carry on from their rows (their legs are named
        after the call, so events for live ones need no rebinding); answers missed during the
        gap are caught up, and a call with a vanished leg ends (CDR written, agent freed)."""
        async with self.db.session() as s:
            unscoped(s)
            found: list[tuple[uuid.UUID, dict[str, LegState]]] = []
            for call in await calls.open_calls(s):
                if call.direction is not Direction.OUTBOUND or call.queue is not None:
                    continue
                legs = {leg.channel_id: leg.state for leg in await calls.legs_of(s, call.id)}
                if f"{DIAL_PREFIX}{call.id}" in legs:
                    found.append((call.id, legs))
        for call_id, legs in found:
            agent_leg, out_leg = f"{DIAL_PREFIX}{call_id}", f"{OUT_PREFIX}{call_id}"
            gone = [c for c, st in legs.items() if st is not LegState.GONE and c not in alive]
            if gone:
                await self._dial_gone(gone[0], None, vanished=gone)
            elif out_leg not in legs:
                if await self._channel_state(agent_leg) == "Up":
                    await self._dial_answered(agent_leg)  # the agent picked up meanwhile
            elif await self._channel_state(out_leg) == "Up":
                await self._dial_answered(out_leg)  # a no-op unless its answer was missed

    async def _channel_state(self, channel_id: str) -> str | None:
        found = await self._safely(self.ari.channels.get(channel_id))
        return str(found["state"]) if found else None

    async def _dial_gone(
        self, channel_id: str, cause: int | None, vanished: list[str] | None = None
    ) -> None:
        now = self.clock()
        async with self.db.session() as s:
            found = await self._dial_call(s, channel_id)
            if found is None:
                return
            call, agent = found
            other = (
                f"{OUT_PREFIX}{call.id}"
                if channel_id.startswith(DIAL_PREFIX)
                else f"{DIAL_PREFIX}{call.id}"
            )
            for leg in await calls.legs_of(s, call.id):
                if leg.channel_id == channel_id or leg.channel_id in (vanished or ()):
                    calls.mark_leg_gone(leg, cause)
            if call.answered_at is not None:
                disposition, reason = Disposition.ANSWERED, "hung up"
            elif channel_id.startswith(OUT_PREFIX):
                busy = cause in BUSY_CAUSES
                disposition = Disposition.BUSY if busy else Disposition.NO_ANSWER
                reason = "busy" if busy else "no answer"
            else:
                disposition, reason = Disposition.CANCELLED, "agent hung up"
            await calls.end_call(s, call, disposition, reason)
            agent.current_call_id = None
            if agent.state is AgentState.ON_CALL:
                service.move_agent(s, agent, AgentState.WRAP_UP, "call ended", now=now)
                agent.wrapup_until = now  # no queue, no wrap-up time: available at the next tick
            elif agent.state is AgentState.RINGING:
                service.move_agent(s, agent, AgentState.AVAILABLE, reason, now=now)
            await s.commit()
        await self._safely(self.ari.channels.hangup(other, "normal"))
        await self._safely(self.ari.bridges.destroy(f"dial-{call.id}"))


__all__ = ["QueueDial", "is_dial_leg"]
