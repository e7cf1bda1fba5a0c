"""A ticket past its resolution target is escalated once however often the sweep runs: the
priority goes up one step, one `crm.ticket.escalated`, one SMS to the supervisor at a real
SMSC (and none to an agent who is not a supervisor).

Time is driven the way tests/crm/test_ticket_escalation.py does: the sweep's own function,
`escalate_overdue`, called with an explicit `now` past the deadline the API reported."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from peers_testkit import Smsc, quiet, until
from sqlalchemy import select

from comms.db.tenancy import unscoped
from comms.hub import Hub
from crm.tickets.service import escalate_overdue
from erp_testkit import make_user, published
from hubtest import make_tenant
from notifications.models import Notification

pytestmark = pytest.mark.slow

SUPERVISOR_MOBILE, AGENT_MOBILE = "+8613600136041", "+8613600136042"
CRM = "/api/v1/crm"
ALL_DAY = {str(d): ["00:00", "23:59"] for d in range(7)}


async def test_an_overdue_ticket_is_escalated_and_texted_to_the_supervisor_once(
    peer_hub: Hub, api: httpx.AsyncClient, smsc: Smsc
) -> None:
    hub, c = peer_hub, api
    t = await make_tenant(hub, "help")
    await make_user(c, t, "chen.supervisor@help.cn", "supervisor", SUPERVISOR_MOBILE)
    await make_user(c, t, "sun.agent@help.cn", "agent", AGENT_MOBILE)
    r = await c.post(
        f"{CRM}/sla-policies",
        headers=t.auth,
        json={
            "name": "round the clock",
            "timezone": "UTC",
            "hours": ALL_DAY,
            "targets": {"normal": {"first_response": 30, "resolution": 120}},
            "is_default": True,
        },
    )
    assert r.status_code == 201, r.text
    r = await c.post(
        "/api/v1/notifications/rules",
        headers=t.auth,
        json={
            "name": "overdue tickets",
            "topic": "crm.ticket.escalated",
            "recipients": [{"kind": "role", "value": "supervisor"}],
            "channels": ["sms"],
        },
    )
    assert r.status_code == 201, r.text
    rule = r.json()
    r = await c.post(
        "/api/v1/notifications/templates",
        headers=t.auth,
        json={
            "topic": "crm.ticket.escalated",
            "channel": "sms",
            "locale": "en",
            "body": "Ticket {{ ticket_id }} overdue ({{ reason }}), now {{ priority }}",
        },
    )
    assert r.status_code == 201, r.text

    r = await c.post(f"{CRM}/tickets", headers=t.auth, json={"subject": "VPN down"})
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["priority"] == "normal"
    # The agent picks it up in time: only the resolution target is left to miss.
    r = await c.patch(f"{CRM}/tickets/{ticket['id']}", headers=t.auth, json={"status": "open"})
    assert r.status_code == 200, r.text
    resolution_due = datetime.fromisoformat(ticket["resolution_due"])

    async def sweep(now: datetime) -> int:
        async with hub.db.session() as s:
            unscoped(s)  # the periodic job works across tenants
            done = await escalate_overdue(s, now)
            await s.commit()
            return len(done)

    assert await sweep(resolution_due - timedelta(minutes=1)) == 0  # not yet due
    assert await sweep(resolution_due + timedelta(minutes=1)) == 1
    assert await sweep(resolution_due + timedelta(minutes=2)) == 0
    await until(hub, lambda: len(smsc.messages()) >= 1)
    await quiet(hub)

    got = (await c.get(f"{CRM}/tickets/{ticket['id']}", headers=t.auth)).json()
    assert got["priority"] == "high"
    [event] = await published(hub, "crm.ticket.escalated")
    assert (event["ticket_id"], event["reason"]) == (ticket["id"], "resolution")
    [sms] = smsc.messages()
    assert sms.to == SUPERVISOR_MOBILE
    assert sms.text == f"Ticket {ticket['id']} overdue (resolution), now high"
    assert smsc.to(AGENT_MOBILE) == []
    # The tenant's own rule replaces the built-in one for the topic: one notice, not two.
    async with hub.db.session() as s:
        unscoped(s)
        [notice] = list(await s.scalars(select(Notification)))
    assert str(notice.rule_id) == rule["id"]
