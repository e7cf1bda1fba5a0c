"""Every ended call is on the counterpart's timeline (inbound: the caller, outbound: the
callee) with its direction, disposition and billable seconds; with the missed-call event, in
either order, a missed call is still one entry and one callback ticket."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from timeline_testkit import emit

from comms.db.base import utcnow
from comms.hub import Hub
from crm.contacts.handlers import CALL_ENDED
from crm.tickets.handlers import CALL_MISSED
from crm_testkit import make_contact, timeline
from hubtest import TenantCtx


def call(
    call_id: uuid.UUID, direction: str, caller: str, callee: str, disposition: str, seconds: int
) -> dict[str, Any]:
    """The facts telephony's end_call publishes (ended; missed is the same minus three)."""
    now = utcnow()
    answered = disposition == "answered"
    return {
        "call_id": str(call_id),
        "tenant_id": "",  # filled in by `ended`/`missed`
        "direction": direction,
        "caller": caller,
        "callee": callee,
        "in_network": False,
        "at": now.isoformat(),
        "disposition": disposition,
        "reason": "hangup" if answered else "timeout",
        "started_at": (now - timedelta(seconds=seconds + 5)).isoformat(),
        "answered_at": (now - timedelta(seconds=seconds)).isoformat() if answered else None,
        "billable_seconds": seconds,
    }


async def ended(hub: Hub, t: TenantCtx, facts: dict[str, Any]) -> None:
    if CALL_ENDED not in hub.topics:
        pytest.skip("telephony does not register telephony.call.ended in this build")
    await emit(hub, t, CALL_ENDED, {**facts, "tenant_id": str(t.id)})


async def missed(hub: Hub, t: TenantCtx, facts: dict[str, Any]) -> None:
    if CALL_MISSED not in hub.topics:
        pytest.skip("telephony does not register telephony.call.missed in this build")
    gone = ("started_at", "answered_at", "billable_seconds")
    payload = {k: v for k, v in facts.items() if k not in gone}
    await emit(hub, t, CALL_MISSED, {**payload, "tenant_id": str(t.id)})


async def calls_of(
    client: httpx.AsyncClient, t: TenantCtx, cid: str
) -> dict[str, tuple[str, str, int | None]]:
    return {
        e["ref"]: (e["direction"], e["status"], e["duration_seconds"])
        for e in await timeline(client, t, cid)
        if e["kind"] == "call"
    }


async def tickets(client: httpx.AsyncClient, t: TenantCtx) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/crm/tickets", headers=t.auth)
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_ended_calls_join_the_counterparts_timeline_in_both_directions(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    c = await make_contact(client, tenant, phones=["13800138000"])
    inbound, outbound, unanswered = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    talk = call(inbound, "inbound", "+8613800138000", "8001", "answered", 95)
    await ended(hub, tenant, talk)
    await ended(hub, tenant, talk)  # the same event again
    await ended(hub, tenant, call(outbound, "outbound", "8001", "138 0013 8000", "answered", 42))
    await ended(hub, tenant, call(unanswered, "outbound", "8001", "13800138000", "busy", 0))
    await ended(hub, tenant, call(uuid.uuid4(), "inbound", "+8613900139000", "8001", "answered", 9))
    # the contact as the caller of an outbound call is our number, not the counterpart
    await ended(hub, tenant, call(uuid.uuid4(), "outbound", "+8613800138000", "8002", "busy", 0))
    assert await calls_of(client, tenant, c["id"]) == {
        f"call:{inbound}": ("inbound", "answered", 95),
        f"call:{outbound}": ("outbound", "answered", 42),
        f"call:{unanswered}": ("outbound", "busy", 0),
    }
    assert await tickets(client, tenant) == []  # no missed inbound call: no callback


@pytest.mark.parametrize("missed_first", [True, False], ids=["missed-first", "ended-first"])
async def test_a_missed_call_is_one_entry_and_one_callback_whichever_event_comes_first(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, missed_first: bool
) -> None:
    c = await make_contact(client, tenant, phones=["13800138000"])
    call_id = uuid.uuid4()
    facts = call(call_id, "inbound", "+8613800138000", "8001", "no_answer", 0)
    first, second = (missed, ended) if missed_first else (ended, missed)
    await first(hub, tenant, facts)
    await second(hub, tenant, facts)
    await first(hub, tenant, facts)  # either one again
    await second(hub, tenant, facts)
    assert await calls_of(client, tenant, c["id"]) == {f"call:{call_id}": ("inbound", "missed", 0)}
    [t] = await tickets(client, tenant)
    assert (t["contact_id"], t["extra"]["call_id"]) == (c["id"], str(call_id))
