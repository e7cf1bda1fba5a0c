"""Running deliveries: each handler's effect commits together with its done mark.

A batch runs in one transaction with a savepoint per delivery, so a delivery that fails rolls
back its own effect only, and a redelivered id that is already done is skipped: the handler's
database effect happens exactly once however often the broker repeats itself. The outcomes
(done, retrying, dead) are written in one executemany at the end of the batch, in the same
transaction, rather than one UPDATE per delivery.
"""

from __future__ import annotations

import logging
import random
import traceback
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from comms.bus.models import Delivery, DeliveryStatus, OutboxEvent
from comms.bus.publish import PENDING_KEY
from comms.bus.subscribers import HandlerContext, SubscriberRegistry
from comms.bus.topics import Event, TopicRegistry
from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.sets import among
from comms.db.tenancy import scoped_to, unscoped
from comms.settings import Settings

log = logging.getLogger(__name__)


def backoff_seconds(attempt: int, settings: Settings) -> float:
    """Exponential backoff with ±20 % jitter so that retries of one outage do not stampede."""
    base: float = min(settings.bus_retry_base * 2 ** (attempt - 1), settings.bus_retry_max)
    return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security


class DeliveryRunner:
    def __init__(
        self,
        db: Database,
        topics: TopicRegistry,
        subscribers: SubscriberRegistry,
        settings: Settings,
        services: dict[str, Any] | None = None,
    ) -> None:
        self.db = db
        self.topics = topics
        self.subscribers = subscribers
        self.settings = settings
        self.services = services or {}
        self.published = False  # whether the last run's commit carried new events

    async def run(self, delivery_ids: Sequence[int]) -> int:
        """Run the still-pending deliveries among `delivery_ids`; returns how many succeeded."""
        done = 0
        outcomes: list[dict[str, Any]] = []
        async with self.db.session() as s:
            unscoped(s)
            async with s.begin():
                rows = (
                    await s.execute(
                        select(
                            Delivery.id,
                            Delivery.subscriber,
                            Delivery.attempts,
                            OutboxEvent.id,
                            OutboxEvent.topic,
                            OutboxEvent.version,
                            OutboxEvent.tenant_id,
                            OutboxEvent.created_at,
                            OutboxEvent.payload,
                        )
                        .join(OutboxEvent, OutboxEvent.id == Delivery.event_id)
                        .where(
                            among(Delivery.id, delivery_ids),
                            Delivery.status == DeliveryStatus.QUEUED,
                        )
                        .order_by(Delivery.id)
                        .with_for_update(skip_locked=True, of=Delivery)
                    )
                ).all()
                for d_id, sub_name, attempts, ev_id, topic, version, tid, created, data in rows:
                    attempt = attempts + 1
                    error: str | None = None
                    sub = self.subscribers.get(sub_name)
                    if sub is None:
                        error = f"no subscriber named {sub_name!r} in this process"
                    else:
                        savepoint = await s.begin_nested()
                        scoped_to(s, tid)
                        try:
                            payload = self.topics.load(topic, version, data)
                            event = Event(ev_id, topic, version, tid, created, payload)
                            ctx = HandlerContext(s, attempt, self.services)
                            await sub.handler(ctx, event)
                            await savepoint.commit()
                        except Exception as exc:
                            await savepoint.rollback()
                            error = "".join(traceback.format_exception_only(exc)).strip()
                            log.warning(
                                "handler %s failed on event %s (attempt %s): %s",
                                sub_name,
                                ev_id,
                                attempt,
                                error,
                            )
                        finally:
                            unscoped(s)
                            s.expunge_all()
                    outcomes.append({"id": d_id, **self._outcome(attempt, error)})
                    done += error is None
                if outcomes:
                    # ORM bulk UPDATE by primary key: one executemany for the whole batch.
                    await s.execute(update(Delivery), outcomes)
                self.published = bool(s.info.get(PENDING_KEY))
        return done

    def _outcome(self, attempt: int, error: str | None) -> dict[str, Any]:
        now = utcnow()
        if error is None:
            return {
                "status": DeliveryStatus.DONE,
                "attempts": attempt,
                "done_at": now,
                "last_error": None,
                "next_attempt_at": None,
            }
        # Every outcome sets the same keys, so that one executemany can write a mixed batch.
        if attempt >= self.settings.bus_max_attempts:
            return {
                "status": DeliveryStatus.DEAD,
                "attempts": attempt,
                "done_at": None,
                "last_error": error,
                "next_attempt_at": None,
            }
        wait = timedelta(seconds=backoff_seconds(attempt, self.settings))
        return {
            "status": DeliveryStatus.RETRYING,
            "attempts": attempt,
            "done_at": None,
            "last_error": error,
            "next_attempt_at": now + wait,
        }
