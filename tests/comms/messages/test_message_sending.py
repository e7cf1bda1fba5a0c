"""The send path: lifecycle events, retries while a provider is down, resume after a
restart without duplicates, receipts rolled up per segment, inbound SMS threading."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select

from comms.channels.sms.provider import DeliveryReceipt, InboundSms, ReceiptState
from comms.db.base import utcnow
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.messages.inbound import MessagingSink
from comms.messages.models import MessagePart
from comms.messages.sweep import sweep
from hubtest import RecordingDispatcher, TenantCtx, all_modules
from messages_testkit import (
    CountingProvider,
    DownProvider,
    RacingProvider,
    events,
    post_sms,
    sender_of,
    settle,
    statuses,
    use_provider,
)


async def message(client: httpx.AsyncClient, t: TenantCtx, mid: str) -> dict[str, object]:
    r = await client.get(f"/api/v1/messages/{mid}", headers=t.auth)
    assert r.status_code == 200
    data: dict[str, object] = r.json()
    return data


async def test_queued_message_is_sent_and_each_change_is_published(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    sent = await post_sms(client, tenant, body="hello")
    assert await statuses(hub, sent["id"]) == ["queued"]
    await settle(hub)
    msg = await message(client, tenant, sent["id"])
    assert msg["status"] == "sent"
    assert msg["provider"] == "log"
    assert str(msg["provider_message_id"]).startswith("log-")
    assert msg["sending_at"] and msg["sent_at"]
    assert await statuses(hub, sent["id"]) == ["queued", "sending", "sent"]
    first = (await events(hub, "comms.message.status", sent["id"]))[0]
    assert first["previous"] is None and first["conversation_id"] == sent["conversation_id"]


async def test_email_goes_out_through_the_log_transport_by_default(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    r = await client.post(
        "/api/v1/messages",
        headers=tenant.auth,
        json={"channel": "email", "to": "a@example.com", "subject": "s", "body": "b"},
    )
    await settle(hub)
    msg = await message(client, tenant, r.json()["id"])
    assert msg["status"] == "sent" and msg["provider"] == "log"


async def test_provider_down_keeps_message_queued_and_retries_until_sent(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = DownProvider(failures=2)
    use_provider(hub, provider)
    sent = await post_sms(client, tenant)
    await settle(hub)
    msg = await message(client, tenant, sent["id"])
    assert msg["status"] == "queued"
    assert msg["error_code"] == "unavailable"
    for _ in range(2):
        assert (await sweep(hub.db, hub.settings, now=utcnow() + timedelta(hours=1))).enqueued == 1
        await settle(hub)
    msg = await message(client, tenant, sent["id"])
    assert msg["status"] == "sent" and msg["attempts"] == 3 and msg["error_code"] is None
    assert len(provider.submitted) == 1
    assert await statuses(hub, sent["id"]) == [
        "queued",
        "sending",
        "queued",
        "sending",
        "queued",
        "sending",
        "sent",
    ]


async def test_message_not_sent_before_it_expires_fails(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    use_provider(hub, DownProvider(failures=99))
    sent = await post_sms(client, tenant)
    await settle(hub)
    later = utcnow() + timedelta(seconds=hub.settings.messages_expire_after + 1)
    assert (await sweep(hub.db, hub.settings, now=later)).expired == 1
    msg = await message(client, tenant, sent["id"])
    assert msg["status"] == "failed" and msg["error_code"] == "expired"


async def test_restart_resumes_interrupted_sends_without_duplicates(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    before = CountingProvider()
    use_provider(hub, before)
    done = await post_sms(client, tenant, body="acknowledged before the crash")
    await settle(hub)
    # The process dies right after claiming: the claims commit, the submissions never run.
    sender_of(hub).schedule = lambda *args: None  # type: ignore[method-assign]
    lost = [await post_sms(client, tenant, body=f"in flight {i}") for i in range(2)]
    pending = await post_sms(client, tenant, body="still queued")
    await hub.relay.run_once()  # relayed, but the process dies before running the deliveries
    ids = hub.dispatcher.take()  # type: ignore[attr-defined]
    await hub.run_deliveries(ids[:-1])
    assert [(await message(client, tenant, m["id"]))["status"] for m in lost] == ["sending"] * 2

    restarted = Hub(hub.settings, all_modules(), dispatcher=RecordingDispatcher())
    after = CountingProvider()
    use_provider(restarted, after)
    try:
        stale = utcnow() + timedelta(seconds=hub.settings.messages_stale_after + 1)
        assert (await sweep(restarted.db, restarted.settings, now=stale)).resumed == 2
        # The dead process's undelivered deliveries are handed over again after a while.
        restarted.settings.bus_redeliver_after = 0
        await settle(restarted)
    finally:
        await restarted.stop()
    assert sorted(s.text for s in after.submitted) == sorted(
        ["in flight 0", "in flight 1", "still queued"]
    )
    assert [s.text for s in before.submitted] == ["acknowledged before the crash"]
    for m in [*lost, pending, done]:
        assert (await message(client, tenant, m["id"]))["status"] == "sent"


async def test_a_repeated_queued_event_never_submits_twice(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = CountingProvider()
    use_provider(hub, provider)
    sent = await post_sms(client, tenant)
    await settle(hub)
    # Replay the delivery of the original comms.message.queued event, as a broker might.
    from comms.bus.models import Delivery
    from comms.bus.models import DeliveryStatus as DS

    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        delivery = (await s.scalars(select(Delivery))).first()
        assert delivery is not None
        delivery.status = DS.QUEUED
        await s.commit()
    await hub.run_deliveries([delivery.id])
    await settle(hub)
    assert len(provider.submitted) == 1
    assert (await message(client, tenant, sent["id"]))["status"] == "sent"


async def test_receipts_roll_up_only_when_every_segment_is_final(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    sent = await post_sms(client, tenant, body="x" * 200)  # 2 GSM segments
    await settle(hub)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        parts = list(await s.scalars(select(MessagePart).order_by(MessagePart.seq)))
    assert len(parts) == 2
    sink: MessagingSink = hub.services["messaging.sink"]
    await sink.on_receipt(
        DeliveryReceipt("log", parts[0].provider_message_id, ReceiptState.DELIVERED)
    )
    assert (await message(client, tenant, sent["id"]))["status"] == "sent"
    await sink.on_receipt(
        DeliveryReceipt("log", parts[1].provider_message_id, ReceiptState.UNDELIVERED, "0x0B")
    )
    msg = await message(client, tenant, sent["id"])
    assert msg["status"] == "undelivered" and msg["error_code"] == "0x0B"
    assert (await statuses(hub, sent["id"]))[-1] == "undelivered"


async def test_a_receipt_faster_than_our_record_is_kept_and_applied(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    use_provider(hub, RacingProvider())
    sent = await post_sms(client, tenant)
    await settle(hub)
    assert (await message(client, tenant, sent["id"]))["status"] == "delivered"


async def test_inbound_sms_joins_the_conversation_with_that_number(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    await client.put(
        "/api/v1/messaging/settings",
        headers=tenant.auth,
        json={"inbound_sms_numbers": ["10690001"]},
    )
    out = await post_sms(client, tenant, to="+8613800138000")
    sink: MessagingSink = hub.services["messaging.sink"]
    sms = InboundSms("log", "13800138000", "1069000123", "reply", utcnow(), ["in-1"])
    mid = await sink.receive_sms(sms)
    assert mid is not None
    assert await sink.receive_sms(sms) == mid  # a repeated report is the same message
    assert (
        await sink.receive_sms(InboundSms("log", "13800138000", "95555", "x", utcnow(), ["in-2"]))
        is None
    )  # routed to no tenant
    msg = await message(client, tenant, str(mid))
    assert msg["direction"] == "inbound" and msg["status"] == "received"
    assert msg["conversation_id"] == out["conversation_id"]
    inbound = await events(hub, "comms.message.inbound")
    assert [e["message_id"] for e in inbound] == [str(mid)]
    assert uuid.UUID(inbound[0]["conversation_id"])
