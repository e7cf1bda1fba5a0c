"""Running deliveries: each handler's effect commits together with its done mark.

A batch runs in one transaction with a savepoint per delivery, so a delivery that fails rolls
back its own effect only, and a redelivered id that is already done is skipped: the handler's
database effect happens exactly once however often the broker repeats itself. The outcomes
are written at the end of the batch, in the same transaction: the done ones in one UPDATE over
an id array, the few retrying or dead ones in one executemany.

A batch subscriber (`SubscriberSet.on_batch`) gets its deliveries of the batch of one tenant
and attempt number in one call and one savepoint; if that call raises, each of them is run
again alone, so the failure, its retry and its backoff stay those of the one poisoned event.
"""

from __future__ import annotations

import logging
import random
import traceback
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus.models import Delivery, DeliveryStatus, OutboxEvent
from comms.bus.publish import WANTED_KEY
from comms.bus.subscribers import HandlerContext, SubscriberRegistry
from comms.bus.topics import Event, TopicRegistry
from comms.db.base import utcnow
from comms.db.engine import Database
from comms.db.sets import among
from comms.db.tenancy import scoped_to, unscoped
from comms.settings import Settings

log = logging.getLogger(__name__)

_CLAIM = (
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
    .where(Delivery.status == DeliveryStatus.QUEUED)
    .order_by(Delivery.id)
    .with_for_update(skip_locked=True, of=Delivery)
)


_MARK_DONE = (
    update(Delivery)
    .values(
        status=DeliveryStatus.DONE,
        attempts=bindparam("b_attempts"),
        done_at=bindparam("b_now"),
        last_error=None,
        next_attempt_at=None,
    )
    .execution_options(synchronize_session=False)
)


def backoff_seconds(attempt: int, settings: Settings) -> float:
    """Exponential backoff with ±20 % jitter so that retries of one outage do not stampede."""
    base: float = min(settings.bus_retry_base * 2 ** (attempt - 1), settings.bus_retry_max)
    return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not security


def _describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(exc)).strip()


