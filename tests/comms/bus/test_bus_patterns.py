"""Prefix-pattern subscriptions: `erp.*` / `*` get one delivery per matching event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

import bus_fixtures
from bus_fixtures import FlakyHappened, ThingHappened
from comms.bus import Event, HandlerContext, SubscriberSet, publish
from comms.bus.subscribers import Subscriber, SubscriberRegistry, topic_matches
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.modules import Module
from comms.settings import Settings
from hubtest import RecordingDispatcher, TenantCtx, all_modules, count_effects, drain


async def _noop(ctx: HandlerContext, event: Event[Any]) -> None:
    return None


def test_patterns_match_by_whole_segment_prefix() -> None:
    assert topic_matches("*", "erp.stock.low")
    assert topic_matches("erp.*", "erp.stock.low")
    assert topic_matches("erp.order.*", "erp.order.shipped")
    assert not topic_matches("erp.*", "erpx.stock.low")
    assert not topic_matches("erp.order.*", "erp.orders.shipped")
    assert topic_matches("erp.stock.low", "erp.stock.low")
    assert not topic_matches("erp.stock.low", "erp.stock.lower")


def test_registry_lists_exact_and_pattern_subscribers_once_each() -> None:
    reg = SubscriberRegistry(
        [
            Subscriber("a.exact", "erp.stock.low", _noop),
            Subscriber("a.prefix", "erp.*", _noop),
            Subscriber("a.all", "*", _noop),
            Subscriber("a.other", "crm.*", _noop),
        ]
    )
    assert sorted(s.name for s in reg.for_topic("erp.stock.low")) == [
        "a.all",
        "a.exact",
        "a.prefix",
    ]
    assert [s.name for s in reg.for_topic("telephony.call.missed")] == ["a.all"]


def test_a_star_inside_a_name_is_refused() -> None:
    with pytest.raises(ValueError, match="pattern"):
        SubscriberRegistry([Subscriber("a.bad", "erp.*.low", _noop)])


subs = SubscriberSet("pattern")


@subs.on("test.thing.*", name="things")
async def things(ctx: HandlerContext, event: Event[Any]) -> None:
    bus_fixtures.record_effect(ctx, event.tenant_id, 0, "pattern.things")


@subs.on("test.*", name="all_test")
async def all_test(ctx: HandlerContext, event: Event[Any]) -> None:
    bus_fixtures.record_effect(ctx, event.tenant_id, 0, "pattern.test")


PATTERNS = Module(name="test_patterns", subscribers=tuple(subs))


@pytest.fixture
async def pattern_hub(settings: Settings) -> AsyncIterator[Hub]:
    h = Hub(settings, [*all_modules(), PATTERNS], dispatcher=RecordingDispatcher())
    yield h
    await h.stop()


async def test_relay_makes_one_delivery_per_matching_pattern_subscriber(
    pattern_hub: Hub, tenant: TenantCtx
) -> None:
    async with pattern_hub.db.session() as s:
        scoped_to(s, tenant.id)
        publish(s, ThingHappened.topic, ThingHappened(n=1))
        publish(s, FlakyHappened.topic, FlakyHappened(n=2, failures=0))
        await s.commit()
    await drain(pattern_hub)
    assert await count_effects(pattern_hub, "pattern.things") == 1  # only test.thing.happened
    assert await count_effects(pattern_hub, "pattern.test") == 2  # both events
    assert await count_effects(pattern_hub, "recorder") == 1  # exact subscribers unchanged
