"""A receipt and its submission record that each committed without seeing the other (found
by bench/sms_throughput.py: a few messages stayed `sent`) are joined by the sweep."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from comms.channels.sms.provider import DeliveryReceipt, ReceiptState
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from comms.messages.inbound import MessagingSink
from comms.messages.models import MessagePart, PendingReceipt
from comms.messages.sweep import sweep
from hubtest import TenantCtx
from messages_testkit import post_sms, settle, statuses


async def test_an_early_receipt_missed_by_the_record_is_applied_by_the_sweep(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    sent = await post_sms(client, tenant)
    await settle(hub)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        part = (await s.scalars(select(MessagePart))).one()
        # The interleaving: the receipt found no part and was kept; the record's look for
        # early receipts ran before that row committed.
        unscoped(s)
        s.add(
            PendingReceipt(
                provider=part.provider,
                provider_message_id=part.provider_message_id,
                state="delivered",
            )
        )
        await s.commit()
    assert (await statuses(hub, sent["id"]))[-1] == "sent"
    assert (await sweep(hub.db, hub.settings)).receipts == 1
    assert (await statuses(hub, sent["id"]))[-1] == "delivered"
    async with hub.db.session() as s:
        unscoped(s)
        assert await s.scalar(select(func.count()).select_from(PendingReceipt)) == 0
    assert (await sweep(hub.db, hub.settings)).receipts == 0


async def test_a_receipt_for_an_unknown_id_stays_pending(hub: Hub) -> None:
    async with hub.db.session() as s:
        unscoped(s)
        s.add(PendingReceipt(provider="smpp", provider_message_id="FFFF", state="delivered"))
        await s.commit()
    assert (await sweep(hub.db, hub.settings)).receipts == 0
    async with hub.db.session() as s:
        unscoped(s)
        assert await s.scalar(select(func.count()).select_from(PendingReceipt)) == 1


async def test_receipts_arriving_together_settle_every_message_once(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    long = await post_sms(client, tenant, to="+8613800138001", body="x" * 200)  # 2 segments
    short = await post_sms(client, tenant, to="+8613800138002", body="hi")
    await settle(hub)
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        parts = {
            (str(p.message_id), p.seq): p.provider_message_id
            for p in await s.scalars(select(MessagePart))
        }
    sink: MessagingSink = hub.services["messaging.sink"]
    receipts = [
        DeliveryReceipt("log", parts[(long["id"], 0)], ReceiptState.DELIVERED),
        DeliveryReceipt("log", parts[(long["id"], 1)], ReceiptState.UNDELIVERED, "034"),
        DeliveryReceipt("log", parts[(short["id"], 0)], ReceiptState.DELIVERED),
        DeliveryReceipt("log", parts[(short["id"], 0)], ReceiptState.UNDELIVERED),  # repeat
        DeliveryReceipt("log", "not-ours", ReceiptState.DELIVERED),
    ]
    await asyncio.gather(*(sink.on_receipt(r) for r in receipts))
    assert (await statuses(hub, long["id"]))[-2:] == ["sent", "undelivered"]
    assert (await statuses(hub, short["id"]))[-2:] == ["sent", "delivered"]
    async with hub.db.session() as s:
        unscoped(s)
        kept = list(await s.scalars(select(PendingReceipt.provider_message_id)))
    assert kept == ["not-ours"]
