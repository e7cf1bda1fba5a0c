"""An IVR `route` to a queue hands the caller to the call centre; a menu choice sets priority."""

from __future__ import annotations

from typing import Any

import httpx
from cc_testkit import eventually, make_agent, make_queue, queue_calls, ringing_leg, until

from comms.auth.principal import Principal
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari.sim_state import EndpointBehaviour
from telephony.ari.simulator import AriSimulator
from telephony.callcentre import service
from telephony.callcentre.schemas import StateIn
from telephony.callcentre.state import EntryState
from telephony.ivr import service as ivr
from telephony.stasis.app import StasisApp

FLOW: dict[str, Any] = {
    "start": "tier",
    "nodes": {
        "tier": {
            "type": "gather",
            "prompt": "sound:enter-tier",
            "digits": 1,
            "timeout": 2.0,
            "variable": "priority",
            "next": "queue",
        },
        "queue": {"type": "route", "target": {"kind": "queue", "value": "support"}},
    },
}


async def test_ivr_routes_to_the_queue_and_the_priority_caller_is_offered_first(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, tenant: TenantCtx, client: httpx.AsyncClient
) -> None:
    queue = await make_queue(hub, tenant.id, "support")
    agent = await make_agent(hub, tenant.id, "PJSIP/ivr-agent", [queue], available=False)
    sim.endpoints["PJSIP/ivr-agent"] = EndpointBehaviour(outcome="ring")
    actor = Principal.system(tenant.id)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        flow = await ivr.create_flow(s, actor, "tiers", FLOW)
        await ivr.publish(s, actor, flow.id)
        await ivr.create_entry(s, actor, "+861058009999", flow.id)
    callers = []
    for digit, number in (("0", "+8613700000021"), ("5", "+8613700000022")):
        channel = sim.inbound_call(caller_number=number, exten="01058009999")
        await eventually(
            sim, lambda ch=channel: bool(sim.requests_for(nickname="play", channelId=ch))
        )
        sim.send_dtmf(channel, digit)
        callers.append(channel)
        await eventually(sim, lambda ch=channel: sim.channels[ch].moh_class == "default")

    rows = await queue_calls(hub, tenant.id)
    assert [(r.caller, r.priority) for r in rows] == [
        ("+8613700000021", 0),
        ("+8613700000022", 5),
    ]
    r = await client.get(f"/api/v1/callcentre/queues/{queue.id}/entries", headers=tenant.auth)
    assert [(e["caller"], e["position"], e["state"]) for e in r.json()] == [
        ("+8613700000022", 1, "waiting"),
        ("+8613700000021", 2, "waiting"),
    ]
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        await service.set_state(s, await service.get_agent(s, agent.id), StateIn(state="available"))
    leg = await ringing_leg(sim, "PJSIP/ivr-agent")
    sim.remote_answer(leg)

    async def vip_answered() -> bool:
        rows = {r.caller: r for r in await queue_calls(hub, tenant.id)}
        return rows["+8613700000022"].state is EntryState.ANSWERED

    await until(vip_answered)
    rows = {r.caller: r for r in await queue_calls(hub, tenant.id)}
    assert rows["+8613700000021"].state is EntryState.WAITING
    r = await client.get(
        "/api/v1/callcentre/queue-calls", headers=tenant.auth, params={"queue_id": str(queue.id)}
    )
    assert {c["caller"]: c["state"] for c in r.json()} == {
        "+8613700000021": "waiting",
        "+8613700000022": "answered",
    }
