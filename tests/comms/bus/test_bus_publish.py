"""publish() queues rows and writes them in one INSERT at commit: the outbox still follows the
caller's transaction and savepoints exactly, in publish order."""

from __future__ import annotations

from sqlalchemy import select

from bus_fixtures import ThingHappened
from comms.bus import publish
from comms.bus.models import OutboxEvent
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from hubtest import TenantCtx


async def outbox_ns(hub: Hub) -> list[int]:
    async with hub.db.session() as s:
        unscoped(s)
        rows = await s.scalars(
            select(OutboxEvent.payload)
            .where(OutboxEvent.topic == ThingHappened.topic)
            .order_by(OutboxEvent.id)
        )
        return [int(p["n"]) for p in rows]


async def test_events_of_one_transaction_are_written_in_publish_order(
    hub: Hub, tenant: TenantCtx
) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        for n in (3, 1, 2):
            publish(s, ThingHappened.topic, ThingHappened(n=n))
        await s.commit()
    assert await outbox_ns(hub) == [3, 1, 2]


async def test_a_savepoint_rolled_back_drops_only_the_events_published_inside_it(
    hub: Hub, tenant: TenantCtx
) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        publish(s, ThingHappened.topic, ThingHappened(n=1))  # before: kept
        savepoint = await s.begin_nested()
        publish(s, ThingHappened.topic, ThingHappened(n=2))
        await savepoint.rollback()
        released = await s.begin_nested()
        publish(s, ThingHappened.topic, ThingHappened(n=3))
        await released.commit()
        inner = await s.begin_nested()
        publish(s, ThingHappened.topic, ThingHappened(n=4))
        deeper = await s.begin_nested()
        publish(s, ThingHappened.topic, ThingHappened(n=5))
        await deeper.commit()  # written inside `inner`, so it goes with it
        await inner.rollback()
        publish(s, ThingHappened.topic, ThingHappened(n=6))
        await s.commit()
    assert await outbox_ns(hub) == [1, 3, 6]


async def test_a_query_in_the_publishing_transaction_sees_its_events(
    hub: Hub, tenant: TenantCtx
) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        publish(s, ThingHappened.topic, ThingHappened(n=9))
        unscoped(s)
        seen = list(
            await s.scalars(
                select(OutboxEvent.topic).where(OutboxEvent.topic == ThingHappened.topic)
            )
        )
        await s.rollback()
    assert seen == [ThingHappened.topic]
    assert await outbox_ns(hub) == []


async def test_a_session_closed_without_commit_forgets_its_events(
    hub: Hub, tenant: TenantCtx
) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        publish(s, ThingHappened.topic, ThingHappened(n=1))
        await s.close()
        scoped_to(s, tenant.id)
        publish(s, ThingHappened.topic, ThingHappened(n=2))
        await s.commit()  # the same session's next transaction carries nothing over
    assert await outbox_ns(hub) == [2]
