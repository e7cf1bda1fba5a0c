"""Helpers for call-centre tests: users, queues and agents made through the services."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from comms.auth.models import Role
from comms.auth.principal import Principal
from comms.auth.schemas import UserCreate
from comms.auth.service import create_user
from comms.bus.models import OutboxEvent
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari import ReconnectPolicy
from telephony.ari.sim_state import EndpointBehaviour
from telephony.ari.simulator import AriSimulator
from telephony.callcentre import service
from telephony.callcentre.control import ARI_SERVICE
from telephony.callcentre.models import Agent, AgentTransition, Queue, QueueCall
from telephony.callcentre.schemas import AgentIn, QueueIn, StateIn
from telephony.stasis.app import StasisApp


@dataclass
class Person:
    user_id: uuid.UUID
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_person(
    hub: Hub, client: httpx.AsyncClient, tenant_id: uuid.UUID, name: str, role: Role = Role.AGENT
) -> Person:
    email = f"{name}-{uuid.uuid4().hex[:6]}@example.cn"
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        user = await create_user(
            s,
            hub.credentials,
            Principal.system(tenant_id),
            UserCreate(email=email, name=name, password="agent-password-1", role=role),
        )
    r = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": "agent-password-1"}
    )
    assert r.status_code == 200, r.text
    return Person(user.id, r.json()["access_token"])


async def make_queue(hub: Hub, tenant_id: uuid.UUID, name: str = "support", **kw: Any) -> Queue:
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        return await service.create_queue(s, Principal.system(tenant_id), QueueIn(name=name, **kw))


async def make_agent(
    hub: Hub,
    tenant_id: uuid.UUID,
    endpoint: str,
    queues: list[Queue],
    *,
    name: str | None = None,
    skills: dict[str, int] | None = None,
    available: bool = True,
    user_id: uuid.UUID | None = None,
) -> Agent:
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        if user_id is None:
            user = await create_user(
                s,
                hub.credentials,
                Principal.system(tenant_id),
                UserCreate(
                    email=f"a-{uuid.uuid4().hex[:8]}@example.cn",
                    name=name or endpoint,
                    password="agent-password-1",
                    role=Role.AGENT,
                ),
            )
            user_id = user.id
        agent = await service.create_agent(
            s,
            Principal.system(tenant_id),
            AgentIn(
                user_id=user_id,
                name=name or endpoint,
                endpoint=endpoint,
                skills=skills or {},
                queue_ids=[q.id for q in queues],
            ),
        )
        if available:
            await service.set_state(s, agent, StateIn(state="available"))
        return agent


async def agent_now(hub: Hub, tenant_id: uuid.UUID, agent_id: uuid.UUID) -> Agent:
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        agent = await s.get(Agent, agent_id)
        assert agent is not None
        return agent


async def agent_moves(hub: Hub, tenant_id: uuid.UUID, agent_id: uuid.UUID) -> list[AgentTransition]:
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        return await service.transitions_of(s, agent_id)


async def queue_calls(hub: Hub, tenant_id: uuid.UUID) -> list[QueueCall]:
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        return list(await s.scalars(select(QueueCall).order_by(QueueCall.entered_at)))


async def cc_topics(hub: Hub, tenant_id: uuid.UUID, prefix: str = "telephony.") -> list[str]:
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        rows = await s.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        return [
            r.topic
            for r in rows
            if r.topic.startswith(prefix) and r.topic != "telephony.queue.stats"
        ]


FAST_RECONNECT = ReconnectPolicy(initial_delay=0.02, max_delay=0.2, stable_after=30.0)
OUTSIDER = "+8613700000000"


async def eventually(sim: AriSimulator, predicate: Callable[[], bool], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        await sim.wait_until(predicate)


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 5) -> None:
    """Poll the database until ``check`` holds."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.01)


async def ringing_leg(sim: AriSimulator, endpoint: str, besides: tuple[str, ...] = ()) -> str:
    """A leg rung at an endpoint (other than ``besides``), once it rings."""

    def found() -> str | None:
        legs = [c.id for c in sim.channels.values() if c.endpoint == endpoint]
        return next((leg for leg in legs if leg not in besides), None)

    await eventually(sim, lambda: found() is not None)
    leg = found()
    assert leg is not None
    await eventually(sim, lambda: leg not in sim.channels or sim.channels[leg].state == "Ringing")
    return leg


DID = "+861088880002"
RING = EndpointBehaviour(outcome="ring")


async def answered_call(
    hub: Hub, client: httpx.AsyncClient, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx
) -> tuple[Person, Agent, Queue, str, str]:
    """A caller in queue "first" answered by the signed-in agent at PJSIP/agent-x."""
    hub.services[ARI_SERVICE] = stasis.ari
    queue = await make_queue(hub, tenant.id, "first", dids=[DID])
    person = await make_person(hub, client, tenant.id, "xu")
    agent = await make_agent(hub, tenant.id, "PJSIP/agent-x", [queue], user_id=person.user_id)
    sim.endpoints["PJSIP/agent-x"] = RING
    caller = sim.inbound_call(caller_number=OUTSIDER, exten=DID, args=[f"tenant={tenant.id}"])
    leg = await ringing_leg(sim, "PJSIP/agent-x")
    sim.remote_answer(leg)
    await eventually(
        sim, lambda: any(set(b.channels) == {caller, leg} for b in sim.bridges.values())
    )
    return person, agent, queue, caller, leg
