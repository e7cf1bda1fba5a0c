"""The composition root of a process: settings, modules, database, bus and credentials.

Built once per process from settings; routes reach it through `deps.HubDep`, Celery tasks
through the closure `make_celery` is given. Nothing here is a module-level global.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import configure_mappers

from comms.auth.credentials import Passwords, Tokens
from comms.auth.service import Credentials
from comms.bus.delivery import DeliveryRunner
from comms.bus.loop import ForeignLoop, LoopThread
from comms.bus.publish import SUBSCRIBERS_KEY, TOPICS_KEY, WAKE_KEY
from comms.bus.relay import Dispatcher, Relay
from comms.bus.subscribers import SubscriberRegistry
from comms.bus.tasks import CeleryDispatcher, EmbeddedWorker, make_celery
from comms.bus.topics import TopicRegistry
from comms.db.engine import Database
from comms.messages.runtime import Messaging
from comms.messages.sender import SENDER_KEY
from comms.modules import Module, Periodic, discover_modules
from comms.queries import QUERIES
from comms.queries import collect as collect_queries
from comms.realtime import REALTIME
from comms.realtime.fanout import build_fanout
from comms.settings import Settings

log = logging.getLogger(__name__)


class Hub:
    def __init__(
        self,
        settings: Settings,
        modules: Sequence[Module] | None = None,
        *,
        dispatcher: Dispatcher | None = None,
    ) -> None:
        self.settings = settings
        self.modules = (
            list(modules) if modules is not None else discover_modules(settings.extra_modules)
        )
        for m in self.modules:
            m.load_models()
        # Now, on this thread. Lazily, the first query configures them, in `huitong worker`
        # on the relay's thread while the main thread forks the pool: a child forked then
        # can keep them half-configured ("AttributeError: strategy" on each delivery, seen
        # in bench runs). Configured before the fork, they are also shared with the children.
        configure_mappers()
        self.topics = TopicRegistry(t for m in self.modules for t in m.topics)
        self.subscribers = SubscriberRegistry(s for m in self.modules for s in m.subscribers)
        self.credentials = Credentials(
            Passwords(settings.argon2_time_cost, settings.argon2_memory_kib),
            Tokens(settings.ensure_secret_key(), settings.jwt_ttl_seconds),
        )
        self.services: dict[str, Any] = {}
        # Questions packages answer for each other (IVR lookups, segment checks, screen pop).
        self.queries = collect_queries(self.modules)
        self.services[QUERIES] = self.queries
        # Pushes to open console WebSockets, across processes when Redis is configured.
        self.realtime = build_fanout(settings.realtime_url)
        self.services[REALTIME] = self.realtime
        # SMS provider, mail transport, sender and sink, for handlers (ctx.services).
        self.messaging = Messaging(settings, lambda: self.db, self.services)
        self.celery = make_celery(settings, self._deliver_from_worker)
        self.dispatcher: Dispatcher = dispatcher or CeleryDispatcher(self.celery)
        self._db: Database | None = None
        self._db_pid = 0
        self._executor: LoopThread | ForeignLoop = LoopThread()
        self._relay: Relay | None = None
        self._relay_task: asyncio.Task[None] | None = None
        self._relay_pid = 0  # the process whose relay runs (a prefork child has none)
        self._child_relay: tuple[int, Relay] | None = None
        self._worker: EmbeddedWorker | None = None
        self._periodic_tasks: list[asyncio.Task[None]] = []

    @property
    def db(self) -> Database:
        """This process's database; a forked worker child gets its own engine and pool."""
        if self._db is None or self._db_pid != os.getpid():
            self._db = Database(
                self.settings.database_url,
                info={
                    TOPICS_KEY: self.topics,
                    SUBSCRIBERS_KEY: self.subscribers,
                    WAKE_KEY: self.wake_relay,
                    SENDER_KEY: self.messaging.sender,
                },
            )
            self._db_pid = os.getpid()
        return self._db

    @property
    def relay(self) -> Relay:
        if self._relay is None:
            self._relay = Relay(self.db, self.subscribers, self.dispatcher, self.settings)
        return self._relay

    def wake_relay(self) -> None:
        if self._relay is not None:
            self._relay.wake()

    def deliveries(self) -> DeliveryRunner:
        return DeliveryRunner(self.db, self.topics, self.subscribers, self.settings, self.services)

    async def run_deliveries(self, delivery_ids: Sequence[int]) -> int:
        return await self.deliveries().run(delivery_ids)

    def _deliver_from_worker(self, delivery_ids: list[int]) -> None:
        self._executor.run(self._deliver_and_relay(delivery_ids))

    async def _deliver_and_relay(self, delivery_ids: list[int]) -> None:
        runner = self.deliveries()
        await runner.run(delivery_ids)
        if runner.published and self._relay_pid != os.getpid() and self.db.dialect != "postgresql":
            # No relay runs in this process (a prefork child) to wake: hand over what the
            # batch published now, not at a relay's next poll (up to bus_poll_interval later);
            # only when a subscriber takes some of it (a pass costs a transaction). On
            # PostgreSQL the commit's NOTIFY wakes the relay itself (comms_0008), which
            # gathers a pass by the load rather than taking whatever this moment holds.
            if self._child_relay is None or self._child_relay[0] != os.getpid():
                relay = Relay(self.db, self.subscribers, self.dispatcher, self.settings)
                self._child_relay = (os.getpid(), relay)
            try:
                await self._child_relay[1].run_once(sweep=False)
            except Exception:
                log.exception("relaying after a delivery batch failed; the relay's poll will")

    def start_relay_in_background(self) -> None:
        """Run the relay on the loop deliveries use (`huitong worker`): one engine, one loop.
        With a prefork pool only the parent relays; children get their own loop and engine."""
        executor = self._executor
        assert isinstance(executor, LoopThread)
        loop = executor.loop

        def start() -> None:
            self._relay_task = loop.create_task(self.relay.run_forever(), name="bus-relay")
            self._relay_pid = os.getpid()
            self._start_periodic()

        loop.call_soon_threadsafe(start)

    async def start(self, *, relay: bool | None = None, worker: bool | None = None) -> None:
        """Start the relay and (embedded broker) the in-process worker on this event loop."""
        relay = self.settings.bus_relay if relay is None else relay
        worker = self.settings.embedded_broker if worker is None else worker
        if worker:
            # Deliveries run on this loop with this engine: one SQLite writer pool, not two.
            self._executor = ForeignLoop(asyncio.get_running_loop())
            self._worker = EmbeddedWorker(self.celery)
            await asyncio.to_thread(self._worker.start)
        if relay:
            self._relay_task = asyncio.create_task(self.relay.run_forever(), name="bus-relay")
            self._relay_pid = os.getpid()
            self._start_periodic()
            await self.messaging.start()  # resumes interrupted sends, then sweeps

    def _start_periodic(self) -> None:
        """Start every module's periodic jobs on the running loop (with the relay)."""
        self._periodic_tasks = [
            asyncio.create_task(self._run_periodic(job), name=f"periodic-{job.name}")
            for m in self.modules
            for job in m.periodic
        ]

    async def _run_periodic(self, job: Periodic) -> None:
        while True:
            try:
                await job.run(self.db)
            except Exception:
                log.exception("periodic job %s failed; next try in %.0f s", job.name, job.every)
            await asyncio.sleep(job.every)

    async def stop(self) -> None:
        for task in self._periodic_tasks:
            task.cancel()
        await asyncio.gather(*self._periodic_tasks, return_exceptions=True)
        self._periodic_tasks = []
        await self.messaging.stop()
        await self.realtime.close()
        if self._relay is not None:
            self._relay.stop()
        if self._relay_task is not None:
            try:
                await asyncio.wait_for(self._relay_task, timeout=5)
            except TimeoutError:
                self._relay_task.cancel()
            self._relay_task = None
        if self._worker is not None:
            await asyncio.to_thread(self._worker.stop)
            self._worker = None
        if self._db is not None and self._db_pid == os.getpid():
            await self._db.dispose()
