"""Click-to-call: the agent's own phone rings (ARI originate), then the dialplan calls out."""

from __future__ import annotations

import httpx
from console_testkit import make_person

from comms.hub import Hub
from hubtest import TenantCtx
from telephony.ari.sim_state import EndpointBehaviour
from telephony.ari.simulator import AriSimulator
from telephony.callcentre.control import ARI_SERVICE
from telephony.stasis.app import StasisApp

DESK = "PJSIP/li-desk"


async def test_dialling_rings_the_agents_phone_then_the_dialplan_calls_the_number(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    hub.services[ARI_SERVICE] = stasis.ari
    sim.endpoints[DESK] = EndpointBehaviour(outcome="ring")
    agent = await make_person(client, tenant, "agent", "li")
    r = await client.post(
        "/api/v1/callcentre/agents",
        headers=tenant.auth,
        json={"user_id": agent.user_id, "name": "Li", "endpoint": DESK},
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/api/v1/console/dial", headers=agent.auth, json={"number": "+86 138-0013-8000"}
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["number"], out["endpoint"]) == ("+8613800138000", DESK)
    [req] = sim.requests_for(nickname="originate")
    assert req.query["endpoint"] == DESK
    assert (req.query["extension"], req.query["context"]) == (
        "+8613800138000",
        "huitong-agents-out",
    )
    assert sim.channels[out["channel_id"]].endpoint == DESK


async def test_dialling_names_the_bad_number_and_needs_an_agent_profile(
    hub: Hub, sim: AriSimulator, stasis: StasisApp, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    hub.services[ARI_SERVICE] = stasis.ari
    person = await make_person(client, tenant, "agent", "noprofile")
    bad = await client.post("/api/v1/console/dial", headers=person.auth, json={"number": "12ab"})
    assert bad.status_code == 422 and bad.json()["field"] == "number"
    missing = await client.post(
        "/api/v1/console/dial", headers=person.auth, json={"number": "8003"}
    )
    assert missing.status_code == 404 and "agent profile" in missing.text
    assert sim.requests_for(nickname="originate") == []
