"""Preferences: quiet hours hold normal notices and pass urgent ones, unsubscribe, channels
per topic, deduplication within a window and digests of low-urgency notices."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from comms.db.base import utcnow
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from comms.messages.lifecycle import change_of
from comms.messages.models import Message
from comms.messages.state import MessageStatus
from hubtest import TenantCtx
from messages_testkit import CountingProvider, events, settle, use_provider
from notif_testkit import TOPIC, add_rule, attempts, fire, make_user, notices, stock_low
from notifications.dispatch import on_message_statuses
from notifications.models import DeliveryAttempt, Notification, NotificationSettings
from notifications.notify import notify_event
from notifications.preferences import quiet_until
from notifications.tasks import sweep

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def sweep_at(hub: Hub, minutes: float) -> int:
    async with hub.db.session() as s:
        unscoped(s)
        n = await sweep(s, utcnow() + timedelta(minutes=minutes))
        await s.commit()
    await settle(hub)
    return n


def quiet_window(start_minutes: float, end_minutes: float) -> dict[str, str]:
    """Quiet hours from `start_minutes` to `end_minutes` after the present moment (negative:
    before it) in the tenant's zone (Asia/Shanghai), to the minute."""
    local = utcnow().astimezone(SHANGHAI)
    start, end = local + timedelta(minutes=start_minutes), local + timedelta(minutes=end_minutes)
    return {"quiet_start": start.strftime("%H:%M"), "quiet_end": end.strftime("%H:%M")}


def quiet_now() -> dict[str, str]:
    """A quiet window around the present moment in the tenant's zone (Asia/Shanghai)."""
    return quiet_window(-60, 60)


async def put_prefs(client: httpx.AsyncClient, user: dict[str, object], **body: object) -> None:
    r = await client.put("/api/v1/notifications/preferences", headers=user["auth"], json=body)  # type: ignore[arg-type]
    assert r.status_code == 200, r.text


def test_quiet_window_over_midnight_ends_next_morning_local_time() -> None:
    row = NotificationSettings(quiet_start="22:00", quiet_end="08:00")
    at = datetime(2026, 3, 1, 23, 30, tzinfo=SHANGHAI)
    end = quiet_until(row, SHANGHAI, at.astimezone(ZoneInfo("UTC")))
    assert end is not None and end.astimezone(SHANGHAI) == datetime(
        2026, 3, 2, 8, 0, tzinfo=SHANGHAI
    )
    assert quiet_until(row, SHANGHAI, datetime(2026, 3, 1, 12, 0, tzinfo=SHANGHAI)) is None
    early = quiet_until(row, SHANGHAI, datetime(2026, 3, 2, 7, 59, tzinfo=SHANGHAI))
    assert early is not None and early.astimezone(SHANGHAI).hour == 8


