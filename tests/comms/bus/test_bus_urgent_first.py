"""A broker message's urgent deliveries commit before the rest of it runs, so what they hand
over at commit (a notice's SMS) does not wait on bookkeeping; the rest is claimed again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bus_fixtures import ThingHappened, record_effect
from comms.audit.models import AuditEntry
from comms.bus import Event, HandlerContext, SubscriberSet, publish
from comms.bus.delivery import DeliveryRunner
from comms.bus.models import Delivery, DeliveryStatus
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from comms.modules import Module
from comms.settings import Settings
from hubtest import RecordingDispatcher, TenantCtx, all_modules

waits = SubscriberSet("waits")
# Notices the bookkeeping handler saw committed, per event n, from a session of its own on
# the hub in PEEK (when a test puts one there).
SEEN: dict[int, int] = {}
PEEK: list[Hub] = []


@waits.on(ThingHappened, name="notice", urgent=True)
async def notice(ctx: HandlerContext, event: Event[ThingHappened]) -> None:
    record_effect(ctx, event.tenant_id, event.payload.n, "notice")


@waits.on(ThingHappened, name="bookkeeping")
async def bookkeeping(ctx: HandlerContext, event: Event[ThingHappened]) -> None:
    for hub in PEEK:
        async with hub.db.session() as other:
            unscoped(other)
            SEEN[event.payload.n] = int(
                await other.scalar(
                    select(func.count())
                    .select_from(AuditEntry)
                    .where(AuditEntry.entity_type == "notice")
                )
                or 0
            )
    record_effect(ctx, event.tenant_id, event.payload.n, "bookkeeping")


WAITS = Module(name="test_waits", subscribers=tuple(waits))


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    made = Hub(settings, [*all_modules(), WAITS], dispatcher=RecordingDispatcher())
    SEEN.clear()
    try:
        yield made
    finally:
        PEEK.clear()
        await made.stop()


async def _handed(hub: Hub, tenant: TenantCtx, n: int) -> list[int]:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        for i in range(n):
            publish(s, ThingHappened.topic, ThingHappened(n=i))
        await s.commit()
    await hub.relay.run_once()
    ids = hub.dispatcher.take()  # type: ignore[attr-defined]
    return list(ids)


async def _effects(hub: Hub, who: str) -> list[int]:
    async with hub.db.session() as s:
        unscoped(s)
        rows = await s.scalars(select(AuditEntry.entity_id).where(AuditEntry.entity_type == who))
        return sorted(int(n) for n in rows)


async def test_urgent_effects_are_committed_before_the_rest_of_the_message_runs(
    hub: Hub, tenant: TenantCtx
) -> None:
    if hub.db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite transactions begin IMMEDIATE: no second connection reads meanwhile")
    PEEK.append(hub)  # the bookkeeping handler looks from a connection of its own
    ids = await _handed(hub, tenant, 3)
    assert await hub.run_deliveries(ids) == len(ids)
    # Each bookkeeping delivery, from another connection, already saw all three notices.
    assert SEEN == {0: 3, 1: 3, 2: 3}
    assert await _effects(hub, "notice") == [0, 1, 2]
    assert await _effects(hub, "bookkeeping") == [0, 1, 2]


async def test_a_delivery_done_elsewhere_between_the_two_commits_is_not_run_again(
    hub: Hub, tenant: TenantCtx, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _handed(hub, tenant, 2)
    async with hub.db.session() as s:
        unscoped(s)
        taken = await s.scalar(
            select(func.min(Delivery.id)).where(Delivery.subscriber == "waits.bookkeeping")
        )
    reclaim = DeliveryRunner._reclaim

    async def meanwhile(self: DeliveryRunner, s: Any, units: Any) -> Any:
        # A redelivered copy of the message ran that delivery after the urgent commit.
        async with hub.db.session() as other:
            unscoped(other)
            await other.execute(
                update(Delivery).where(Delivery.id == taken).values(status=DeliveryStatus.DONE)
            )
            await other.commit()
        return await reclaim(self, s, units)

    monkeypatch.setattr(DeliveryRunner, "_reclaim", meanwhile)
    assert await hub.run_deliveries(ids) == len(ids) - 1
    assert await _effects(hub, "notice") == [0, 1]
    assert await _effects(hub, "bookkeeping") == [1]  # event 0's was the one taken
