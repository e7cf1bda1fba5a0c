"""The relay: hands committed outbox events, due retries and lost hand-overs to the broker.

The database is the truth. Each (event, subscriber) pair gets a `Delivery` row when the relay
first sees the event; the broker only carries delivery ids. A delivery that was handed over
but never finished (broker restarted, worker killed) is handed over again after
`bus_redeliver_after`; a failed one is handed over again when its backoff is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol, cast

from sqlalchemy import delete, insert, select, text, update

from comms.bus.models import Delivery, DeliveryStatus, OutboxEvent
from comms.bus.subscribers import SubscriberRegistry
from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.sets import among
from comms.db.tenancy import unscoped
from comms.settings import Settings

log = logging.getLogger(__name__)

# How many deliveries travel in one broker message: big enough to amortise broker and commit
# costs, small enough that one slow batch does not hold up the others for long. A worker runs
# a message in one transaction with a savepoint per delivery; at most 64 keeps those
# subtransactions within PostgreSQL's per-backend cache (PGPROC_MAX_CACHED_SUBXIDS), past
# which every other backend's snapshot checks go through pg_subtrans (measured: 100 made
# ~12x the pg_subtrans lookups of 50 and ~5-10 % less throughput).
CHUNK = 50
PRUNE_EVERY = 3600.0  # seconds between two prunes of finished events
# Shortest time between two passes of run_forever. Idle, a wake-up is served at once; under a
# stream of one-event commits the relay hands over the few events of this window in one
# broker message instead of one each, which costs far less per event in the relay, the
# broker, the worker and the database, for at most this much added latency.
MIN_PASS_INTERVAL = 0.02


class Dispatcher(Protocol):
    """Carries delivery ids to whoever runs them (Celery in production)."""

    def send(self, delivery_ids: Sequence[int]) -> None: ...


class Relay:
    def __init__(
        self,
        db: Database,
        subscribers: SubscriberRegistry,
        dispatcher: Dispatcher,
        settings: Settings,
    ) -> None:
        self.db = db
        self.subscribers = subscribers
        self.dispatcher = dispatcher
        self.settings = settings
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    def wake(self) -> None:
        """Called after a local commit that published events (from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            if asyncio.get_running_loop() is loop:
                self._wake.set()
                return
        except RuntimeError:
            pass
        loop.call_soon_threadsafe(self._wake.set)

    async def run_once(self, *, sweep: bool = True) -> int:
        """One pass; returns how many deliveries it handed to the dispatcher. `sweep` also
        hands over due retries and lost hand-overs (run_forever does so once a poll interval,
        not on every wake-up: that scan costs more than the new events)."""
        ids = await self._claim(sweep)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            await asyncio.to_thread(self.dispatcher.send, chunk)
        return len(ids)

    async def _claim(self, sweep: bool = True) -> list[int]:
        now = utcnow()
        batch = self.settings.bus_batch_size
        async with self.db.session() as s:
            unscoped(s)
            async with s.begin():
                # One statement claims and marks: the UPDATE takes the oldest undispatched
                # rows no other relay holds (SKIP LOCKED) and returns what the deliveries
                # need; payloads only when some subscriber filters on them.
                cols = [OutboxEvent.id, OutboxEvent.topic, OutboxEvent.tenant_id]
                if self.subscribers.filtered:
                    cols.append(OutboxEvent.payload)
                waiting = (
                    select(OutboxEvent.id)
                    .where(OutboxEvent.dispatched_at.is_(None))
                    .order_by(OutboxEvent.id)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                    .scalar_subquery()
                )
                claimed = await s.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id.in_(waiting))
                    .values(dispatched_at=now)
                    .returning(*cols)
                    .execution_options(synchronize_session=False)
                )
                events = sorted(claimed.all(), key=lambda ev: cast(int, ev[0]))
                ids: list[int] = []
                if events:
                    rows = [
                        {
                            "event_id": ev_id,
                            "tenant_id": tenant_id,
                            "subscriber": sub.name,
                            "status": DeliveryStatus.QUEUED,
                            "attempts": 0,
                            "handed_at": now,
                        }
                        for ev in events
                        for ev_id, tenant_id in [(ev[0], ev[2])]
                        for sub in self.subscribers.for_event(
                            str(ev[1]), cast("dict[str, Any]", ev[3]) if len(ev) > 3 else None
                        )
                    ]
                    if rows:
                        ids.extend(await s.scalars(insert(Delivery).returning(Delivery.id), rows))
                if not sweep:
                    return ids
                lost_before = now - timedelta(seconds=self.settings.bus_redeliver_after)
                # One scan per partial index, in its key's order, the status written out as
                # in the index's predicate: with the status as a bound parameter a cached
                # generic plan cannot use the partial indexes and walked the whole table
                # by id on every pass.
                due: list[int] = []
                for state, key, ready in (
                    (
                        DeliveryStatus.RETRYING,
                        Delivery.next_attempt_at,
                        Delivery.next_attempt_at <= now,
                    ),
                    (DeliveryStatus.QUEUED, Delivery.handed_at, Delivery.handed_at < lost_before),
                ):
                    due += await s.scalars(
                        select(Delivery.id)
                        .where(text(f"status = '{state.value}'"), ready)
                        .order_by(key)
                        .limit(batch - len(due))
                        .with_for_update(skip_locked=True)
                    )
                    if len(due) >= batch:
                        break
                if due:
                    await s.execute(
                        update(Delivery)
                        .where(among(Delivery.id, due))
                        .values(status=DeliveryStatus.QUEUED, handed_at=now)
                    )
                    ids.extend(due)
        return ids

    async def prune(self) -> int:
        """Delete events older than the retention whose every delivery is done."""
        cutoff = utcnow() - timedelta(days=self.settings.bus_retention_days)
        unfinished = (
            select(Delivery.id)
            .where(Delivery.event_id == OutboxEvent.id, Delivery.status != DeliveryStatus.DONE)
            .exists()
        )
        async with self.db.session() as s:
            unscoped(s)
            async with s.begin():
                result = await s.execute(
                    delete(OutboxEvent)
                    .where(
                        OutboxEvent.created_at < cutoff,
                        OutboxEvent.dispatched_at.is_not(None),
                        ~unfinished,
                    )
                    .execution_options(synchronize_session=False)
                )
        return int(getattr(result, "rowcount", 0) or 0)

    async def run_forever(self) -> None:
        self._loop = asyncio.get_running_loop()
        loop = self._loop
        interval = self.settings.bus_poll_interval
        next_prune = 0.0
        next_sweep = 0.0
        last_pass = -MIN_PASS_INTERVAL
        while not self._stopping:
            if loop.time() >= next_prune:
                next_prune = loop.time() + PRUNE_EVERY
                try:
                    await self.prune()
                except Exception:
                    log.exception("bus outbox pruning failed; next try in an hour")
            pause = last_pass + MIN_PASS_INTERVAL - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            self._wake.clear()
            last_pass = loop.time()
            sweep = last_pass >= next_sweep
            if sweep:
                next_sweep = last_pass + interval
            try:
                handed = await self.run_once(sweep=sweep)
            except Exception:
                log.exception("bus relay pass failed; retrying")
                handed = 0
                await asyncio.sleep(interval)
            if handed >= self.settings.bus_batch_size:
                continue  # more waiting; go again at once
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)

    def stop(self) -> None:
        self._stopping = True
        self.wake()
