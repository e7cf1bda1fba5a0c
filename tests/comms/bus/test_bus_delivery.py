"""The bus's promises: outbox in the caller's transaction, at-least-once delivery, an effect
exactly once per (event, subscriber), retries, dead letters and replay."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bus_fixtures import FlakyHappened, ThingHappened
from comms.bus import PayloadError, UnknownTopicError, publish
from comms.bus.models import Delivery, DeliveryStatus, OutboxEvent
from comms.db.base import utcnow
from comms.db.tenancy import TenantScopeError, scoped_to, unscoped
from comms.hub import Hub
from hubtest import PYTHON, TenantCtx, count_effects, drain, subprocess_env


async def publish_one(hub: Hub, tenant: TenantCtx, payload: object, *, commit: bool = True) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        publish(s, type(payload).topic, payload)  # type: ignore[attr-defined,arg-type]
        if commit:
            await s.commit()
        else:
            await s.rollback()


async def outbox_count(hub: Hub) -> int:
    async with hub.db.session() as s:
        unscoped(s)
        return int(await s.scalar(select(func.count()).select_from(OutboxEvent)) or 0)


async def test_rolled_back_publish_is_never_delivered(hub: Hub, tenant: TenantCtx) -> None:
    before = await outbox_count(hub)
    await publish_one(hub, tenant, ThingHappened(n=1), commit=False)
    await drain(hub)
    assert await outbox_count(hub) == before
    assert await count_effects(hub) == 0


async def test_committed_event_reaches_every_subscriber_once(hub: Hub, tenant: TenantCtx) -> None:
    await publish_one(hub, tenant, ThingHappened(n=7))
    await drain(hub)
    assert await count_effects(hub, "recorder") == 1
    assert await count_effects(hub, "second") == 1


async def test_unknown_topic_is_refused_at_publish(hub: Hub, tenant: TenantCtx) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        with pytest.raises(UnknownTopicError, match=r"test\.nope\.happened"):
            publish(s, "test.nope.happened", {"n": 1})


@pytest.mark.parametrize(
    "payload", [{"n": "not a number"}, {"n": 1, "surprise": True}, {"note": "no n"}]
)
async def test_payload_failing_its_schema_is_refused_at_publish(
    hub: Hub, tenant: TenantCtx, payload: dict[str, object]
) -> None:
    async with hub.db.session() as s:
        scoped_to(s, tenant.id)
        with pytest.raises(PayloadError, match=r"test\.thing\.happened"):
            publish(s, ThingHappened.topic, payload)


async def test_publish_without_tenant_is_refused(hub: Hub) -> None:
    async with hub.db.session() as s:
        with pytest.raises(TenantScopeError):
            publish(s, ThingHappened.topic, {"n": 1})


async def test_handler_failing_twice_then_succeeding_has_its_effect_once(
    hub: Hub, tenant: TenantCtx
) -> None:
    await publish_one(hub, tenant, FlakyHappened(n=1, failures=2))
    runs = await drain(hub)
    assert runs == 3  # two failed attempts, one success
    assert await count_effects(hub, "flaky") == 1
    async with hub.db.session() as s:
        unscoped(s)
        d = await s.scalar(select(Delivery).where(Delivery.subscriber == "test.flaky"))
        assert d is not None
        assert (d.status, d.attempts, d.last_error) == (DeliveryStatus.DONE, 3, None)
    # The broker repeating an already finished delivery changes nothing.
    await hub.run_deliveries([d.id, d.id])
    assert await count_effects(hub, "flaky") == 1


async def test_failed_attempt_waits_for_its_backoff(hub: Hub, tenant: TenantCtx) -> None:
    hub.settings.bus_retry_base = 60
    await publish_one(hub, tenant, FlakyHappened(n=1, failures=1))
    await drain(hub)
    async with hub.db.session() as s:
        unscoped(s)
        d = await s.scalar(select(Delivery).where(Delivery.subscriber == "test.flaky"))
    assert d is not None and d.status == DeliveryStatus.RETRYING
    assert d.next_attempt_at is not None
    assert timedelta(seconds=40) < d.next_attempt_at - utcnow() < timedelta(seconds=80)
    assert await count_effects(hub, "flaky") == 0


async def test_exhausted_handler_lands_in_dead_letters_and_a_failing_replay_returns_there(
    hub: Hub, tenant: TenantCtx, client: object
) -> None:
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    await publish_one(hub, tenant, FlakyHappened(n=5, failures=3))  # max_attempts is 3
    await drain(hub)
    assert await count_effects(hub, "flaky") == 0

    page = (await client.get("/api/v1/bus/dead-letters", headers=tenant.auth)).json()
    assert len(page["items"]) == 1
    dead = page["items"][0]
    assert dead["topic"] == FlakyHappened.topic
    assert dead["subscriber"] == "test.flaky"
    assert dead["attempts"] == 3
    assert dead["payload"] == {"n": 5, "failures": 3}
    assert "induced failure on attempt 3" in dead["last_error"]

    # Replay restarts the attempt count at 1; the handler still fails on attempts 1..3.
    r = await client.post(f"/api/v1/bus/dead-letters/{dead['id']}/replay", headers=tenant.auth)
    assert r.status_code == 202
    await drain(hub)
    page = (await client.get("/api/v1/bus/dead-letters", headers=tenant.auth)).json()
    assert [i["id"] for i in page["items"]] == [dead["id"]]
    assert await count_effects(hub, "flaky") == 0


async def test_replayed_dead_letter_runs_the_handler_again(
    hub: Hub, tenant: TenantCtx, client: object
) -> None:
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    await publish_one(hub, tenant, FlakyHappened(n=5, failures=3))
    await drain(hub)
    # Allow four attempts from now on: the replay's fourth attempt gets past the failures.
    hub.settings.bus_max_attempts = 4
    page = (await client.get("/api/v1/bus/dead-letters", headers=tenant.auth)).json()
    dead_id = page["items"][0]["id"]
    r = await client.post(f"/api/v1/bus/dead-letters/{dead_id}/replay", headers=tenant.auth)
    assert r.status_code == 202
    await drain(hub)
    assert await count_effects(hub, "flaky") == 1
    page = (await client.get("/api/v1/bus/dead-letters", headers=tenant.auth)).json()
    assert page["items"] == []
    again = await client.post(f"/api/v1/bus/dead-letters/{dead_id}/replay", headers=tenant.auth)
    assert again.status_code == 409


async def test_delivery_lost_by_the_broker_is_handed_over_again(
    hub: Hub, tenant: TenantCtx
) -> None:
    await publish_one(hub, tenant, ThingHappened(n=3))
    await hub.relay.run_once()
    lost = hub.dispatcher.take()  # type: ignore[attr-defined]
    assert lost  # handed over ... and then the broker lost it
    await drain(hub)
    assert await count_effects(hub) == 0  # not yet: it is not overdue
    async with hub.db.session() as s:
        unscoped(s)
        await s.execute(update(Delivery).values(handed_at=utcnow() - timedelta(seconds=3600)))
        await s.commit()
    await drain(hub)
    assert await count_effects(hub, "recorder") == 1
    assert await count_effects(hub, "second") == 1


@pytest.mark.slow
async def test_event_committed_by_a_killed_process_is_still_delivered(
    hub: Hub, tenant: TenantCtx
) -> None:
    # The child commits an event and is SIGKILLed before any relay could run.
    script = f"""
