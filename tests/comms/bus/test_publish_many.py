"""publish_many: the bulk paths' outbox write keeps publish()'s promises (same transaction,
typed payloads, the outbox order of publication) and its events are delivered like any."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bus_fixtures import ThingHappened
from comms.bus import PayloadError, publish
from comms.bus.models import OutboxEvent
from comms.bus.publish import publish_many
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from hubtest import TenantCtx, count_effects, drain


async def outbox_ns(hub: Hub) -> list[int]:
    async with hub.db.session() as s:
        unscoped(s)
        rows = await s.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.topic == ThingHappened.topic)
            .order_by(OutboxEvent.id)
        )
        return [r.payload["n"] for r in rows]


async def test_events_keep_their_order_after_an_earlier_publish(
    hub: Hub, tenant: TenantCtx
) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        publish(s, ThingHappened.topic, ThingHappened(n=1))  # pending in the session
        await publish_many(s, [ThingHappened(n=2), ThingHappened(n=3)], tenant_id=tenant.id)
        publish(s, ThingHappened.topic, ThingHappened(n=4))
        await s.commit()
    assert await outbox_ns(hub) == [1, 2, 3, 4]
    await drain(hub)
    assert await count_effects(hub, "recorder") == 4


async def test_a_rolled_back_publish_many_leaves_nothing(hub: Hub, tenant: TenantCtx) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        await publish_many(s, [ThingHappened(n=5)], tenant_id=tenant.id)
        await s.rollback()
    await drain(hub)
    assert await outbox_ns(hub) == []
    assert await count_effects(hub, "recorder") == 0


async def test_a_payload_of_another_topic_class_is_refused(hub: Hub, tenant: TenantCtx) -> None:
    class Impostor(ThingHappened):
        pass

    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        with pytest.raises(PayloadError):
            await publish_many(s, [Impostor(n=6)], tenant_id=tenant.id)
