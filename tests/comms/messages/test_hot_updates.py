"""A receipt's updates leave the indexes alone (HOT on PostgreSQL): the table's cost per SMS
must not grow with dead index entries while a campaign runs (bench/sms_throughput.py)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select, text

from comms.channels.sms.provider import DeliveryReceipt, ReceiptState
from comms.db.tenancy import unscoped
from comms.hub import Hub
from comms.messages.lifecycle import StatusBatch
from comms.messages.models import Message, MessagePart
from comms.messages.receipts import apply_receipts
from comms.messages.state import MessageStatus
from hubtest import TenantCtx
from messages_testkit import post_sms, settle

# Counts not yet in pg_stat_user_tables (PostgreSQL 15 also lists here those of this backend's
# earlier transactions that it has not reported yet, hence a difference around the receipt).
UPDATES = """SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables
             WHERE relname IN ('messages', 'message_parts')"""


async def test_a_final_receipt_is_a_hot_update_of_the_message_and_its_part(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    if hub.db.dialect != "postgresql":
        pytest.skip("HOT updates are PostgreSQL's")
    sent = await post_sms(client, tenant)
    await settle(hub)
    async with hub.db.session() as s:
        unscoped(s)
        async with s.begin():
            part = (await s.scalars(select(MessagePart))).one()
            receipt = DeliveryReceipt(
                part.provider, part.provider_message_id, ReceiptState.DELIVERED
            )
            before = {r[0]: (r[1], r[2]) for r in await s.execute(text(UPDATES))}
            assert await apply_receipts(s, [receipt], StatusBatch()) == []
            after = {r[0]: (r[1], r[2]) for r in await s.execute(text(UPDATES))}
            status = await s.scalar(select(Message.status).where(Message.id == sent["id"]))
    assert status is MessageStatus.DELIVERED
    counts = {
        t: (upd - before.get(t, (0, 0))[0], hot - before.get(t, (0, 0))[1])
        for t, (upd, hot) in after.items()
    }
    assert counts == {"messages": (1, 1), "message_parts": (1, 1)}
