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
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import ColumnElement, delete, insert, select, text, update

from comms.bus.chunks import CHUNK, cut
from comms.bus.models import Delivery, DeliveryStatus, OutboxEvent
from comms.bus.subscribers import SubscriberRegistry
from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.sets import among
from comms.db.tenancy import unscoped
from comms.settings import Settings

log = logging.getLogger(__name__)

PRUNE_EVERY = 3600.0  # seconds between two prunes of finished events
# Shortest time between two passes of run_forever. Idle, a wake-up is served at once; under a
# stream of one-event commits the relay hands over the few events of this window in one
# broker message instead of one each, which costs far less per event in the relay, the
# broker, the worker and the database, for at most this much added latency.
MIN_PASS_INTERVAL = 0.02
# Under load a pass waits longer than that to gather: this many seconds per delivery/s of the
# recent rate (0.1 s at 1,000 deliveries/s, about 500 notices/s), at most the poll interval.
# Bigger passes mean bigger broker messages and handler batches, whose fixed costs (a worker
# transaction, the handler's set-wise queries, the sender's read and record) then spread
# over more events; idle or light, a wake-up is served within MIN_PASS_INTERVAL. Measured at
# 500 notices/s on 2 cores (bench/RESULTS.md, session 7): 0.15 s cost 3-106 ms more median
# latency than 0.1 s for 0.1-0.9 ms less CPU per notice; with a busy core taken away the
# CPU was the same, because the hold below (BEHIND_RECHECK) already makes passes bigger
# whenever the workers fall behind.
GATHER_PER_RATE = 0.0001
RATE_SMOOTHING = 0.3  # weight of the latest pass in the rate's moving average
# Under load a pass also waits, up to the poll interval after the last one, while deliveries
# handed before the last pass are still queued: the workers are behind, and events held in
# the outbox meanwhile would only wait in the broker's queue instead, as smaller messages
# whose fixed costs keep the workers behind. Checked this often while waiting.
BEHIND_RECHECK = 0.02
# NOTIFY channel of the outbox trigger (migration comms_0008): commits in other processes
# wake the relay on PostgreSQL; its poll stays the backstop.
CHANNEL = "huitong_bus"
LISTEN_RETRY = 5.0  # seconds before listening (or trying to lead) again
# One relay leads: it holds this session advisory lock on its LISTEN connection and takes
# new events as they come. Others stand by and take only events the leader left waiting for
# STANDBY_LAG poll intervals (it died, its connection broke); otherwise every relay woke on
# each NOTIFY and their passes split the load into smaller batches. The lock goes with the
# leader's connection, and a standby tries for it every LISTEN_RETRY seconds.
LEADER_LOCK = 0x68756974_6F6E6701  # "huitong" + 1, a bigint key of its own
STANDBY_LAG = 5


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
        self.rate = 0.0  # deliveries handed per second, smoothed over passes
        self.last_claim_at: datetime | None = None  # handed_at of the last pass's deliveries
        self.listening = False  # leading, with a NOTIFY listener connected (PostgreSQL)
        self.standby = False  # another relay leads: take only events it left waiting
        self._listener: Any = None  # the LISTEN connection while leading

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
        lag = (
            timedelta(seconds=STANDBY_LAG * self.settings.bus_poll_interval)
            if self.standby
            else None
        )
        fresh, due = await self._claim(sweep, lag)
        chunks = cut(fresh, self.subscribers)
        chunks += [due[start : start + CHUNK] for start in range(0, len(due), CHUNK)]
        for chunk in chunks:
            await asyncio.to_thread(self.dispatcher.send, chunk)
        return len(fresh) + len(due)

    async def _claim(
        self, sweep: bool = True, lag: timedelta | None = None
    ) -> tuple[list[tuple[int, str, uuid.UUID]], list[int]]:
        """Claim new events and make their deliveries; with `sweep`, take due retries and
        lost hand-overs too. Returns (new deliveries with subscriber and tenant, swept ids)."""
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
                undispatched: list[ColumnElement[bool]] = [OutboxEvent.dispatched_at.is_(None)]
                if lag is not None:
                    undispatched.append(OutboxEvent.created_at < now - lag)
                waiting = (
                    select(OutboxEvent.id)
                    .where(*undispatched)
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
                fresh: list[tuple[int, str, uuid.UUID]] = []
                rows = [
                    {
                        "event_id": ev[0],
                        "tenant_id": ev[2],
                        "subscriber": sub.name,
                        "status": DeliveryStatus.QUEUED,
                        "attempts": 0,
                        "handed_at": now,
                    }
                    for ev in events
                    for sub in self.subscribers.for_event(
                        str(ev[1]), cast("dict[str, Any]", ev[3]) if len(ev) > 3 else None
                    )
                ]
                if rows:
                    made = await s.execute(
                        insert(Delivery).returning(
                            Delivery.id, Delivery.subscriber, Delivery.tenant_id
                        ),
                        rows,
                    )
                    fresh = [(d_id, name, tid) for d_id, name, tid in made]
                    self.last_claim_at = now
                if not sweep:
                    return fresh, []
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
        return fresh, due

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

    def gather_time(self) -> float:
        """Shortest time between two passes at the recent rate (see GATHER_PER_RATE)."""
        gap = self.rate * GATHER_PER_RATE
        return min(self.settings.bus_poll_interval, max(MIN_PASS_INTERVAL, gap))

    async def _wait_for_workers(self, until: float) -> None:
        """Under load, hold the pass while the workers are behind (see BEHIND_RECHECK)."""
        loop = asyncio.get_running_loop()
        while loop.time() < until:  # a poll of the database: no event to wait on
            if not await self._behind():
                return
            await asyncio.sleep(BEHIND_RECHECK)

    async def _behind(self) -> bool:
        """Whether a delivery handed before the last pass is still queued (see
        BEHIND_RECHECK); one probe of the in-flight index."""
        if self.last_claim_at is None:
            return False
        try:
            async with self.db.session() as s:
                unscoped(s)
                found = await s.scalar(
                    select(Delivery.id)
                    .where(text("status = 'queued'"), Delivery.handed_at < self.last_claim_at)
                    .limit(1)
                )
        except Exception:
            log.exception("bus relay could not tell whether the workers are behind")
            return False
        return found is not None

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def _gather(self, pause: float) -> None:
        """Wait `pause` before a pass. A long one (load) stops listening meanwhile: the pass
        takes whatever committed, and hundreds of NOTIFYs a second cost the relay and its
        server backend more than the UNLISTEN and LISTEN around the pause."""
        conn = self._listener
        if conn is None or pause <= MIN_PASS_INTERVAL:
            await asyncio.sleep(pause)
            return
        with contextlib.suppress(Exception):  # broken: listen() reconnects, the poll goes on
            await conn.remove_listener(CHANNEL, self._notified)
        await asyncio.sleep(pause)
        # Listening again before the pass: a commit after this LISTEN wakes the next pass, one
        # before it is this pass's to take, so nothing waits for the poll.
        with contextlib.suppress(Exception):
            await conn.add_listener(CHANNEL, self._notified)

    async def listen(self) -> None:
        """Wake on the outbox's NOTIFY (PostgreSQL): events committed by other processes are
        handed over within a gather time instead of at the next poll. Reconnects after a
        failure; until then the poll carries on alone."""
        import asyncpg  # type: ignore[import-untyped]  # the driver; only PostgreSQL listens

        engine = self.db.engine
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        while not self._stopping:
            conn: Any = None
            try:
                conn = await asyncpg.connect(*args, **kwargs)
                while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK):
                    self.standby = True
                    await asyncio.sleep(LISTEN_RETRY)
                self.standby = False
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, done=lost: done.set())
                await conn.add_listener(CHANNEL, self._notified)
                self._listener = conn
                self.listening = True
                self._wake.set()  # whatever committed while no one listened
                await lost.wait()
                log.warning("bus relay: the NOTIFY connection closed; polling until it is back")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "bus relay: cannot LISTEN (%s); polling, next try in %.0f s", exc, LISTEN_RETRY
                )
            finally:
                self.listening = self.standby = False
                self._listener = None
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), timeout=2)
            await asyncio.sleep(LISTEN_RETRY)

    async def run_forever(self) -> None:
        self._loop = asyncio.get_running_loop()
        listener = None
        if self.db.dialect == "postgresql":
            listener = asyncio.create_task(self.listen(), name="bus-relay-listen")
        try:
            await self._run()
        finally:
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
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
            pause = last_pass + self.gather_time() - loop.time()
            if pause > 0:
                await self._gather(pause)
            if self.gather_time() > MIN_PASS_INTERVAL:
                await self._wait_for_workers(last_pass + interval - BEHIND_RECHECK)
            self._wake.clear()
            previous, last_pass = last_pass, loop.time()
            sweep = last_pass >= next_sweep
            if sweep:
                next_sweep = last_pass + interval
            try:
                handed = await self.run_once(sweep=sweep)
            except Exception:
                log.exception("bus relay pass failed; retrying")
                handed = 0
                await asyncio.sleep(interval)
            since = min(max(last_pass - previous, MIN_PASS_INTERVAL), 10 * interval)
            self.rate += RATE_SMOOTHING * (handed / since - self.rate)
            if handed >= self.settings.bus_batch_size:
                continue  # more waiting; go again at once
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)

    def stop(self) -> None:
        self._stopping = True
        self.wake()
