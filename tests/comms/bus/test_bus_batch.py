"""Batch subscribers: one call per (subscriber, tenant) group of a run, and a poisoned event
failing and retrying alone while the rest of its group commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bus_fixtures import EFFECT, BatchHappened, ThingHappened
from comms.audit.models import AuditEntry
from comms.bus import publish
from comms.bus.models import Delivery, DeliveryStatus
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from hubtest import TenantCtx, count_effects, drain


async def publish_many(hub: Hub, tenant: TenantCtx, *payloads: Any) -> None:
    """Each payload in its own commit, as separate business transactions would."""
    for p in payloads:
        async with hub.db.session() as s:
            scoped_to(s, tenant.id)
            publish(s, type(p).topic, p)
            await s.commit()


async def batch_effects(hub: Hub) -> dict[int, tuple[Any, int]]:
    """n -> (tenant, size of the list the handler got it in), for the batcher's effects."""
    async with hub.db.session() as s:
        unscoped(s)
        rows = await s.execute(
            select(AuditEntry.tenant_id, AuditEntry.entity_id, AuditEntry.changes).where(
                AuditEntry.action == EFFECT, AuditEntry.entity_type == "batcher"
            )
        )
        return {int(n): (tid, int(changes["group"])) for tid, n, changes in rows}


async def batch_deliveries(hub: Hub) -> dict[int, Delivery]:
    async with hub.db.session() as s:
        unscoped(s)
        found = await s.scalars(select(Delivery).where(Delivery.subscriber == "test.batcher"))
        return {d.id: d for d in found}


async def test_batch_subscriber_gets_each_tenants_events_in_one_call(
    hub: Hub, tenant: TenantCtx, other_tenant: TenantCtx
) -> None:
    await publish_many(hub, tenant, *(BatchHappened(n=n) for n in (1, 2, 3)))
    await publish_many(hub, other_tenant, BatchHappened(n=4), BatchHappened(n=5))
    await publish_many(hub, tenant, ThingHappened(n=6))  # a per-event subscriber in between
    await hub.relay.run_once()
    ids = hub.dispatcher.take()  # type: ignore[attr-defined]
    assert await hub.run_deliveries(ids) == len(ids)  # one broker message, all done
    assert await batch_effects(hub) == {
        1: (tenant.id, 3),
        2: (tenant.id, 3),
        3: (tenant.id, 3),
        4: (other_tenant.id, 2),
        5: (other_tenant.id, 2),
    }
    assert await count_effects(hub, "recorder") == 1
    assert {d.status for d in (await batch_deliveries(hub)).values()} == {DeliveryStatus.DONE}


async def test_poisoned_event_fails_and_retries_alone_while_the_rest_commit(
    hub: Hub, tenant: TenantCtx
) -> None:
    await publish_many(
        hub, tenant, BatchHappened(n=1), BatchHappened(n=2, poison=True), BatchHappened(n=3)
    )
    await hub.relay.run_once()
    ids = hub.dispatcher.take()  # type: ignore[attr-defined]
    assert await hub.run_deliveries(ids) == 2
    # The group's call failed as a whole; the good events then committed one by one.
    assert await batch_effects(hub) == {1: (tenant.id, 1), 3: (tenant.id, 1)}
    first, bad, last = sorted((await batch_deliveries(hub)).values(), key=lambda d: d.id)
    assert [(d.status, d.attempts) for d in (first, bad, last)] == [
        (DeliveryStatus.DONE, 1),
        (DeliveryStatus.RETRYING, 1),
        (DeliveryStatus.DONE, 1),
    ]
    assert "poisoned event in the batch" in (bad.last_error or "")
    # Its retries run alone and end in the dead letters; the others' effects stay once.
    await drain(hub)
    poisoned = (await batch_deliveries(hub))[bad.id]
    assert (poisoned.status, poisoned.attempts) == (DeliveryStatus.DEAD, 3)
    assert await batch_effects(hub) == {1: (tenant.id, 1), 3: (tenant.id, 1)}


async def test_redelivered_done_ids_are_skipped(hub: Hub, tenant: TenantCtx) -> None:
    await publish_many(hub, tenant, BatchHappened(n=1), BatchHappened(n=2))
    await hub.relay.run_once()
    ids = hub.dispatcher.take()  # type: ignore[attr-defined]
    assert await hub.run_deliveries(ids) == 2
    # The broker repeating the message (twice over) runs nothing again.
    assert await hub.run_deliveries(ids + ids) == 0
    assert await batch_effects(hub) == {1: (tenant.id, 2), 2: (tenant.id, 2)}
