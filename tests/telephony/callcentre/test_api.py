"""Queue and agent administration, agent self-service and the agent state machine over HTTP."""

from __future__ import annotations

import httpx
from cc_testkit import cc_topics, make_agent, make_person, make_queue
from sqlalchemy import select

from comms.audit.models import AuditEntry
from comms.auth.models import Role
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx

API = "/api/v1/callcentre"


async def test_admin_creates_a_queue_and_an_agent_in_it(
    client: httpx.AsyncClient, hub: Hub, tenant: TenantCtx
) -> None:
    r = await client.post(
        f"{API}/queues",
        headers=tenant.auth,
        json={
            "name": "billing",
            "strategy": "skills",
            "skills": {"billing": 3},
            "ring_timeout": 20,
        },
    )
    assert r.status_code == 201, r.text
    queue = r.json()
    assert queue["strategy"] == "skills" and queue["wrapup_seconds"] == 10
    person = await make_person(hub, client, tenant.id, "li")
    r = await client.post(
        f"{API}/agents",
        headers=tenant.auth,
        json={
            "user_id": str(person.user_id),
            "name": "李娜",
            "endpoint": "PJSIP/1001",
            "skills": {"billing": 4},
            "queue_ids": [queue["id"]],
        },
    )
    assert r.status_code == 201, r.text
    agent = r.json()
    assert agent["state"] == "logged_out" and agent["queue_ids"] == [queue["id"]]
    r = await client.get(f"{API}/agents/me", headers=person.auth)
    assert r.status_code == 200 and r.json()["id"] == agent["id"]


