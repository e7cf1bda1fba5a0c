"""Offering queued callers to agents, and what happens when an agent's leg answers.

The ACD index (acd_index.py) proposes pairs; each is checked against the rows, committed
(agent ringing, offer recorded, callee leg added) and only then rung.
"""

from __future__ import annotations

import uuid

from comms.db.tenancy import unscoped
from telephony.ari import AriError
from telephony.callcentre import queueing as qc
from telephony.callcentre.acd import Offer
from telephony.callcentre.models import Agent, Queue, QueueCall
from telephony.callcentre.stasis_base import LEG_ARG, Binding, log
from telephony.callcentre.stasis_transfers import QueueTransfers
from telephony.callcentre.state import AgentState, EntryState
from telephony.calls import service as calls
from telephony.calls.models import LegRole
from telephony.calls.state import CallState
from telephony.vpmn import service as vpmn


class QueueOffers(QueueTransfers):
    # ------------------------------------------------------------------ offering

    async def _dispatch(
        self,
        tenant_id: uuid.UUID,
        queue_id: uuid.UUID,
        direct: tuple[uuid.UUID, uuid.UUID | None] | None = None,
    ) -> None:
        """Offer waiting callers to free agents as the ACD decides (lock held).

        ``direct`` (entry, agent) offers one caller to one agent first (a transfer to an
        agent); if that agent is no longer free the ACD decides as usual.
        """
        now = self.clock()
        plans: list[tuple[uuid.UUID, str | None, str, str, int]] = []
        async with self.db.session() as u:
            unscoped(u)
            await self.acd.sync(u, now)
        async with self.session(tenant_id) as s:
            queue = await s.get(Queue, queue_id)
            if queue is None:
                return
            offers = []
            if direct is not None and direct[1] is not None:
                chosen = await s.get(Agent, direct[1])
                if chosen is not None and chosen.state is AgentState.AVAILABLE:
                    offers = [Offer(direct[0], (chosen.id,))]
                    self.acd.forget_caller(queue_id, direct[0])
                    self.acd.taken(chosen.id)
            for offer in offers or self.acd.decide(queue_id, now):
                entry = await s.get(QueueCall, offer.caller_id)
                rung = [await s.get(Agent, a) for a in offer.agent_ids]
                free = [a for a in rung if a is not None and a.state is AgentState.AVAILABLE]
                if entry is None or entry.state not in qc.WAITING or not free:
                    # The index was behind the rows: give back the side that is still free.
                    if entry is not None and entry.state in qc.WAITING:
                        self.acd.caller_waiting(entry)
                    for agent in free:
                        self.acd.return_agent(queue_id, agent)
                    continue
                call = await calls.get_call(s, entry.call_id) if entry.call_id else None
                # A callback customer is not on the line: no caller to link the Dial to.
                on_line = entry.state is not EntryState.CALLBACK_REQUESTED
                for agent in free:
                    leg_id = f"cc-{uuid.uuid4().hex}"
                    qc.offer(s, entry, agent, leg_id, now)
                    if call is not None:
                        calls.add_callee_leg(s, call, leg_id, agent.endpoint, entry.offers)
                    caller = entry.channel_id if on_line else None
                    plans.append((entry.id, caller, leg_id, agent.endpoint, queue.ring_timeout))
            if not plans:
                return
            await qc.publish_stats(s, queue, now)
            await s.commit()
        for entry_id, _, leg_id, _, _ in plans:
            self.channels[leg_id] = Binding(tenant_id, entry_id, "agent")
        for entry_id, caller, leg_id, endpoint, timeout in plans:
            try:
                await self.ari.channels.create(
                    endpoint, self.ari.app, app_args=LEG_ARG, channel_id=leg_id
                )
                await self.ari.channels.dial(
                    leg_id,
                    caller=caller if caller in self.channels else None,
                    ring_timeout=timeout,
                )
            except AriError as exc:
                log.warning("queue call %s: cannot ring %s: %s", entry_id, endpoint, exc)
                await self._leg_gone(self.channels[leg_id], leg_id)

    async def _agent_answered(self, binding: Binding, leg_id: str) -> None:
        now = self.clock()
        async with self.session(binding.tenant_id) as s:
            entry = await s.get(QueueCall, binding.entry_id)
            legs = qc.legs(entry) if entry is not None else {}
            if entry is None or entry.state is not EntryState.OFFERED or leg_id not in legs:
                await self._safely(self.ari.channels.hangup(leg_id, "answered_elsewhere"))
                return
            queue = await s.get(Queue, entry.queue_id)
            agent = await s.get(Agent, uuid.UUID(legs.pop(leg_id)))
            assert queue is not None and agent is not None
            others = [a for a in [await s.get(Agent, uuid.UUID(x)) for x in legs.values()] if a]
            if "consult_for" in entry.extra:
                await self._consult_taken(s, entry, queue, agent, others, leg_id, now)
                for other in legs:
                    await self._safely(self.ari.channels.hangup(other, "answered_elsewhere"))
                return
            callback = entry.state is EntryState.OFFERED and entry.overflow_target == "callback"
            bridge_id = f"cc-{entry.id}"
            qc.answered(s, entry, agent, bridge_id, now)
            qc.release_ringing(s, others, now, "answered by another agent")
            entry.extra = {**entry.extra, "legs": {leg_id: str(agent.id)}}
            if queue.record:
                entry.recording = f"callcentre/{entry.id}"
            call = await calls.get_call(s, entry.call_id) if entry.call_id else None
            if call is not None:
                call.agent = agent.name
                if not callback and call.state is CallState.RINGING:
                    rows = {leg.channel_id: leg for leg in await calls.legs_of(s, call.id)}
                    caller_leg = next(r for r in rows.values() if r.role is LegRole.CALLER)
                    calls.mark_answered(s, call, rows[leg_id], bridge_id, caller_leg)
            customer_leg = None
            if callback:
                plan = await vpmn.plan_view(s)
                customer_leg = f"cb-{uuid.uuid4().hex}"
                entry.channel_id = customer_leg
                trunk = plan.trunk_endpoint.format(number=entry.caller)
            await qc.publish_stats(s, queue, now)
            await s.commit()
        for other in legs:
            await self._safely(self.ari.channels.hangup(other, "answered_elsewhere"))
        await self._safely(self.ari.bridges.create("mixing", bridge_id=bridge_id))
        if customer_leg is not None:
            # The agent hears music while the customer who asked for a call back is rung.
            self.channels[customer_leg] = Binding(binding.tenant_id, binding.entry_id, "callback")
            await self._safely(self.ari.channels.start_moh(leg_id, queue.moh_class))
            await self._safely(
                self.ari.channels.create(
                    trunk, self.ari.app, app_args=LEG_ARG, channel_id=customer_leg
                )
            )
            await self._safely(self.ari.channels.dial(customer_leg, ring_timeout=30))
            return
        await self._safely(self.ari.channels.stop_moh(entry.channel_id))
        await self._bridge(bridge_id, entry.channel_id, leg_id, entry.recording)

    async def _bridge(
        self, bridge_id: str, caller: str, agent_leg: str, recording: str | None
    ) -> None:
        await self._safely(self.ari.bridges.add_channel(bridge_id, [caller, agent_leg]))
        if recording:
            await self._safely(self.ari.bridges.record(bridge_id, recording, "wav"))

    async def _customer_answered(self, binding: Binding, leg_id: str) -> None:
        async with self.session(binding.tenant_id) as s:
            entry = await s.get(QueueCall, binding.entry_id)
            if entry is None or entry.ended_at is not None:
                await self._safely(self.ari.channels.hangup(leg_id, "normal"))
                return
            agent_leg = next(iter(qc.legs(entry)))
            bridge_id, recording = entry.bridge_id or f"cc-{entry.id}", entry.recording
        await self._safely(self.ari.channels.stop_moh(agent_leg))
        await self._bridge(bridge_id, leg_id, agent_leg, recording)
