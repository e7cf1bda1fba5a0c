"""Queue statistics: live figures, fixed intervals, CSV export, and wrap-up codes."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from cc_testkit import make_agent, make_person, make_queue

from comms.db.tenancy import scoped_to
from comms.hub import Hub
from hubtest import TenantCtx
from telephony.callcentre import queueing, service
from telephony.callcentre.models import Agent, Queue, QueueCall
from telephony.callcentre.state import AgentState

API = "/api/v1/callcentre"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def history(hub: Hub, tenant_id: uuid.UUID, queue: Queue, agent: Agent) -> None:
    """09:00-09:15: answered after 10 s (handled 100 s), answered after 40 s (handled 200 s),
    abandoned after 30 s; 09:15-09:30: one answered after 5 s (handled 60 s)."""
    plan = [(0, 10, 100), (60, 40, 200), (120, 30, None), (15 * 60 + 1, 5, 60)]
    async with hub.db.session() as s:
        scoped_to(s, tenant_id)
        for i, (start, wait, handle) in enumerate(plan):
            at = T0 + timedelta(seconds=start)
            entry = await queueing.enter(
                s,
                queue,
                call_id=None,
                channel_id=f"c{i}",
                caller="+8613700000000",
                priority=0,
                now=at,
            )
            if handle is None:
                queueing.abandoned(s, entry, at + timedelta(seconds=wait))
                continue
            me = await s.get(Agent, agent.id)
            assert me is not None
            picked = at + timedelta(seconds=wait)
            queueing.offer(s, entry, me, f"leg{i}", picked)
            queueing.answered(s, entry, me, f"br{i}", picked)
            queueing.ended(s, entry, queue, me, picked + timedelta(seconds=handle))
            service.move_agent(s, me, AgentState.AVAILABLE, "next call", now=picked)
        await s.commit()


async def test_intervals_count_service_level_abandons_and_handle_time(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    queue = await make_queue(hub, tenant.id, service_level_seconds=20)
    agent = await make_agent(hub, tenant.id, "PJSIP/stats", [queue])
    await history(hub, tenant.id, queue, agent)
    params = {"size": "15m", "from": T0.isoformat(), "to": (T0 + timedelta(minutes=45)).isoformat()}
    r = await client.get(
        f"{API}/queues/{queue.id}/stats/intervals", headers=tenant.auth, params=params
    )
    assert r.status_code == 200, r.text
    first, second, third = r.json()
    assert (first["offered"], first["answered"], first["abandoned"]) == (3, 2, 1)
    # 1 of (2 answered + 1 abandoned) within 20 s.
    assert first["service_level"] == 33.33 and first["abandon_rate"] == 33.33
    assert first["average_handle_seconds"] == 150.0
    assert (second["offered"], second["service_level"], second["average_handle_seconds"]) == (
        1,
        100.0,
        60.0,
    )
    assert third["offered"] == 0 and third["service_level"] is None
    r = await client.get(
        f"{API}/queues/{queue.id}/stats/intervals",
        headers=tenant.auth,
        params={**params, "format": "csv"},
    )
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["offered"] for row in rows] == ["3", "1", "0"]
    assert rows[0]["average_wait_seconds"] == "26.67" and rows[2]["service_level"] == ""


async def test_live_stats_count_since_and_agents_by_state(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    queue = await make_queue(hub, tenant.id)
    agent = await make_agent(hub, tenant.id, "PJSIP/live", [queue])
    await make_agent(hub, tenant.id, "PJSIP/off", [queue], available=False)
    await history(hub, tenant.id, queue, agent)
    r = await client.get(
        f"{API}/queues/{queue.id}/stats", headers=tenant.auth, params={"since": T0.isoformat()}
    )
    stats = r.json()
    assert (stats["offered"], stats["answered"], stats["abandoned"]) == (4, 3, 1)
    assert stats["agents"]["available"] == 1 and stats["agents"]["logged_out"] == 1
    assert stats["average_handle_seconds"] == 120.0


async def test_bad_interval_parameters_name_the_field(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    queue = await make_queue(hub, tenant.id)
    url = f"{API}/queues/{queue.id}/stats/intervals"
    r = await client.get(url, headers=tenant.auth, params={"size": "5m"})
    assert r.status_code == 422 and "size" in r.text
    r = await client.get(
        url,
        headers=tenant.auth,
        params={"from": T0.isoformat(), "to": (T0 - timedelta(hours=1)).isoformat()},
    )
    assert r.status_code == 422 and r.json()["field"] == "to"


async def test_agent_saves_a_wrapup_code_and_notes_on_the_last_call(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    queue = await make_queue(hub, tenant.id)
    person = await make_person(hub, client, tenant.id, "wrap")
    agent = await make_agent(hub, tenant.id, "PJSIP/wrap", [queue], user_id=person.user_id)
    r = await client.post(f"{API}/agents/me/wrapup", headers=person.auth, json={"code": "sale"})
    assert r.status_code == 404
    await history(hub, tenant.id, queue, agent)
    r = await client.post(
        f"{API}/agents/me/wrapup",
        headers=person.auth,
        json={"code": "refund", "notes": "客户要求退款"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["wrapup_code"], r.json()["notes"]) == ("refund", "客户要求退款")
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        last = await s.get(QueueCall, uuid.UUID(r.json()["id"]))
        assert last is not None and last.channel_id == "c3"
