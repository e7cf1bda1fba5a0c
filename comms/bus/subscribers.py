"""Bus subscribers: a named handler per topic, registered by a package's module."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comms.bus.topics import Event, EventPayload


@dataclass
class HandlerContext:
    """What a handler works with: a session scoped to the event's tenant, in the delivery's
    transaction (commit it never; the bus commits the effect together with the done mark)."""

    session: AsyncSession
    attempt: int
    services: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[HandlerContext, Event[Any]], Awaitable[None]]


@dataclass(frozen=True)
class Subscriber:
    name: str
    topic: str
    handler: Handler


class SubscriberSet:
    """Collects a package's subscribers; `@subs.on("erp.stock.low")` registers a handler."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.items: list[Subscriber] = []

    def on(
        self, topic: str | type[EventPayload], name: str | None = None
    ) -> Callable[[Handler], Handler]:
        topic_name = topic if isinstance(topic, str) else topic.topic

        def deco(fn: Handler) -> Handler:
            self.items.append(Subscriber(f"{self.prefix}.{name or fn.__name__}", topic_name, fn))
            return fn

        return deco

    def __iter__(self) -> Any:
        return iter(self.items)


class SubscriberRegistry:
    def __init__(self, subscribers: Iterable[Subscriber] = ()) -> None:
        self._by_name: dict[str, Subscriber] = {}
        self._by_topic: dict[str, list[Subscriber]] = {}
        for s in subscribers:
            self.add(s)

    def add(self, sub: Subscriber) -> None:
        if sub.name in self._by_name:
            raise ValueError(f"subscriber {sub.name!r} registered twice")
        self._by_name[sub.name] = sub
        self._by_topic.setdefault(sub.topic, []).append(sub)

    def for_topic(self, topic: str) -> list[Subscriber]:
        return self._by_topic.get(topic, [])

    def get(self, name: str) -> Subscriber | None:
        return self._by_name.get(name)
