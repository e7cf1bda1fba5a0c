"""Channels in order with fallback, through real bus deliveries and comms' sender: console
first, SMS when the console notice stays unread, email when the SMS fails."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from comms.db.base import utcnow
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from comms.messages.events import StatusChange
from comms.messages.lifecycle import change_of
from comms.messages.models import Message
from comms.messages.state import MessageStatus
from hubtest import TenantCtx
from messages_testkit import CountingProvider, events, settle, use_provider
from notif_testkit import RejectingProvider, add_rule, attempts, fire, make_user, notices, stock_low
from notifications.dispatch import on_message_statuses
from notifications.models import Notification, NotificationStatus
from notifications.tasks import sweep


async def sweep_at(hub: Hub, minutes: float) -> int:
    """Run the periodic sweep as if `minutes` had passed, then let the bus settle."""
    async with hub.db.session() as s:
        unscoped(s)
        n = await sweep(s, utcnow() + timedelta(minutes=minutes))
        await s.commit()
    await settle(hub)
    return n


async def notify_manager(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, **rule: object
) -> dict[str, Any]:
    """A manager with a mobile, a rule sending them SMS then email, one event fired and
    settled; the manager."""
    manager = await make_user(client, tenant, mobile="+8613800138001")
    await add_rule(
        client,
        tenant,
        recipients=[{"kind": "payload_user", "value": "manager_id"}],
        channels=["sms", "email"],
        **rule,
    )
    await fire(hub, tenant, stock_low(manager_id=manager["id"], on_hand=3))
    await settle(hub)
    return manager


async def test_rule_sends_one_sms_and_falls_back_to_email_when_the_sms_fails(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = RejectingProvider()
    use_provider(hub, provider)
    manager = await notify_manager(
        hub, client, tenant, conditions=[{"field": "on_hand", "op": "lt", "value": 5}]
    )

    [n] = await notices(hub)
    assert n.status == "sent" and n.channel_index == 1  # the log mail transport took it
    tried = await attempts(hub, n.id)
    assert [(a.channel, a.status) for a in tried] == [("sms", "failed"), ("email", "sent")]
    assert tried[0].error == "INVALID_DEST"
    assert tried[0].address == "+8613800138001" and tried[1].address == manager["email"]
    assert len(provider.submitted) == 1
    mails = await events(hub, "comms.message.status", str(tried[1].message_id))
    assert mails[-1]["status"] == "sent"


async def test_condition_that_does_not_hold_makes_no_notice(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    manager = await make_user(client, tenant)
    await add_rule(
        client,
        tenant,
        recipients=[{"kind": "user", "value": manager["id"]}],
        conditions=[{"field": "warehouse", "op": "in", "value": ["WH2", "WH3"]}],
    )
    await fire(hub, tenant, stock_low(warehouse="WH1"))
    await settle(hub)
    assert await notices(hub) == []


async def test_console_notice_read_in_time_sends_no_sms(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = CountingProvider()
    use_provider(hub, provider)
    agent = await make_user(client, tenant)
    await add_rule(client, tenant, recipients=[{"kind": "user", "value": agent["id"]}])
    await fire(hub, tenant, stock_low())
    await settle(hub)
    [n] = await notices(hub)
    posted = await events(hub, "notifications.console.posted")
    assert [p["notification_id"] for p in posted] == [str(n.id)]
    assert posted[0]["user_id"] == agent["id"] and posted[0]["body"] == "库存低: 螺丝 M3 剩 3"

    r = await client.post(f"/api/v1/notifications/{n.id}/read", headers=agent["auth"])
    assert r.status_code == 200 and r.json()["status"] == "read"
    assert await sweep_at(hub, 11) == 0
    assert provider.submitted == []


async def test_unread_console_notice_escalates_to_sms_after_n_minutes(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = CountingProvider()
    use_provider(hub, provider)
    agent = await make_user(client, tenant, mobile="+8613800138002")
    await add_rule(client, tenant, recipients=[{"kind": "user", "value": agent["id"]}])
    await fire(hub, tenant, stock_low())
    await settle(hub)

    assert await sweep_at(hub, 5) == 0  # not due yet
    assert provider.submitted == []
    assert await sweep_at(hub, 11) == 1
    assert [s.to for s in provider.submitted] == ["+8613800138002"]
    assert await sweep_at(hub, 30) == 0  # escalated once, not again
    assert len(provider.submitted) == 1
    [n] = await notices(hub)
    assert n.status == "sent"  # the log provider sends no delivery receipt
    assert [a.channel for a in await attempts(hub, n.id)] == ["console", "sms"]


async def test_contact_on_the_event_gets_an_sms_and_console_is_skipped(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = CountingProvider()
    use_provider(hub, provider)
    await add_rule(client, tenant, recipients=[{"kind": "contact"}])
    await fire(hub, tenant, stock_low(contact_phone="+8613900139000"))
    await settle(hub)
    [n] = await notices(hub)
    assert n.user_id is None and n.channels == ["sms", "email"]
    assert [s.to for s in provider.submitted] == ["+8613900139000"]


async def test_repeated_delivery_of_an_event_makes_one_notice(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    from comms.db.base import utcnow as now
    from notifications import notify

    agent = await make_user(client, tenant)
    await add_rule(client, tenant, recipients=[{"kind": "user", "value": agent["id"]}])
    payload = stock_low().model_dump(mode="json")
    for _ in range(2):
        async with hub.db.session() as s:
            from comms.db.tenancy import scoped_to

            scoped_to(s, tenant.id)
            await notify.notify_event(s, hub.settings, "erp.teststock.low", 42, payload, now())
            await s.commit()
    assert len(await notices(hub)) == 1


async def test_department_recipients_are_the_active_users_of_that_department(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    buyer = await make_user(client, tenant, department="采购")
    await make_user(client, tenant, department="销售")
    gone = await make_user(client, tenant, department="采购")
    r = await client.patch(
        f"/api/v1/users/{gone['id']}", headers=tenant.auth, json={"is_active": False}
    )
    assert r.status_code == 200, r.text
    await add_rule(client, tenant, recipients=[{"kind": "department", "value": "采购"}])
    await fire(hub, tenant, stock_low())
    await settle(hub)
    assert [str(n.user_id) for n in await notices(hub)] == [buyer["id"]]


async def test_escalation_skips_sms_for_a_user_without_a_mobile_and_sends_email(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = CountingProvider()
    use_provider(hub, provider)
    agent = await make_user(client, tenant, mobile=None)
    await add_rule(client, tenant, recipients=[{"kind": "user", "value": agent["id"]}])
    await fire(hub, tenant, stock_low())
    await settle(hub)
    assert await sweep_at(hub, 11) == 1
    [n] = await notices(hub)
    tried = await attempts(hub, n.id)
    assert [(a.channel, a.status) for a in tried] == [
        ("console", "posted"),
        ("sms", "skipped"),
        ("email", "sent"),
    ]
    assert tried[1].error == "recipient has no mobile number"
    assert provider.submitted == []


async def delivered(s: AsyncSession, message_id: uuid.UUID) -> StatusChange:
    """The change comms publishes when the SMSC's receipt says the message was delivered."""
    msg = await s.get(Message, message_id)
    assert msg is not None and msg.status is MessageStatus.SENT
    update = {"status": MessageStatus.DELIVERED, "previous": MessageStatus.SENT, "at": utcnow()}
    return change_of(msg, None).model_copy(update=update)


