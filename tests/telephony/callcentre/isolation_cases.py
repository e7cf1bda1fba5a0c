"""Isolation cases for the call-centre routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import uuid

import httpx

from comms.auth.models import Role
from comms.auth.principal import Principal
from comms.auth.schemas import UserCreate
from comms.auth.service import create_user
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case
from telephony.callcentre import service
from telephony.callcentre.models import Queue
from telephony.callcentre.schemas import AgentIn, QueueIn

# Built through the services directly: this file is imported on its own by the route test,
# without this folder's testkit on the path.


async def make_queue(hub: Hub, tenant_id: uuid.UUID, name: str) -> Queue:
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        return await service.create_queue(s, Principal.system(tenant_id), QueueIn(name=name))


async def make_agent(hub: Hub, tenant_id: uuid.UUID, endpoint: str, queue: Queue) -> uuid.UUID:
    actor = Principal.system(tenant_id)
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        user = await create_user(
            s,
            hub.credentials,
            actor,
            UserCreate(
                email=f"iso-{uuid.uuid4().hex[:8]}@example.cn",
                password="agent-password-1",
                role=Role.AGENT,
            ),
        )
        agent = await service.create_agent(
            s,
            actor,
            AgentIn(user_id=user.id, name="iso", endpoint=endpoint, queue_ids=[queue.id]),
        )
        return agent.id


async def a_queue(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    queue = await make_queue(hub, owner.id, f"iso-{uuid.uuid4().hex[:8]}")
    return {"queue_id": str(queue.id)}


async def an_agent(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    queue = await make_queue(hub, owner.id, f"iso-{uuid.uuid4().hex[:8]}")
    agent_id = await make_agent(hub, owner.id, "PJSIP/iso-1", queue)
    return {"agent_id": str(agent_id)}


async def an_action(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    return {"action": "hold"}


async def a_step(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    return {"step": "complete"}


PREFIX = "/api/v1/callcentre"
CASES: dict[str, Case] = {
    f"{PREFIX}/queues/{{queue_id}}": Case(a_queue, bodies={"PATCH": {"ring_timeout": 20}}),
    f"{PREFIX}/queues/{{queue_id}}/entries": Case(a_queue),
    f"{PREFIX}/queues/{{queue_id}}/stats": Case(a_queue),
    f"{PREFIX}/queues/{{queue_id}}/stats/intervals": Case(a_queue),
    f"{PREFIX}/agents/{{agent_id}}": Case(an_agent, bodies={"PATCH": {"name": "x"}}),
    f"{PREFIX}/agents/{{agent_id}}/state": Case(an_agent, bodies={"POST": {"state": "logged_out"}}),
    f"{PREFIX}/agents/{{agent_id}}/transitions": Case(an_agent),
    f"{PREFIX}/agents/{{agent_id}}/monitor": Case(
        an_agent, bodies={"POST": {"mode": "listen", "endpoint": "PJSIP/sup"}}
    ),
    # The action names no row: another tenant's key has no agent profile, hence 404.
    f"{PREFIX}/agents/me/call/{{action}}": Case(an_action),
    f"{PREFIX}/agents/me/transfer/{{step}}": Case(a_step),
}