async def test_bad_queue_input_names_the_field(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.post(
        f"{API}/queues", headers=tenant.auth, json={"name": "q", "ring_timeout": 0}
    )
    assert r.status_code == 422 and "ring_timeout" in r.text
    r = await client.post(
        f"{API}/queues",
        headers=tenant.auth,
        json={"name": "q", "overflow": "queue", "max_wait": 60},
    )
    assert r.status_code == 422 and r.json()["field"] == "overflow_queue_id"
    r = await client.post(f"{API}/queues", headers=tenant.auth, json={"name": "dup"})
    r = await client.post(f"{API}/queues", headers=tenant.auth, json={"name": "dup"})
    assert r.status_code == 409 and r.json()["field"] == "name"


async def test_agent_logs_in_pauses_with_a_reason_and_logs_out(
    client: httpx.AsyncClient, hub: Hub, tenant: TenantCtx
) -> None:
    queue = await make_queue(hub, tenant.id)
    person = await make_person(hub, client, tenant.id, "wang")
    await make_agent(hub, tenant.id, "PJSIP/1002", [queue], user_id=person.user_id, available=False)
    me = f"{API}/agents/me/state"
    r = await client.post(me, headers=person.auth, json={"state": "paused", "reason": "lunch"})
    assert r.status_code == 409 and "logged_out to paused" in r.text
    assert (await client.post(me, headers=person.auth, json={"state": "available"})).json()[
        "state"
    ] == "available"
    r = await client.post(me, headers=person.auth, json={"state": "paused"})
    assert r.status_code == 422 and "reason" in r.text
    r = await client.post(me, headers=person.auth, json={"state": "paused", "reason": "lunch"})
    assert r.json()["state"] == "paused" and r.json()["reason"] == "lunch"
    r = await client.post(me, headers=person.auth, json={"state": "logged_out"})
    assert r.json()["state"] == "logged_out" and r.json()["reason"] is None
    agent_id = r.json()["id"]
    moves = (await client.get(f"{API}/agents/{agent_id}/transitions", headers=tenant.auth)).json()
    assert [(m["from_state"], m["to_state"]) for m in moves] == [
        ("logged_out", "available"),
        ("available", "paused"),
        ("paused", "logged_out"),
    ]
    assert moves[1]["reason"] == "lunch"
    assert (await cc_topics(hub, tenant.id, "telephony.agent.")).count(
        "telephony.agent.state_changed"
    ) == 3


async def test_agent_cannot_force_itself_on_call(
    client: httpx.AsyncClient, hub: Hub, tenant: TenantCtx
) -> None:
    person = await make_person(hub, client, tenant.id, "zhao")
    await make_agent(hub, tenant.id, "PJSIP/1003", [], user_id=person.user_id)
    r = await client.post(f"{API}/agents/me/state", headers=person.auth, json={"state": "on_call"})
    assert r.status_code == 422 and "state" in r.text


async def test_a_user_without_agent_profile_is_told_so_and_agents_cannot_administer(
    client: httpx.AsyncClient, hub: Hub, tenant: TenantCtx
) -> None:
    person = await make_person(hub, client, tenant.id, "nobody")
    r = await client.get(f"{API}/agents/me", headers=person.auth)
    assert r.status_code == 200 and r.json() is None
    r = await client.post(
        f"{API}/agents/me/state", headers=person.auth, json={"state": "available"}
    )
    assert r.status_code == 404 and "no agent profile" in r.text
    r = await client.post(f"{API}/queues", headers=person.auth, json={"name": "mine"})
    assert r.status_code == 403


async def test_supervisor_sets_an_agents_state(
    client: httpx.AsyncClient, hub: Hub, tenant: TenantCtx
) -> None:
    sup = await make_person(hub, client, tenant.id, "sup", Role.SUPERVISOR)
    agent = await make_agent(hub, tenant.id, "PJSIP/1004", [])
    r = await client.post(
        f"{API}/agents/{agent.id}/state",
        headers=sup.auth,
        json={"state": "paused", "reason": "coaching"},
    )
    assert r.status_code == 200 and r.json()["reason"] == "coaching"


async def test_deleting_a_queue_with_an_agent_keeps_the_agent(
    client: httpx.AsyncClient, hub: Hub, tenant: TenantCtx
) -> None:
    queue = await make_queue(hub, tenant.id)
    agent = await make_agent(hub, tenant.id, "PJSIP/1005", [queue])
    assert (await client.delete(f"{API}/queues/{queue.id}", headers=tenant.auth)).status_code == 204
    r = await client.get(f"{API}/agents/{agent.id}", headers=tenant.auth)
    assert r.status_code == 200 and r.json()["queue_ids"] == []


async def test_webrtc_account_answers_the_console_query_and_hides_the_password(
    client: httpx.AsyncClient, hub: Hub, tenant: TenantCtx
) -> None:
    person = await make_person(hub, client, tenant.id, "web")
    agent = await make_agent(hub, tenant.id, "PJSIP/webrtc-1001", [], user_id=person.user_id)
    ask = {"user_id": str(person.user_id)}
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        assert await hub.queries.ask(s, "telephony.agent_webrtc", ask) is None
    r = await client.patch(
        f"{API}/agents/{agent.id}",
        headers=tenant.auth,
        json={
            "webrtc": {
                "wss_url": "wss://pbx.example.cn:8089/ws",
                "sip_uri": "sip:1001@pbx.example.cn",
                "password": "s3cret-sip",
            }
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["webrtc_sip_uri"] == "sip:1001@pbx.example.cn"
    assert "s3cret-sip" not in r.text
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        answer = await hub.queries.ask(s, "telephony.agent_webrtc", ask)
        trail = await s.scalars(select(AuditEntry))
        assert not any("s3cret-sip" in str(entry.changes) for entry in trail)
    assert answer == {
        "wss_url": "wss://pbx.example.cn:8089/ws",
        "sip_uri": "sip:1001@pbx.example.cn",
        "password": "s3cret-sip",
        "display_name": "PJSIP/webrtc-1001",
    }
    r = await client.patch(
        f"{API}/agents/{agent.id}",
        headers=tenant.auth,
        json={"webrtc": {"wss_url": "http://x", "sip_uri": "sip:a@b", "password": "p"}},
    )
    assert r.status_code == 422 and "wss_url" in r.text
