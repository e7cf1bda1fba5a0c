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


def is_pattern(topic: str) -> bool:
    """`*` (every topic) or `prefix.*` (every topic under a prefix), e.g. `erp.*`."""
    return topic == "*" or topic.endswith(".*")


def topic_matches(pattern: str, topic: str) -> bool:
    """Whether an exact name or a pattern (`*`, `erp.*`, `erp.order.*`) covers `topic`."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return topic.startswith(pattern[:-1])
    return pattern == topic


class SubscriberRegistry:
    """Subscribers by exact topic name or by pattern; one delivery per matching subscriber."""

    def __init__(self, subscribers: Iterable[Subscriber] = ()) -> None:
        self._by_name: dict[str, Subscriber] = {}
        self._by_topic: dict[str, list[Subscriber]] = {}
        self._patterns: list[Subscriber] = []
        self._resolved: dict[str, list[Subscriber]] = {}
        for s in subscribers:
            self.add(s)

    def add(self, sub: Subscriber) -> None:
        if sub.name in self._by_name:
            raise ValueError(f"subscriber {sub.name!r} registered twice")
        if "*" in sub.topic and not is_pattern(sub.topic):
            raise ValueError(f"topic pattern {sub.topic!r}: use '*' or 'prefix.*'")
        self._by_name[sub.name] = sub
        if is_pattern(sub.topic):
            self._patterns.append(sub)
        else:
            self._by_topic.setdefault(sub.topic, []).append(sub)
        self._resolved.clear()

    def for_topic(self, topic: str) -> list[Subscriber]:
        found = self._resolved.get(topic)
        if found is None:
            found = list(self._by_topic.get(topic, []))
            found += [s for s in self._patterns if topic_matches(s.topic, topic)]
            self._resolved[topic] = found
        return found

    def get(self, name: str) -> Subscriber | None:
        return self._by_name.get(name)
