"""Messages of known contacts reach the timeline; inbound SMS opens then extends a ticket."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from comms.channels.sms.provider import InboundSms
from comms.db.base import utcnow
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.messages.inbound import InboundEmail, MessagingSink
from crm.tickets.models import TicketMessage
from crm_testkit import make_contact, published
from hubtest import TenantCtx, drain
from messages_testkit import post_sms, settle


async def receive(hub: Hub, sender: str, text: str, pid: str) -> None:
    sink: MessagingSink = hub.services["messaging.sink"]
    assert await sink.receive_sms(InboundSms("log", sender, "1069000123", text, utcnow(), [pid]))
    await drain(hub)


async def use_inbound_number(client: httpx.AsyncClient, t: TenantCtx) -> None:
    r = await client.put(
        "/api/v1/messaging/settings", headers=t.auth, json={"inbound_sms_numbers": ["10690001"]}
    )
    assert r.status_code == 200, r.text


async def test_inbound_sms_from_a_contact_opens_a_ticket_then_appends_to_it(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await use_inbound_number(client, tenant)
    c = await make_contact(client, tenant, phones=["+86 138 0013 8000"])
    await receive(hub, "13800138000", "My router is down\nplease help", "in-1")
    tickets = (await client.get("/api/v1/crm/tickets", headers=tenant.auth)).json()["items"]
    assert len(tickets) == 1
    t = tickets[0]
    assert (t["contact_id"], t["channel"], t["subject"]) == (c["id"], "sms", "My router is down")
    moved = await client.patch(
        f"/api/v1/crm/tickets/{t['id']}", headers=tenant.auth, json={"status": "pending"}
    )
    assert moved.status_code == 200
    await receive(hub, "+8613800138000", "still down", "in-2")
    await receive(hub, "+8613800138000", "still down", "in-2")  # a repeated report
    tickets = (await client.get("/api/v1/crm/tickets", headers=tenant.auth)).json()["items"]
    assert [x["id"] for x in tickets] == [t["id"]]
    assert tickets[0]["status"] == "open"  # the customer's reply reopens a pending ticket
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        assert await s.scalar(select(func.count()).select_from(TicketMessage)) == 2
    assert len(await published(hub, "crm.ticket.created")) == 1
    timeline = await client.get(f"/api/v1/crm/contacts/{c['id']}/timeline", headers=tenant.auth)
    kinds = sorted((e["kind"], e["direction"]) for e in timeline.json()["items"])
    assert kinds == [("sms", "inbound"), ("sms", "inbound"), ("ticket", None)]


async def receive_email(hub: Hub, t: TenantCtx, sender: str, subject: str, mid: str) -> None:
    """A mail as the SMTP receiver hands it over (already routed to the tenant)."""
    sink: MessagingSink = hub.services["messaging.sink"]
    mail = InboundEmail(sender, "support@tenant.cn", subject, "see subject", None, mid, None)
    await sink.on_email(mail, t.id)
    await drain(hub)


async def test_inbound_email_from_a_contact_opens_a_ticket_then_appends_to_it(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    c = await make_contact(client, tenant, emails=["li@example.cn"])
    await receive_email(hub, tenant, "Li@Example.cn", "Invoice missing", "<m1@example.cn>")
    [t] = (await client.get("/api/v1/crm/tickets", headers=tenant.auth)).json()["items"]
    assert (t["contact_id"], t["channel"], t["subject"]) == (c["id"], "email", "Invoice missing")
    await receive_email(hub, tenant, "li@example.cn", "Re: Invoice missing", "<m2@example.cn>")
    await receive_email(hub, tenant, "li@example.cn", "Re: Invoice missing", "<m2@example.cn>")
    await receive_email(hub, tenant, "wang@example.cn", "Hello", "<m3@example.cn>")  # stranger
    tickets = (await client.get("/api/v1/crm/tickets", headers=tenant.auth)).json()["items"]
    assert [x["id"] for x in tickets] == [t["id"]]
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        assert await s.scalar(select(func.count()).select_from(TicketMessage)) == 2
    timeline = await client.get(f"/api/v1/crm/contacts/{c['id']}/timeline", headers=tenant.auth)
    entries = sorted((e["kind"], e["direction"], e["summary"]) for e in timeline.json()["items"])
    assert entries == [
        ("email", "inbound", "Invoice missing"),
        ("email", "inbound", "Re: Invoice missing"),
        ("ticket", None, "Invoice missing"),
    ]


async def test_inbound_sms_from_a_stranger_makes_no_ticket(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await use_inbound_number(client, tenant)
    await receive(hub, "13900139000", "who is this", "in-9")
    assert (await client.get("/api/v1/crm/tickets", headers=tenant.auth)).json()["items"] == []


async def test_outbound_sms_to_a_contact_is_on_the_timeline_with_its_latest_status(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    c = await make_contact(client, tenant, phones=["13800138000"])
    sent = await post_sms(client, tenant, to="138 0013 8000", body="your order shipped")
    await settle(hub)
    r = await client.get(f"/api/v1/crm/contacts/{c['id']}/timeline", headers=tenant.auth)
    items = r.json()["items"]
    assert [(e["ref"], e["direction"], e["status"]) for e in items] == [
        (f"message:{sent['id']}", "outbound", "sent")
    ]
    assert items[0]["summary"] == "your order shipped"
