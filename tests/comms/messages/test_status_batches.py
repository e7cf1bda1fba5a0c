"""`comms.message.status` v2: one event per transaction listing its changes, and v1 events
left in the outbox by an older release are delivered in the v2 form."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from comms.bus.models import OutboxEvent
from comms.bus.topics import TopicRegistry
from comms.db.tenancy import unscoped
from comms.hub import Hub
from comms.messages.events import TOPICS, MessageStatusChanged
from hubtest import TenantCtx
from messages_testkit import CountingProvider, settle, use_provider

SIGNATURE = "【某某公司】"


def test_a_v1_status_event_is_loaded_as_a_v2_batch_of_one() -> None:
    topics = TopicRegistry(TOPICS)
    mid = uuid.uuid4()
    v1 = {
        "message_id": str(mid),
        "conversation_id": str(uuid.uuid4()),
        "channel": "sms",
        "direction": "outbound",
        "status": "delivered",
        "previous": "sent",
        "at": "2026-11-27T00:00:00Z",
    }
    loaded = topics.load("comms.message.status", 1, v1)
    assert isinstance(loaded, MessageStatusChanged)
    assert [c.message_id for c in loaded.changes] == [mid]
    assert loaded.statuses == ["delivered"] and loaded.directions == ["outbound"]


async def test_a_campaign_publishes_its_status_changes_in_few_events(
    hub: Hub, client: httpx.AsyncClient, tenant: TenantCtx
) -> None:
    provider = CountingProvider()
    use_provider(hub, provider)
    r = await client.put(
        "/api/v1/messaging/settings", headers=tenant.auth, json={"sms_signature": SIGNATURE}
    )
    assert r.status_code == 200, r.text
    recipients = [{"phone": f"+86138{i:08d}"} for i in range(40)]
    r = await client.post(
        "/api/v1/sms/campaigns",
        headers=tenant.auth,
        json={"name": "c", "body": "明早九点开会", "recipients": recipients},
    )
    assert r.status_code == 202, r.text
    await settle(hub)
    assert len(provider.submitted) == 40

    async with hub.db.session() as s:
        unscoped(s)
        events = list(
            await s.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.topic == "comms.message.status")
                .order_by(OutboxEvent.id)
            )
        )
    changes = [c for e in events for c in e.payload["changes"]]
    # Every change is there, in order per message: queued, sending, sent (the log provider
    # sends no receipt) ...
    for number in (r["phone"] for r in recipients):
        mine = [c["status"] for c in changes if c["counterpart"] == number]
        assert mine == ["queued", "sending", "sent"], (number, mine)
    # ... in a handful of events (the chunk's, and the sender's records), not 120.
    assert len(events) <= 6, [len(e.payload["changes"]) for e in events]
    assert all(e.version == 2 for e in events)