async def deliver_sms_of(hub: Hub, tenant: TenantCtx, message_id: uuid.UUID) -> None:
    """The receipt for the message through notifications' handler."""
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        change = await delivered(s, message_id)
        await on_message_statuses(s, hub.settings, [change], utcnow())
        await s.commit()


async def test_a_receipt_moves_the_attempt_but_not_a_notice_read_meanwhile(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await notify_manager(hub, client, tenant)
    [n] = await notices(hub)
    [sms] = await attempts(hub, n.id)
    assert (n.status, sms.status) == ("sent", "sent") and sms.message_id is not None
    async with hub.db.session() as s:  # read on the console meanwhile (as a console-first
        scoped_to(s, tenant.id)  # notice whose SMS went out before it was read)
        notice = await s.get(Notification, n.id)
        assert notice is not None
        notice.status = NotificationStatus.READ
        await s.commit()
    await deliver_sms_of(hub, tenant, sms.message_id)
    [n] = await notices(hub)
    [sms] = await attempts(hub, n.id)
    assert (n.status, sms.status) == ("read", "delivered")


# Counts of this transaction not yet in pg_stat_user_tables (see tests/comms/messages/
# test_hot_updates.py for why the test takes a difference).
UPDATES = "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = :t"


async def test_a_notice_moving_to_delivered_is_a_hot_update(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    if hub.db.dialect != "postgresql":
        pytest.skip("HOT updates are PostgreSQL's")
    await notify_manager(hub, client, tenant)
    [n] = await notices(hub)
    assert n.status == "sent"
    [sms] = await attempts(hub, n.id)
    assert sms.message_id is not None
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        async with s.begin():
            change = await delivered(s, sms.message_id)
            table = {"t": "notifications"}
            before = (await s.execute(text(UPDATES), table)).one_or_none() or (0, 0)
            await on_message_statuses(s, hub.settings, [change], utcnow())
            await s.flush()
            after = (await s.execute(text(UPDATES), table)).one()
    [n] = await notices(hub)
    assert n.status == "delivered"
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)  # one update, HOT
