"""Overdue tickets are escalated exactly once: priority raised, supervisors told via the bus."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from comms.jobs import repeat
from crm.tickets.cli import escalate_once
from crm.tickets.models import Priority, Ticket, TicketChannel, TicketStatus
from crm.tickets.schemas import TicketIn
from crm.tickets.service import create_ticket, escalate_overdue
from crm.tickets.state import transition
from crm_testkit import published
from hubtest import TenantCtx

MONDAY_10 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


async def test_an_overdue_ticket_is_escalated_once_however_often_the_check_runs(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        late = await create_ticket(
            s, TicketIn(subject="outage", priority=Priority.HIGH, team="noc"), now=MONDAY_10
        )
        fresh = await create_ticket(s, TicketIn(subject="later"), now=MONDAY_10 + timedelta(days=1))
        done = await create_ticket(s, TicketIn(subject="fixed"), now=MONDAY_10)
        transition(s, done, TicketStatus.RESOLVED, now=MONDAY_10)
        await s.commit()
        # High: first response 120 business minutes -> due 12:00 local.
        assert late.first_response_due == MONDAY_10 + timedelta(hours=2)
        late_id, fresh_id = late.id, fresh.id
    check_at = MONDAY_10 + timedelta(hours=3)
    for _ in range(3):
        async with hub.db.session() as s:
            unscoped(s)  # the periodic sweep works across tenants
            await escalate_overdue(s, check_at)
            await s.commit()
    events = await published(hub, "crm.ticket.escalated")
    assert len(events) == 1
    e = events[0]
    assert e["ticket_id"] == str(late_id) and e["reason"] == "first_response"
    assert (e["previous_priority"], e["priority"]) == ("high", "urgent")
    assert e["notify_role"] == "supervisor" and e["team"] == "noc"
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        t = await s.get(Ticket, late_id)
        assert t is not None and t.priority is Priority.URGENT and t.escalated_at == check_at
        other = await s.get(Ticket, fresh_id)
        assert other is not None and other.escalated_at is None


async def test_escalation_publishes_under_each_tickets_own_tenant(
    hub: Hub, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    for t in (tenant, other_tenant):
        async with hub.db.session() as s:
            scoped_to(s, t.id)
            await create_ticket(
                s,
                TicketIn(subject="x", channel=TicketChannel.WEB, priority=Priority.URGENT),
                now=MONDAY_10,
            )
            await s.commit()
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)  # a tenant-scoped check escalates only that tenant's tickets
        assert len(await escalate_overdue(s, MONDAY_10 + timedelta(days=5))) == 1
        await s.commit()
    async with hub.db.session() as s:
        unscoped(s)
        assert len(await escalate_overdue(s, MONDAY_10 + timedelta(days=5))) == 1
        await s.commit()
    assert len(await published(hub, "crm.ticket.escalated")) == 2


async def test_the_escalate_command_sweeps_every_tenant_once(
    hub: Hub, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    for t in (tenant, other_tenant):
        async with hub.db.session() as s:
            scoped_to(s, t.id)
            await create_ticket(s, TicketIn(subject="old"), now=MONDAY_10 - timedelta(days=30))
            await s.commit()
    assert await repeat(escalate_once, hub.db, 0) == 2
    assert await repeat(escalate_once, hub.db, 0) == 0
