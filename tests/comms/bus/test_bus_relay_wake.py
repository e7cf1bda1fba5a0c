"""The relay's pace: woken across processes by the outbox's NOTIFY (PostgreSQL), one leading
relay with the others standing by, gathering under load, urgent subscribers first."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from bus_fixtures import ThingHappened
from comms.bus import Event, HandlerContext, SubscriberSet, chunks, publish, relay
from comms.bus.models import Delivery
from comms.bus.publish import SUBSCRIBERS_KEY, TOPICS_KEY
from comms.bus.subscribers import Subscriber, SubscriberRegistry
from comms.db.engine import Database
from comms.db.tenancy import scoped_to, unscoped
from comms.hub import Hub
from comms.modules import Module
from comms.settings import Settings
from hubtest import RecordingDispatcher, TenantCtx, all_modules

NOTIFY_ONLY = "NOTIFY is PostgreSQL's; a SQLite hub is one process whose commits wake its relay"


def _postgres_only(settings: Settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip(NOTIFY_ONLY)


async def _publish_elsewhere(hub: Hub, tenant: TenantCtx, n: int) -> None:
    """Commit an event through an engine of its own, as another process would: nothing in
    this process knows of the commit but the database."""
    db = Database(
        hub.settings.database_url, info={TOPICS_KEY: hub.topics, SUBSCRIBERS_KEY: hub.subscribers}
    )
    try:
        async with db.session() as s:
            scoped_to(s, tenant.id)
            publish(s, ThingHappened.topic, ThingHappened(n=n))
            await s.commit()
    finally:
        await db.dispose()


async def _until(check: Callable[[], bool], timeout: float) -> float:
    """Seconds until `check()` held; fails after `timeout`."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


def _hub(settings: Settings) -> tuple[Hub, RecordingDispatcher]:
    dispatcher = RecordingDispatcher()
    return Hub(settings, all_modules(), dispatcher=dispatcher), dispatcher


async def test_a_commit_in_another_process_wakes_the_relay_before_its_poll(
    settings: Settings, tenant: TenantCtx
) -> None:
    _postgres_only(settings)
    # A poll far longer than the test: only the NOTIFY can bring the event over in time.
    hub, dispatcher = _hub(settings.model_copy(update={"bus_poll_interval": 60.0}))
    task = asyncio.create_task(hub.relay.run_forever())
    try:
        await _until(lambda: hub.relay.listening, 10)
        await _until(lambda: not hub.relay._wake.is_set(), 10)  # the catch-up pass is done
        await _publish_elsewhere(hub, tenant, 1)
        took = await _until(lambda: bool(dispatcher.sent), 5)
        assert took < 1.0
    finally:
        hub.relay.stop()
        await task
        await hub.stop()


async def test_one_relay_leads_and_a_standby_takes_over_when_it_stops(
    settings: Settings, tenant: TenantCtx, monkeypatch: pytest.MonkeyPatch
) -> None:
    _postgres_only(settings)
    monkeypatch.setattr(relay, "LISTEN_RETRY", 0.1)
    fast = settings.model_copy(update={"bus_poll_interval": 0.1})
    (first, first_sent), (second, second_sent) = _hub(fast), _hub(fast)
    first_task = asyncio.create_task(first.relay.run_forever())
    await _until(lambda: first.relay.listening, 10)
    second_task = asyncio.create_task(second.relay.run_forever())
    try:
        await _until(lambda: second.relay.standby, 10)
        for n in range(5):
            await _publish_elsewhere(first, tenant, n)
        await _until(lambda: len(first_sent.take()) > 0, 5)  # the leader takes them
        await asyncio.sleep(0.3)  # standing by, the second takes only events left 0.5 s
        assert second_sent.take() == []
        first.relay.stop()
        await first_task
        await _until(lambda: second.relay.listening, 5)
        await _publish_elsewhere(second, tenant, 6)
        await _until(lambda: bool(second_sent.sent), 5)
    finally:
        second.relay.stop()
        await second_task
        await first.stop()
        await second.stop()


async def test_a_standby_relay_takes_over_events_the_leader_left(
    settings: Settings, tenant: TenantCtx
) -> None:
    _postgres_only(settings)
    hub, _ = _hub(settings)
    hub.relay.standby = True  # as when another relay holds the lead
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        publish(s, ThingHappened.topic, ThingHappened(n=1))
        await s.commit()
    assert await hub.relay.run_once() == 0  # fresh: the leader's to take
    lag = relay.STANDBY_LAG * settings.bus_poll_interval
    await asyncio.sleep(lag + 0.05)
    assert await hub.relay.run_once() > 0  # left past the lag: the leader is gone
    await hub.stop()


