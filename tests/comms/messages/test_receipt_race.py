"""A receipt and its submission record that each committed without seeing the other (found
by bench/sms_throughput.py: a few messages stayed `sent`) are joined by the sweep."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
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
