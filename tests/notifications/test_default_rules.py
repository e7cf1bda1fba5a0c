"""Built-in rules: an escalated ticket reaches the tenant's supervisors with no rule set up,
once, console first then SMS; a tenant rule on the topic, even disabled, replaces it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from comms.db.base import utcnow
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from comms.settings import Settings
from crm.tickets.events import TicketEscalated
from crm.tickets.models import Priority
from crm.tickets.schemas import TicketIn
from crm.tickets.service import create_ticket, escalate_overdue
from hubtest import TenantCtx
from messages_testkit import CountingProvider, events, settle, use_provider
from notif_testkit import add_rule, attempts, make_user, notices
from notifications.defaults import text_for
from notifications.models import Notification
from notifications.notify import notify_event
from notifications.schemas import TemplateIn
from notifications.tasks import sweep
from notifications.templates import _compiled, check_template

ESCALATED = "crm.ticket.escalated"
LONG_AGO = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)  # every SLA target has passed since


async def escalate_a_ticket(hub: Hub, tenant: TenantCtx, subject: str = "VPN down") -> None:
    """A ticket opened long ago, escalated by the sweep's own function, the bus settled."""
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        await create_ticket(s, TicketIn(subject=subject, team="noc"), now=LONG_AGO)
        await s.commit()
    async with hub.db.session() as s:
        unscoped(s)
        assert len(await escalate_overdue(s, utcnow())) == 1
        await s.commit()
    await settle(hub)


async def sweep_at(hub: Hub, minutes: float) -> int:
    async with hub.db.session() as s:
        unscoped(s)
        n = await sweep(s, utcnow() + timedelta(minutes=minutes))
        await s.commit()
    await settle(hub)
    return n


