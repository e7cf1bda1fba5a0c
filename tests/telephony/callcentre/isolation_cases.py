"""Isolation cases for the call-centre routes (collected by tests/test_route_isolation.py)."""

from __future__ import annotations

import uuid

import httpx
from cc_testkit import make_agent, make_queue

from comms.hub import Hub
from hubtest import TenantCtx
from isolation import Case


async def a_queue(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    queue = await make_queue(hub, owner.id, f"iso-{uuid.uuid4().hex[:8]}")
    return {"queue_id": str(queue.id)}


async def an_agent(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    queue = await make_queue(hub, owner.id, f"iso-{uuid.uuid4().hex[:8]}")
    agent = await make_agent(hub, owner.id, "PJSIP/iso-1", [queue])
    return {"agent_id": str(agent.id)}


async def an_action(hub: Hub, client: httpx.AsyncClient, owner: TenantCtx) -> dict[str, str]:
    return {"action": "hold"}


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
}