@dataclass
class Item:
    """One delivery of a run: its event once loaded, its error once run (None: done)."""

    delivery_id: int
    attempt: int
    subscriber: str
    tenant_id: uuid.UUID
    event: Event[Any] | None = None
    error: str | None = None


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
        # Whether the last run's commit carried events some subscriber takes (the queued/
        # sending status events of the SMS a notice queues do not count: no one takes them).
        self.published = False

    async def run(self, delivery_ids: Sequence[int]) -> int:
        """Run the still-pending deliveries among `delivery_ids`; returns how many succeeded.

        Urgent subscribers' deliveries (someone waits on their effect: a notice's SMS, a
        console push) commit first, in a transaction of their own, so what they hand over at
        commit goes out while the rest of the message runs."""
        outcomes: list[dict[str, Any]] = []  # not yet written
        self.published = False
        async with self.db.session() as s:
            unscoped(s)
            async with s.begin():
                units = await self._load(s, delivery_ids, outcomes)
                urgent = [u for u in units if self._urgent(u)]
                rest = [u for u in units if not self._urgent(u)]
                first, later = (urgent, rest) if urgent and rest else (units, [])
                done = await self._run_units(s, first, outcomes)
            if later:
                async with s.begin():
                    done += await self._run_units(s, await self._reclaim(s, later), outcomes)
        return done

    async def _reclaim(
        self, s: AsyncSession, units: list[Item | list[Item]]
    ) -> list[Item | list[Item]]:
        """The units whose deliveries are still queued, locked again: the urgent part's
        commit unlocked them, and a redelivered message's other run may have taken some."""
        ids = [i.delivery_id for u in units for i in (u if isinstance(u, list) else [u])]
        kept = set(
            await s.scalars(
                select(Delivery.id)
                .where(among(Delivery.id, ids), Delivery.status == DeliveryStatus.QUEUED)
                .with_for_update(skip_locked=True)
            )
        )
        out: list[Item | list[Item]] = []
        for u in units:
            if isinstance(u, Item):
                if u.delivery_id in kept:
                    out.append(u)
            elif group := [i for i in u if i.delivery_id in kept]:
                out.append(group)
        return out

    def _urgent(self, unit: Item | list[Item]) -> bool:
        item = unit if isinstance(unit, Item) else unit[0]
        sub = self.subscribers.get(item.subscriber)
        return sub is not None and sub.urgent

    async def _load(
        self, s: AsyncSession, delivery_ids: Sequence[int], outcomes: list[dict[str, Any]]
    ) -> list[Item | list[Item]]:
        """Lock the queued deliveries, load their events, and cut them into units: one item
        per delivery, or one group per (subscriber, tenant, attempt) of a batch subscriber,
        where the group's first delivery stands in the message. Deliveries that cannot run
        here (unknown subscriber, unreadable payload) get their outcome at once."""
        rows = (await s.execute(_CLAIM.where(among(Delivery.id, delivery_ids)))).all()
        units: list[Item | list[Item]] = []
        groups: dict[tuple[str, uuid.UUID, int], list[Item]] = {}
        # An event delivered to several subscribers in one message is validated once
        # (payloads are frozen, so the subscribers can share it).
        loaded: dict[int, Any] = {}
        for d_id, sub_name, attempts, ev_id, topic, version, tid, created, data in rows:
            item = Item(d_id, attempts + 1, sub_name, tid)
            sub = self.subscribers.get(sub_name)
            if sub is None:
                item.error = f"no subscriber named {sub_name!r} in this process"
                outcomes.append(self._outcome(item))
                continue
            try:
                payload = loaded.get(ev_id)
                if payload is None:
                    payload = loaded[ev_id] = self.topics.load(topic, version, data)
            except Exception as exc:
                item.error = _describe(exc)
                outcomes.append(self._outcome(item))
                continue
            item.event = Event(ev_id, topic, version, tid, created, payload)
            if sub.batch is None:
                units.append(item)
                continue
            key = (sub_name, tid, item.attempt)
            group = groups.get(key)
            if group is None:
                group = groups[key] = []
                units.append(group)
            group.append(item)
        return units

    async def _run_units(
        self, s: AsyncSession, units: list[Item | list[Item]], outcomes: list[dict[str, Any]]
    ) -> int:
        """Run the units and write their outcomes in the transaction, with those already in
        `outcomes` (which it empties); returns how many succeeded."""
        for unit in units:
            if isinstance(unit, Item):
                await self._run_alone(s, unit)
                outcomes.append(self._outcome(unit))
            else:
                await self._run_group(s, unit)
                outcomes.extend(self._outcome(i) for i in unit)
        await self._mark(s, outcomes)
        done = sum(o["status"] is DeliveryStatus.DONE for o in outcomes)
        outcomes.clear()
        self.published = self.published or bool(s.info.get(WANTED_KEY))
        return done

    async def _mark(self, s: AsyncSession, outcomes: list[dict[str, Any]]) -> None:
        """Write the outcomes: the done ones (nearly all) in one UPDATE per attempt number
        over an id array, the rest by primary key in one executemany. An executemany runs
        the UPDATE once per row in the server; the array form is one scan."""
        done: dict[int, list[int]] = {}
        others: list[dict[str, Any]] = []
        for o in outcomes:
            if o["status"] is DeliveryStatus.DONE:
                done.setdefault(o["attempts"], []).append(o["id"])
            else:
                others.append(o)
        now = utcnow()
        for attempts, ids in done.items():
            await s.execute(
                _MARK_DONE.where(among(Delivery.id, ids)),
                {"b_attempts": attempts, "b_now": now},
            )
        if others:
            await s.execute(update(Delivery), others)  # ORM bulk UPDATE by primary key

    async def _run_alone(self, s: AsyncSession, item: Item) -> None:
        """One event through its subscriber's handler, in its own savepoint."""
        sub = self.subscribers.get(item.subscriber)
        assert sub is not None and item.event is not None
        event = item.event
        item.error = await self._attempt(
            s, item, lambda ctx: sub.handler(ctx, event), [item.event.id]
        )

    async def _run_group(self, s: AsyncSession, group: list[Item]) -> None:
        """A batch subscriber's group in one call; if that fails, each event alone."""
        sub = self.subscribers.get(group[0].subscriber)
        assert sub is not None and sub.batch is not None
        batch = sub.batch
        events = [i.event for i in group if i.event is not None]
        if len(group) > 1:
            error = await self._attempt(
                s, group[0], lambda ctx: batch(ctx, events), [e.id for e in events]
            )
            if error is None:
                return
        # A savepoint rolled back leaves PostgreSQL's per-backend subtransaction cache (see
        # CHUNK in chunks.py), so these extra savepoints stay within the bound of one each.
        for item in group:
            await self._run_alone(s, item)

    async def _attempt(
        self,
        s: AsyncSession,
        item: Item,
        call: Callable[[HandlerContext], Awaitable[None]],
        event_ids: list[int],
    ) -> str | None:
        """Run `call` in a savepoint scoped to the item's tenant; the error, or None."""
        savepoint = await s.begin_nested()
        scoped_to(s, item.tenant_id)
        try:
            await call(HandlerContext(s, item.attempt, self.services))
            await savepoint.commit()
            return None
        except Exception as exc:
            await savepoint.rollback()
            error = _describe(exc)
            log.warning(
                "handler %s failed on event(s) %s (attempt %s): %s",
                item.subscriber,
                ", ".join(map(str, event_ids)),
                item.attempt,
                error,
            )
            return error
        finally:
            unscoped(s)
            s.expunge_all()

    def _outcome(self, item: Item) -> dict[str, Any]:
        return {"id": item.delivery_id, **self._status(item.attempt, item.error)}

    def _status(self, attempt: int, error: str | None) -> dict[str, Any]:
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