import asyncio, os, signal, uuid
from bus_fixtures import ThingHappened
from comms.bus import publish
from comms.db.tenancy import scoped_to
from comms.hub import Hub
from comms.settings import Settings

async def main():
    hub = Hub(Settings())
    async with hub.db.session() as s:
        scoped_to(s, uuid.UUID("{tenant.id}"))
        publish(s, ThingHappened.topic, ThingHappened(n=42))
        await s.commit()
    print("committed", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""
    proc = await asyncio.to_thread(
        subprocess.run,
        [PYTHON, "-c", script],
        env=subprocess_env(hub.settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == -9, proc.stderr
    assert "committed" in proc.stdout
    assert await count_effects(hub) == 0
    await drain(hub)
    assert await count_effects(hub, "recorder") == 1


async def test_prune_removes_only_old_fully_handled_events(hub: Hub, tenant: TenantCtx) -> None:
    await publish_one(hub, tenant, ThingHappened(n=1))  # old, handled: pruned
    await publish_one(hub, tenant, FlakyHappened(n=2, failures=99))  # old, dead: kept
    await drain(hub)
    async with hub.db.session() as s:
        unscoped(s)
        await s.execute(update(OutboxEvent).values(created_at=utcnow() - timedelta(days=30)))
        await s.commit()
    await publish_one(hub, tenant, ThingHappened(n=3))  # recent, handled: kept
    await drain(hub)
    # The first ThingHappened, and the tenant's own comms.tenant.created (no subscribers).
    assert await hub.relay.prune() == 2
    async with hub.db.session() as s:
        unscoped(s)
        topics = sorted(await s.scalars(select(OutboxEvent.topic)))
        deliveries = await s.scalar(select(func.count()).select_from(Delivery))
    assert topics == [FlakyHappened.topic, ThingHappened.topic]
    assert deliveries == 3  # the pruned event's two deliveries went with it