async def test_with_no_rule_an_escalation_notifies_each_supervisor_once(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = CountingProvider()
    use_provider(hub, provider)
    chief = await make_user(client, tenant, role="supervisor", mobile="+8613800138101")
    deputy = await make_user(client, tenant, role="supervisor", mobile="+8613800138102")
    await make_user(client, tenant, role="agent", mobile="+8613800138103")

    await escalate_a_ticket(hub, tenant)

    made = await notices(hub)
    assert sorted(str(n.user_id) for n in made) == sorted([chief["id"], deputy["id"]])
    for n in made:
        assert n.rule_id is None and n.urgency == "urgent"
        assert n.channels == ["console", "sms", "email"] and n.status == "sending"
        assert n.title == "工单已升级：VPN down"  # the zh-CN default text, no template set
    posted = await events(hub, "notifications.console.posted")
    assert len(posted) == 2 and "VPN down" in posted[0]["body"]
    assert "解决" in posted[0]["body"] or "首次响应" in posted[0]["body"]
    assert provider.submitted == []  # console first

    # The chief reads in time; the deputy does not and gets the SMS once.
    [chief_notice] = [n for n in made if str(n.user_id) == chief["id"]]
    r = await client.post(f"/api/v1/notifications/{chief_notice.id}/read", headers=chief["auth"])
    assert r.status_code == 200, r.text
    assert await sweep_at(hub, 11) == 1
    assert [s.to for s in provider.submitted] == ["+8613800138102"]
    assert "VPN down" in provider.submitted[0].text
    assert await sweep_at(hub, 30) == 0
    assert len(provider.submitted) == 1
    [deputy_notice] = [n for n in made if str(n.user_id) == deputy["id"]]
    assert [a.channel for a in await attempts(hub, deputy_notice.id)] == ["console", "sms"]

    # The sweep escalates a ticket once, so the supervisors hear of it once.
    async with hub.db.session() as s:
        unscoped(s)
        assert await escalate_overdue(s, utcnow() + timedelta(days=30)) == []
        await s.commit()
    await settle(hub)
    assert len(await notices(hub)) == 2


async def test_a_repeated_delivery_makes_no_second_default_notice(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, settings: Settings
) -> None:
    await make_user(client, tenant, role="supervisor", mobile="+8613800138111")
    await escalate_a_ticket(hub, tenant)
    [first] = await notices(hub)
    [event] = await events(hub, ESCALATED)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        assert (
            await notify_event(s, settings, ESCALATED, first.event_id or 0, event, utcnow()) == []
        )
        await s.commit()
    assert [n.id for n in await notices(hub)] == [first.id]


async def test_a_tenant_rule_on_the_topic_replaces_the_default(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await make_user(client, tenant, role="supervisor", mobile="+8613800138121")
    manager = await make_user(client, tenant, role="agent", mobile="+8613800138122")
    rule = await add_rule(
        client,
        tenant,
        name="overdue tickets to the manager",
        topic=ESCALATED,
        recipients=[{"kind": "user", "value": manager["id"]}],
        channels=["sms"],
    )
    await escalate_a_ticket(hub, tenant, "first")
    [n] = await notices(hub)  # the tenant's rule only: no second notice from the default
    assert (str(n.rule_id), str(n.user_id)) == (rule["id"], manager["id"])

    # Disabled, it still replaces the default: that is how a tenant switches it off.
    body = {k: rule[k] for k in ("name", "topic", "recipients", "channels", "urgency")}
    r = await client.put(
        f"/api/v1/notifications/rules/{rule['id']}",
        headers=tenant.auth,
        json={**body, "enabled": False},
    )
    assert r.status_code == 200, r.text
    await escalate_a_ticket(hub, tenant, "second")
    assert len(await notices(hub)) == 1


async def test_another_tenants_rule_does_not_replace_this_tenants_default(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    boss = await make_user(client, tenant, role="supervisor", mobile="+8613800138131")
    await add_rule(client, other_tenant, topic=ESCALATED, enabled=False)
    await escalate_a_ticket(hub, tenant)
    async with hub.db.session() as s:
        unscoped(s)
        rows = list(await s.scalars(select(Notification.user_id)))
    assert [str(u) for u in rows] == [boss["id"]]


def test_default_texts_use_only_the_payloads_fields_and_render_in_both_locales(hub: Hub) -> None:
    payload = TicketEscalated(
        ticket_id=uuid.UUID(int=0xABCDEF12 << 96),
        contact_id=None,
        reason="first_response",
        due=LONG_AGO,
        priority=Priority.URGENT,
        previous_priority=Priority.HIGH,
        assignee_id=None,
        team=None,
        subject="VPN down",
    ).model_dump(mode="json")
    lines = {}
    for locale in ("zh-CN", "en"):
        text = text_for(ESCALATED, locale)
        assert text is not None
        subject, body = text
        tpl = TemplateIn(topic=ESCALATED, channel="sms", locale=locale, subject=subject, body=body)
        assert check_template(hub.topics, tpl) == []  # no unknown variable, no syntax error
        lines[locale] = _compiled(body, False).render(payload)
    assert lines["en"] == (
        'Ticket abcdef12 "VPN down" missed its first response target (2026-01-05 02:00 UTC); '
        "priority raised from high to urgent."
    )
    assert lines["zh-CN"].startswith("工单 abcdef12「VPN down」已超过首次响应时限")


async def test_a_tenant_can_write_the_default_rule_itself_with_a_payload_role(
    client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    body = {
        "name": "overdue tickets",
        "topic": ESCALATED,
        "recipients": [{"kind": "payload_role", "value": "notify_role"}],
        "channels": ["console", "sms", "email"],
        "urgency": "urgent",
    }
    r = await client.post("/api/v1/notifications/rules", headers=tenant.auth, json=body)
    assert r.status_code == 201, r.text
    body["recipients"] = [{"kind": "payload_role", "value": "notify_who"}]
    r = await client.post("/api/v1/notifications/rules", headers=tenant.auth, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "recipients[0].value"


async def test_the_defaults_are_listed_with_the_tenants_rules_that_replace_them(
    client: httpx.AsyncClient, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    async def escalated_default(who: TenantCtx) -> dict[str, object]:
        r = await client.get("/api/v1/notifications/rules/defaults", headers=who.auth)
        assert r.status_code == 200, r.text
        [found] = [d for d in r.json()["items"] if d["topic"] == ESCALATED]
        return found

    d = await escalated_default(tenant)
    assert d["active"] is True and d["replaced_by"] == []
    assert d["recipients"] == [{"kind": "payload_role", "value": "notify_role"}]
    assert d["channels"] == ["console", "sms", "email"] and d["urgency"] == "urgent"
    assert set(d["texts"]) == {"zh-CN", "en"}  # type: ignore[arg-type]

    rule = await add_rule(client, tenant, topic=ESCALATED, enabled=False)
    await add_rule(client, tenant, topic="crm.*")  # a pattern does not replace it
    d = await escalated_default(tenant)
    assert d["active"] is False and d["replaced_by"] == [rule["id"]]
    assert (await escalated_default(other_tenant))["active"] is True
