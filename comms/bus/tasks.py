"""Celery: the app, the one delivery task, and the dispatcher the relay sends through."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from celery import Celery
from celery.worker import WorkController

from comms.settings import Settings

log = logging.getLogger(__name__)

DELIVER_TASK = "huitong.bus.deliver"
QUEUE = "huitong.bus"


def make_celery(settings: Settings, deliver: Callable[[list[int]], Any]) -> Celery:
    """A Celery app whose one task runs deliveries through `deliver` (passed in, no globals)."""
    app = Celery("huitong", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        # Ack after the work: a worker killed mid-batch leaves the message to be redelivered.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=4,
        task_default_queue=QUEUE,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        broker_transport_options={"visibility_timeout": 3600},
    )
    if settings.embedded_broker:
        # The in-memory transport polls; the default 1 s would add up to a second per event.
        app.conf.broker_transport_options = {"polling_interval": 0.01}

    # shared=False: a shared task would be attached to every Celery app in the process, so a
    # second hub (tests, embedded restarts) would run the first hub's closure.
    @app.task(name=DELIVER_TASK, shared=False)  # type: ignore[untyped-decorator]
    def deliver_task(delivery_ids: list[int]) -> None:
        deliver(list(delivery_ids))

    return app


class CeleryDispatcher:
    def __init__(self, app: Celery) -> None:
        self.app = app

    def send(self, delivery_ids: Sequence[int]) -> None:
        self.app.send_task(DELIVER_TASK, args=[list(delivery_ids)], queue=QUEUE)


class _Worker(WorkController):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.ready = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer: Any) -> None:
        self.ready.set()


class EmbeddedWorker:
    """A Celery worker inside this process (solo pool, in a thread): the embedded default."""

    def __init__(self, app: Celery, concurrency: int = 1) -> None:
        self.app = app
        self.concurrency = concurrency
        self._worker: _Worker | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 30) -> None:
        self.app.loader.import_default_modules()
        self._worker = _Worker(
            app=self.app,
            pool="solo" if self.concurrency == 1 else "threads",
            concurrency=self.concurrency,
            loglevel="WARNING",
            hostname=f"embedded-{id(self)}@huitong",
            queues=[QUEUE],
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
        )
        worker = self._worker

        def run() -> None:
            # Celery's pools look tasks up on the *current* app, which is thread-local.
            self.app.set_current()
            worker.start()

        self._thread = threading.Thread(target=run, name="huitong-worker", daemon=True)
        self._thread.start()
        if not self._worker.ready.wait(timeout):
            raise RuntimeError("embedded Celery worker did not start")

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop(in_sighandler=False, exitcode=0)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._worker = None