async def test_quiet_hours_hold_a_normal_notice_and_pass_an_urgent_one(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = CountingProvider()
    use_provider(hub, provider)
    user = await make_user(client, tenant, mobile="+8613800138003")
    await put_prefs(client, user, **quiet_now())
    target = [{"kind": "user", "value": user["id"]}]
    for urgency in ("normal", "urgent"):
        await add_rule(
            client,
            tenant,
            name=urgency,
            recipients=target,
            channels=["sms"],
            urgency=urgency,
            conditions=[{"field": "sku", "op": "eq", "value": urgency}],
        )
    await fire(hub, tenant, stock_low(sku="normal", summary="normal low"))
    await fire(hub, tenant, stock_low(sku="urgent", summary="urgent low"))
    await settle(hub)

    by_urgency = {n.urgency.value: n for n in await notices(hub)}
    assert by_urgency["normal"].status == "held"
    assert by_urgency["urgent"].status == "sent"
    assert [x.text for x in provider.submitted] == ["urgent low"]

    assert await sweep_at(hub, 30) == 0  # still quiet
    assert await sweep_at(hub, 125) == 1  # the window is over
    assert [x.text for x in provider.submitted] == ["urgent low", "normal low"]
    released = {n.urgency.value: n for n in await notices(hub)}["normal"]
    assert [a.channel for a in await attempts(hub, released.id)] == ["sms"]


async def test_unsubscribed_topic_and_preferred_channels_are_honoured(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = CountingProvider()
    use_provider(hub, provider)
    quiet_user = await make_user(client, tenant, mobile="+8613800138004")
    sms_user = await make_user(client, tenant, mobile="+8613800138005")
    await put_prefs(client, quiet_user, topics=[{"topic": "erp.*", "unsubscribed": True}])
    await put_prefs(client, sms_user, topics=[{"topic": "erp.teststock.low", "channels": ["sms"]}])
    await add_rule(client, tenant, recipients=[{"kind": "role", "value": "agent"}])
    await fire(hub, tenant, stock_low())
    await settle(hub)
    [n] = await notices(hub)
    assert str(n.user_id) == sms_user["id"] and n.channels == ["sms"]
    assert [s.to for s in provider.submitted] == ["+8613800138005"]


async def test_same_dedupe_key_within_the_window_is_suppressed(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    user = await make_user(client, tenant)
    await add_rule(
        client,
        tenant,
        recipients=[{"kind": "user", "value": user["id"]}],
        channels=["console"],
        dedupe_field="sku",
        dedupe_minutes=60,
    )
    await fire(hub, tenant, stock_low(sku="A"))
    await fire(hub, tenant, stock_low(sku="A"))
    await fire(hub, tenant, stock_low(sku="B"))
    await settle(hub)
    statuses = sorted((n.dedupe_key, n.status.value) for n in await notices(hub))
    assert statuses == [("A", "sending"), ("A", "suppressed"), ("B", "sending")]
    assert len(await events(hub, "notifications.console.posted")) == 2


async def test_the_same_dedupe_key_after_the_window_makes_a_new_notice(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    user = await make_user(client, tenant)
    await add_rule(
        client,
        tenant,
        recipients=[{"kind": "user", "value": user["id"]}],
        channels=["console"],
        dedupe_field="sku",
        dedupe_minutes=60,
    )
    start = utcnow()
    payload = stock_low(sku="A").model_dump(mode="json")
    # The events as the handler would take them, at these times.
    for event_id, minutes in ((1, 0), (2, 59), (3, 61)):
        async with hub.db.session() as s:
            scoped_to(s, tenant.id)
            at = start + timedelta(minutes=minutes)
            await notify_event(s, hub.settings, TOPIC, event_id, payload, at)
            await s.commit()
    statuses = [(n.event_id, n.status.value) for n in await notices(hub)]
    assert statuses == [(1, "sending"), (2, "suppressed"), (3, "sending")]


async def test_low_urgency_notices_go_out_as_one_digest_per_user_and_channel(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = CountingProvider()
    use_provider(hub, provider)
    user = await make_user(client, tenant, mobile="+8613800138006")
    await put_prefs(client, user, digest_minutes=30)
    await add_rule(
        client,
        tenant,
        recipients=[{"kind": "user", "value": user["id"]}],
        channels=["sms"],
        urgency="low",
    )
    for sku in ("A", "B", "C"):
        await fire(hub, tenant, stock_low(sku=sku, summary=f"low {sku}"))
    await settle(hub)
    assert {n.status.value for n in await notices(hub)} == {"digest"}
    assert provider.submitted == []

    assert await sweep_at(hub, 10) == 0
    assert await sweep_at(hub, 31) == 1  # one digest event for the user's sms channel
    assert len(provider.submitted) == 1
    text = provider.submitted[0].text
    assert all(f"low {x}" in text for x in "ABC")
    rows = await notices(hub)
    [digest] = [n for n in rows if n.topic == "notifications.digest"]
    assert (
        sorted(n.status.value for n in rows if n.topic != "notifications.digest")
        == ["digested"] * 3
    )
    assert all(n.digest_id == digest.id for n in rows if n.topic != "notifications.digest")
    assert await sweep_at(hub, 120) == 0  # nothing left to digest


async def digest_user(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, mobile: str, quiet: dict[str, str]
) -> CountingProvider:
    """A user with a 30-minute digest, the given quiet hours and a low-urgency SMS rule;
    the provider that counts what goes out."""
    provider = CountingProvider()
    use_provider(hub, provider)
    user = await make_user(client, tenant, mobile=mobile)
    await put_prefs(client, user, digest_minutes=30, **quiet)
    await add_rule(
        client,
        tenant,
        recipients=[{"kind": "user", "value": user["id"]}],
        channels=["sms"],
        urgency="low",
    )
    return provider


async def fire_low(hub: Hub, tenant: TenantCtx, *skus: str) -> None:
    for sku in skus:
        await fire(hub, tenant, stock_low(sku=sku, summary=f"low {sku}"))
    await settle(hub)


def one_digest_with(provider: CountingProvider, *skus: str) -> None:
    assert len(provider.submitted) == 1
    assert all(f"low {x}" in provider.submitted[0].text for x in skus)


async def test_a_digest_due_in_quiet_hours_waits_for_the_window_end_and_goes_out_once(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    # The digest opens before the quiet hours and would close 30 minutes on, inside them.
    provider = await digest_user(hub, client, tenant, "+8613800138007", quiet_window(10, 120))
    await fire_low(hub, tenant, "A", "B")

    assert await sweep_at(hub, 31) == 0  # due inside the quiet hours: not sent
    assert await sweep_at(hub, 90) == 0  # still quiet
    assert provider.submitted == []
    assert {n.status.value for n in await notices(hub)} == {"digest"}

    assert await sweep_at(hub, 121) == 1  # the window is over: one digest event
    one_digest_with(provider, "A", "B")
    rows = await notices(hub)
    [digest] = [n for n in rows if n.topic == "notifications.digest"]
    items = [n for n in rows if n.topic != "notifications.digest"]
    assert [n.status.value for n in items] == ["digested"] * 2
    assert all(n.digest_id == digest.id for n in items)
    assert await sweep_at(hub, 300) == 0  # nothing sent twice
    assert len(provider.submitted) == 1


async def test_an_item_arriving_while_a_digest_waits_out_quiet_hours_joins_it(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = await digest_user(hub, client, tenant, "+8613800138008", quiet_now())
    await fire_low(hub, tenant, "A")
    assert await sweep_at(hub, 31) == 0  # due, but quiet until about an hour from now

    await fire_low(hub, tenant, "B")
    rows = await notices(hub)
    assert [n.status.value for n in rows] == ["digest", "digest"]
    assert rows[0].due_at == rows[1].due_at  # the late item joined the waiting digest
    assert provider.submitted == []

    assert await sweep_at(hub, 61) == 1
    one_digest_with(provider, "A", "B")
    items = [n for n in await notices(hub) if n.topic != "notifications.digest"]
    assert [n.status.value for n in items] == ["digested"] * 2
    assert await sweep_at(hub, 300) == 0
    assert len(provider.submitted) == 1


async def test_a_digest_due_outside_quiet_hours_goes_out_when_due(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = await digest_user(hub, client, tenant, "+8613800138009", quiet_window(120, 180))
    await fire_low(hub, tenant, "A", "B")

    assert await sweep_at(hub, 31) == 1
    one_digest_with(provider, "A", "B")
    assert await sweep_at(hub, 300) == 0


async def console_then_sms(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, mobile: str, urgency: str
) -> tuple[CountingProvider, dict[str, Any]]:
    """A console notice (SMS after 10 minutes unread) posted outside quiet hours, then quiet
    hours set around the present moment, so the escalation comes due inside them; the
    provider and the user."""
    provider = CountingProvider()
    use_provider(hub, provider)
    user = await make_user(client, tenant, mobile=mobile)
    await add_rule(
        client,
        tenant,
        recipients=[{"kind": "user", "value": user["id"]}],
        channels=["console", "sms"],
        urgency=urgency,
    )
    await fire(hub, tenant, stock_low(summary="low A"))
    await settle(hub)
    [n] = await notices(hub)
    assert n.status == "sending" and n.channel_index == 0
    await put_prefs(client, user, **quiet_now())
    return provider, user


async def test_an_escalation_due_in_quiet_hours_waits_for_the_window_end_and_sends_once(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider, _ = await console_then_sms(hub, client, tenant, "+8613800138010", "normal")

    assert await sweep_at(hub, 11) == 1  # the escalation comes due inside the quiet hours
    assert provider.submitted == []
    [n] = await notices(hub)
    assert (n.status, n.channel_index) == ("held", 1)  # held on the SMS, not the console
    assert n.due_at is not None and n.due_at > utcnow() + timedelta(minutes=50)

    assert await sweep_at(hub, 30) == 0  # still quiet
    assert await sweep_at(hub, 61) == 1  # the window is over: released
    assert [s.to for s in provider.submitted] == ["+8613800138010"]
    [n] = await notices(hub)
    assert n.status == "sent"
    assert [(a.channel, a.status) for a in await attempts(hub, n.id)] == [
        ("console", "posted"),
        ("sms", "sent"),
    ]  # released from its channel: the console notice is not posted again
    assert await sweep_at(hub, 300) == 0
    assert len(provider.submitted) == 1


async def test_an_urgent_escalation_goes_through_quiet_hours(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider, _ = await console_then_sms(hub, client, tenant, "+8613800138011", "urgent")
    assert await sweep_at(hub, 11) == 1
    assert [s.to for s in provider.submitted] == ["+8613800138011"]
    [n] = await notices(hub)
    assert (n.status, n.channel_index) == ("sent", 1)


async def test_reading_the_console_notice_while_its_escalation_is_held_stops_it(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider, user = await console_then_sms(hub, client, tenant, "+8613800138012", "normal")
    assert await sweep_at(hub, 11) == 1
    [n] = await notices(hub)
    assert n.status == "held"
    r = await client.post(f"/api/v1/notifications/{n.id}/read", headers=user["auth"])
    assert r.status_code == 200 and r.json()["status"] == "read", r.text
    assert await sweep_at(hub, 61) == 0
    assert provider.submitted == []


async def undelivered(hub: Hub, tenant: TenantCtx, message_id: object) -> None:
    """The SMSC's receipt saying the sent SMS was not delivered, through notifications'
    handler (as comms publishes it)."""
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        msg = await s.get(Message, message_id)
        assert msg is not None and msg.status is MessageStatus.SENT
        change = change_of(msg, None).model_copy(
            update={
                "status": MessageStatus.UNDELIVERED,
                "previous": MessageStatus.SENT,
                "error_code": "EXPIRED",
                "at": utcnow(),
            }
        )
        await on_message_statuses(s, hub.settings, [change], utcnow())
        await s.commit()


async def sms_then_email(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx, urgency: str
) -> tuple[Notification, DeliveryAttempt]:
    """An SMS notice sent outside quiet hours, then quiet hours set around the present
    moment; the notice and its SMS attempt."""
    use_provider(hub, CountingProvider())
    user = await make_user(client, tenant, mobile="+8613800138013")
    await add_rule(
        client,
        tenant,
        recipients=[{"kind": "user", "value": user["id"]}],
        channels=["sms", "email"],
        urgency=urgency,
    )
    await fire(hub, tenant, stock_low())
    await settle(hub)
    [n] = await notices(hub)
    [sms] = await attempts(hub, n.id)
    assert n.status == "sent" and sms.message_id is not None
    await put_prefs(client, user, **quiet_now())
    return n, sms


async def test_an_sms_failing_in_quiet_hours_holds_the_email_until_the_window_ends(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    n, sms = await sms_then_email(hub, client, tenant, "normal")
    await undelivered(hub, tenant, sms.message_id)
    [n] = await notices(hub)
    assert (n.status, n.channel_index) == ("held", 1)
    assert [(a.channel, a.status) for a in await attempts(hub, n.id)] == [("sms", "undelivered")]

    assert await sweep_at(hub, 30) == 0
    assert await sweep_at(hub, 61) == 1
    [n] = await notices(hub)
    assert n.status == "sent"
    assert [(a.channel, a.status) for a in await attempts(hub, n.id)] == [
        ("sms", "undelivered"),
        ("email", "sent"),
    ]
    assert await sweep_at(hub, 300) == 0
    assert len(await attempts(hub, n.id)) == 2


async def test_an_urgent_sms_failing_in_quiet_hours_falls_back_to_email_at_once(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    n, sms = await sms_then_email(hub, client, tenant, "urgent")
    await undelivered(hub, tenant, sms.message_id)
    await settle(hub)
    [n] = await notices(hub)
    assert n.status == "sent"
    assert [(a.channel, a.status) for a in await attempts(hub, n.id)] == [
        ("sms", "undelivered"),
        ("email", "sent"),
    ]
