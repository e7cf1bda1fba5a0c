"""A known caller's voicemail joins their open ticket or opens one callback ticket; with the
call's missed-call event (either order) one call still makes one ticket."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from timeline_testkit import emit

from comms.db.base import utcnow
from comms.hub import Hub
from crm.tickets.handlers import CALL_MISSED
from crm_testkit import make_contact, make_ticket, set_status, timeline
from hubtest import TenantCtx

VOICEMAIL = "telephony.voicemail.recorded"


def voicemail(caller: str, call_id: uuid.UUID | None = None) -> dict[str, Any]:
    return {
        "voicemail_id": str(uuid.uuid4()),
        "call_id": None if call_id is None else str(call_id),
        "mailbox_member_id": None,
        "caller": caller,
        "callee": "8001",
        "recorded_at": utcnow().isoformat(),
        "duration_seconds": 17,
        "recording": "voicemail/8001/abc.wav",
    }


async def tickets(client: httpx.AsyncClient, t: TenantCtx) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get("/api/v1/crm/tickets", headers=t.auth)).json()[
        "items"
    ]
    return items


async def test_voicemail_opens_one_callback_ticket_and_a_repeat_adds_nothing(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    c = await make_contact(client, tenant, phones=["13800138000"])
    vm = voicemail("+8613800138000")
    await emit(hub, tenant, VOICEMAIL, vm)
    await emit(hub, tenant, VOICEMAIL, vm)  # the same event again
    await emit(hub, tenant, VOICEMAIL, voicemail("+8613900139000"))  # a stranger
    [t] = await tickets(client, tenant)
    assert (t["contact_id"], t["channel"], t["subject"]) == (
        c["id"],
        "phone",
        "Callback: voicemail from +8613800138000",
    )
    assert t["extra"]["callback"] == "+8613800138000"
    assert [v["recording"] for v in t["extra"]["voicemails"]] == [vm["recording"]]
    kinds = sorted(e["kind"] for e in await timeline(client, tenant, c["id"]))
    assert kinds == ["ticket", "voicemail"]


async def test_voicemail_joins_the_open_ticket_and_reopens_a_pending_one(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    c = await make_contact(client, tenant, phones=["13800138000"])
    t = await make_ticket(client, tenant, c["id"], "no dial tone")
    await set_status(client, tenant, t["id"], "pending")
    await emit(hub, tenant, VOICEMAIL, voicemail("138 0013 8000"))
    [after] = await tickets(client, tenant)
    assert (after["id"], after["status"]) == (t["id"], "open")
    assert len(after["extra"]["voicemails"]) == 1


@pytest.mark.parametrize("voicemail_first", [True, False])
async def test_one_call_with_a_missed_call_and_a_voicemail_makes_one_ticket(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, voicemail_first: bool
) -> None:
    if CALL_MISSED not in hub.topics:
        pytest.skip("telephony does not register telephony.call.missed in this build")
    c = await make_contact(client, tenant, phones=["13800138000"])
    call = uuid.uuid4()
    missed = {
        "call_id": str(call),
        "tenant_id": str(tenant.id),
        "direction": "inbound",
        "caller": "+8613800138000",
        "callee": "8001",
        "in_network": False,
        "at": utcnow().isoformat(),
        "disposition": "no_answer",
        "reason": "timeout",
    }
    events = [(VOICEMAIL, voicemail("+8613800138000", call)), (CALL_MISSED, missed)]
    for topic, payload in events if voicemail_first else events[::-1]:
        await emit(hub, tenant, topic, payload)
    [t] = await tickets(client, tenant)
    assert t["subject"].startswith("Callback")
    assert [v["call_id"] for v in t["extra"]["voicemails"]] == [str(call)]
    refs = sorted(e["ref"].split(":")[0] for e in await timeline(client, tenant, c["id"]))
    assert refs == ["call", "ticket", "voicemail"]
