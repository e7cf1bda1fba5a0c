"""Payload filters on subscriptions: the relay makes no delivery for an event a subscriber's
`when=` rejects, and still delivers every event the filter accepts."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
from sqlalchemy import func, select

import bus_fixtures
from bus_fixtures import ThingHappened
from comms.bus import Event, EventPayload, HandlerContext, SubscriberSet, publish
from comms.bus.models import Delivery, OutboxEvent
from comms.bus.subscribers import Subscriber, SubscriberRegistry, make_filter
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from comms.modules import Module
from comms.settings import Settings
from hubtest import RecordingDispatcher, TenantCtx, all_modules, count_effects, drain


class Colour(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


async def _noop(ctx: HandlerContext, event: Event[Any]) -> None:
    return None


def test_filter_compares_enum_members_as_their_stored_strings() -> None:
    sub = Subscriber("a.red", "t.x.y", _noop, make_filter({"colour": {Colour.RED}, "n": {1, 2}}))
    assert sub.wants({"colour": "red", "n": 2})
    assert not sub.wants({"colour": "blue", "n": 2})
    assert not sub.wants({"colour": "red", "n": 3})
    assert not sub.wants({"n": 1})  # a missing field does not match


def test_a_list_field_matches_when_any_of_its_values_is_allowed() -> None:
    # Batch events summarise their items in lists (comms.message.status `statuses`).
    sub = Subscriber("a.b", "t.x.y", _noop, make_filter({"colours": {Colour.RED}}))
    assert sub.wants({"colours": ["blue", "red"]})
    assert not sub.wants({"colours": ["blue"]})
    assert not sub.wants({"colours": []})


def test_unfiltered_subscriber_and_unknown_payload_are_delivered() -> None:
    plain = Subscriber("a.plain", "t.x.y", _noop)
    picky = Subscriber("a.picky", "t.x.y", _noop, make_filter({"note": {"x"}}))
    reg = SubscriberRegistry([plain, picky])
    assert reg.filtered and reg.needs_payload("t.x.y")
    assert [s.name for s in reg.for_event("t.x.y", {"note": "other"})] == ["a.plain"]
    assert [s.name for s in reg.for_event("t.x.y", None)] == ["a.plain", "a.picky"]


def test_a_filter_that_allows_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="no value"):
        make_filter({"status": set()})


subs = SubscriberSet("filtered")


@subs.on(ThingHappened, name="loud", when={"note": {"loud", "urgent"}})
async def loud(ctx: HandlerContext, event: Event[Any]) -> None:
    bus_fixtures.record_effect(ctx, event.tenant_id, event.payload.n, "filtered.loud")


FILTERED = Module(name="test_filters", subscribers=tuple(subs))


@pytest.fixture
async def filter_hub(settings: Settings) -> AsyncIterator[Hub]:
    h = Hub(settings, [*all_modules(), FILTERED], dispatcher=RecordingDispatcher())
    yield h
    await h.stop()


async def _deliveries(hub: Hub, subscriber: str) -> int:
    async with hub.db.session() as s:
        unscoped(s)
        return int(
            await s.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.subscriber == subscriber)
            )
            or 0
        )


async def test_relay_skips_deliveries_the_filter_rejects_and_keeps_the_rest(
    filter_hub: Hub, tenant: TenantCtx
) -> None:
    async with filter_hub.db.session() as s:
        scoped_to(s, tenant.id)
        for n, note in enumerate(["quiet", "loud", "", "urgent", "quiet"], start=1):
            publish(s, ThingHappened.topic, ThingHappened(n=n, note=note))
        await s.commit()
    await drain(filter_hub)
    assert await _deliveries(filter_hub, "filtered.loud") == 2  # no row for the other three
    assert await count_effects(filter_hub, "filtered.loud") == 2
    assert await count_effects(filter_hub, "recorder") == 5  # unfiltered neighbour gets all


# A handler that publishes a follow-up event: what a worker batch commits for the next hop.
chain = SubscriberSet("chain")


@chain.on(ThingHappened, name="echo", when={"note": {"echo"}})
async def echo(ctx: HandlerContext, event: Event[Any]) -> None:
    publish(ctx.session, ThingHappened.topic, ThingHappened(n=event.payload.n, note="echoed"))


CHAIN = Module(name="test_chain", subscribers=tuple(chain))


async def test_a_worker_without_its_own_relay_hands_over_what_its_batch_published(
    settings: Settings, tenant: TenantCtx
) -> None:
    dispatcher = RecordingDispatcher()
    hub = Hub(settings, [*all_modules(), CHAIN], dispatcher=dispatcher)
    try:
        async with hub.db.session() as s:
            scoped_to(s, tenant.id)
            publish(s, ThingHappened.topic, ThingHappened(n=1, note="echo"))
            await s.commit()
        await hub.relay.run_once()
        first = dispatcher.take()
        # No relay was started in this process (as in a prefork child): after the batch the
        # follow-up event's deliveries are handed over at once, no poll needed. On
        # PostgreSQL the commit's NOTIFY wakes the leading relay instead
        # (test_bus_relay_wake.py), so the child leaves the follow-up to it.
        await hub._deliver_and_relay(first)
        follow_up = dispatcher.take()
        if hub.db.dialect == "postgresql":
            assert follow_up == []
            await hub.relay.run_once()
            follow_up = dispatcher.take()
        assert follow_up and not set(follow_up) & set(first)
        runner = hub.deliveries()
        await runner.run(follow_up)  # the echoed event publishes nothing more
        assert runner.published is False
        assert await count_effects(hub, "recorder") == 2
    finally:
        await hub.stop()


class NobodyListens(EventPayload):
    """A topic no subscriber takes (as the queued/sending steps of a notice's SMS)."""

    topic: ClassVar[str] = "test.nobody.listens"
    n: int


mute = SubscriberSet("mute")


@mute.on(ThingHappened, name="mute", when={"note": {"mute"}})
async def mute_echo(ctx: HandlerContext, event: Event[Any]) -> None:
    publish(ctx.session, NobodyListens.topic, NobodyListens(n=event.payload.n))


MUTE = Module(name="test_mute", topics=(NobodyListens,), subscribers=tuple(mute))


async def test_a_worker_skips_the_relay_pass_when_no_subscriber_takes_what_it_published(
    settings: Settings, tenant: TenantCtx
) -> None:
    dispatcher = RecordingDispatcher()
    hub = Hub(settings, [*all_modules(), MUTE], dispatcher=dispatcher)
    try:
        async with hub.db.session() as s:
            scoped_to(s, tenant.id)
            publish(s, ThingHappened.topic, ThingHappened(n=1, note="mute"))
            await s.commit()
        await hub.relay.run_once()
        first = dispatcher.take()
        runner = hub.deliveries()
        await runner.run(first)
        assert runner.published is False  # it did publish, but nothing anyone takes
        # The event is in the outbox all the same; the relay's poll claims it, no delivery.
        async with hub.db.session() as s:
            unscoped(s)
            waiting = await s.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(
                    OutboxEvent.topic == NobodyListens.topic, OutboxEvent.dispatched_at.is_(None)
                )
            )
        assert waiting == 1
        assert await hub.relay.run_once() == 0
        assert dispatcher.take() == []
    finally:
        await hub.stop()