async def test_under_load_a_pass_waits_while_the_workers_are_behind_up_to_its_poll(
    settings: Settings, tenant: TenantCtx
) -> None:
    hub, dispatcher = _hub(settings)
    r = hub.relay
    handed = []
    try:
        for n in range(2):
            async with hub.db.session() as s:
                scoped_to(s, tenant.id)
                publish(s, ThingHappened.topic, ThingHappened(n=n))
                await s.commit()
            await r.run_once()
            handed.append(dispatcher.take())
            # Only the last pass in flight: the workers keep up. Two: they are behind.
            assert await r._behind() == (n == 1)
        await hub.run_deliveries(handed[0])
        assert not await r._behind()
        async with hub.db.session() as s:
            scoped_to(s, tenant.id)
            publish(s, ThingHappened.topic, ThingHappened(n=2))
            await s.commit()
        await r.run_once()
        assert await r._behind()  # handed[1] is still queued
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(r._wait_for_workers(started + 0.3), 5)
        assert loop.time() - started >= 0.3  # held while behind, then let go at its bound
    finally:
        await hub.stop()


def test_the_relay_gathers_longer_under_load_never_past_its_poll(settings: Settings) -> None:
    hub, _ = _hub(settings.model_copy(update={"bus_poll_interval": 0.2}))
    r = hub.relay
    r.rate = 0.0
    assert r.gather_time() == relay.MIN_PASS_INTERVAL  # idle: a wake-up is served at once
    r.rate = 1000.0
    assert r.gather_time() == pytest.approx(1000.0 * relay.GATHER_PER_RATE)
    r.rate = 1e9
    assert r.gather_time() == 0.2


urgency = SubscriberSet("urgency")


@urgency.on(ThingHappened, name="a_bookkeeping")
async def bookkeeping(ctx: HandlerContext, event: Event[Any]) -> None:
    return None


@urgency.on(ThingHappened, name="z_someone_waits", urgent=True)
async def someone_waits(ctx: HandlerContext, event: Event[Any]) -> None:
    return None


URGENCY = Module(name="test_urgency", subscribers=tuple(urgency))


async def test_urgent_deliveries_are_handed_over_first_and_grouped_by_subscriber(
    settings: Settings, tenant: TenantCtx
) -> None:
    dispatcher = RecordingDispatcher()
    hub = Hub(settings, [*all_modules(), URGENCY], dispatcher=dispatcher)
    try:
        async with hub.db.session() as s:
            scoped_to(s, tenant.id)
            for n in range(3):
                publish(s, ThingHappened.topic, ThingHappened(n=n))
            await s.commit()
        await hub.relay.run_once()
        handed = dispatcher.take()
        async with hub.db.session() as s:
            unscoped(s)
            rows = (
                await s.execute(
                    select(Delivery.id, Delivery.subscriber, Delivery.event_id).where(
                        Delivery.subscriber.like("urgency.%")
                    )
                )
            ).all()
        by_id = {i: (sub, ev) for i, sub, ev in rows}
        order = [by_id[i] for i in handed if i in by_id]
        subs = [sub for sub, _ in order]
        assert subs == ["urgency.z_someone_waits"] * 3 + ["urgency.a_bookkeeping"] * 3
        events = [ev for _, ev in order]
        assert events[:3] == sorted(events[:3]) and events[3:] == sorted(events[3:])
    finally:
        await hub.stop()


async def _batch(ctx: HandlerContext, events: list[Event[Any]]) -> None:
    return None


def test_a_pass_is_cut_into_messages_by_urgency_savepoints_and_size() -> None:
    plain = Subscriber("t.plain", "t.x.y", bookkeeping)
    grouped = Subscriber("t.grouped", "t.x.y", bookkeeping, batch=_batch)
    urgent = Subscriber("t.urgent", "t.x.y", bookkeeping, batch=_batch, urgent=True)
    registry = SubscriberRegistry([plain, grouped, urgent])
    acme, globex = uuid.uuid4(), uuid.uuid4()
    ids = iter(range(1, 10_000))
    handed = [(next(ids), name, acme) for _ in range(120) for name in ("t.plain", "t.grouped")]
    handed += [(next(ids), "t.grouped", globex) for _ in range(130)]
    handed += [(next(ids), "t.urgent", acme) for _ in range(10)]
    messages = chunks.cut(handed, registry)
    names = {d_id: name for d_id, name, _ in handed}
    kinds = [sorted({names[i] for i in m}) for m in messages]
    # The urgent run first. One tenant's batch run is one savepoint: the 10 urgent and 250
    # grouped deliveries of two tenants fill a message up to MAX_DELIVERIES, and the rest
    # (one more savepoint) travel with 49 plain ones, which count a savepoint each, up to
    # CHUNK.
    assert [len(m) for m in messages] == [200, 60 + 49, 50, 21]
    assert messages[0][:10] == sorted(d for d, name, _ in handed if name == "t.urgent")
    assert kinds[:2] == [["t.grouped", "t.urgent"], ["t.grouped", "t.plain"]]
    for name in ("t.plain", "t.grouped"):  # event order within a subscriber
        run = [i for m in messages for i in m if names[i] == name]
        assert run == sorted(run)
    assert sorted(i for m in messages for i in m) == sorted(d for d, _, _ in handed)
