"""Bus subscribers: a named handler per topic, registered by a package's module.

`@subs.on(topic)` registers a handler of one event. `@subs.on_batch(topic)` registers a
handler of a list of events: the delivery runner calls it once per (subscriber, tenant,
attempt) group of a broker message, in one savepoint, so set-wise work (one query for the
group's keys, one multi-row INSERT) replaces per-event work. If the call raises, each event
of the group is run again alone (a one-element list, its own savepoint): a poisoned event
fails and retries alone while the others commit. A batch handler must therefore give the
same effect for a list as for its events one by one (see docs/bus.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
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
# Events of one tenant (the context's session is scoped to it) and one attempt number, in
# delivery order.
BatchHandler = Callable[[HandlerContext, list[Event[Any]]], Awaitable[None]]


# A subscriber's payload filter: (field, allowed values as JSON strings) pairs, all must hold.
PayloadFilter = tuple[tuple[str, frozenset[str]], ...]
# What `on`/`on_batch` take as `when`: field -> allowed values.
When = Mapping[str, Iterable[Any]] | None


def make_filter(when: When) -> PayloadFilter:
    """Normalise `{"status": {"sent", MessageStatus.FAILED}}` to what the relay compares:
    enum members and other values become the strings they are stored as in the outbox."""
    if not when:
        return ()
    out = []
    for fld, allowed in sorted(when.items()):
        values = frozenset(str(getattr(v, "value", v)) for v in allowed)
        if not values:
            raise ValueError(f"filter on {fld!r} allows no value; drop the subscription instead")
        out.append((fld, values))
    return tuple(out)


@dataclass(frozen=True)
class Subscriber:
    name: str
    topic: str
    handler: Handler
    # Evaluated by the relay before it makes a delivery: an event the filter rejects gets no
    # delivery row for this subscriber at all (a delivery row, a broker hop and a worker
    # transaction saved). Top-level payload fields only; handlers still check what they need.
    # A list-valued field (a batch event's summary, e.g. `statuses`) matches when any of its
    # values is allowed.
    when: PayloadFilter = ()
    # Set for `on_batch` subscribers; `handler` then runs it on a one-element list.
    batch: BatchHandler | None = None
    # A person waits on its effect (a notice, a screen pop): the relay hands this subscriber's
    # deliveries to the broker ahead of the rest of its pass, so bookkeeping queues behind.
    urgent: bool = False

    def wants(self, payload: Mapping[str, Any] | None) -> bool:
        """Whether an event with this payload is for this subscriber (no filter: always)."""
        if not self.when:
            return True
        if payload is None:
            return True  # nothing to judge by: deliver, the handler decides
        for fld, allowed in self.when:
            v = payload.get(fld)
            if v is None:
                return False
            if isinstance(v, list):
                if not any(str(x) in allowed for x in v):
                    return False
            elif str(v) not in allowed:
                return False
        return True


def _one_by_one(fn: BatchHandler) -> Handler:
    async def handler(ctx: HandlerContext, event: Event[Any]) -> None:
        await fn(ctx, [event])

    return handler


class SubscriberSet:
    """Collects a package's subscribers; `@subs.on("erp.stock.low")` registers a handler."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.items: list[Subscriber] = []

    def on(
        self,
        topic: str | type[EventPayload],
        name: str | None = None,
        *,
        when: When = None,
        urgent: bool = False,
    ) -> Callable[[Handler], Handler]:
        """`when={"status": {...}}`: only events whose payload field holds one of the values
        are delivered (the relay filters, so the others cost this subscriber nothing).
        `urgent`: someone waits on the effect; its deliveries go to the broker first."""
        topic_name = topic if isinstance(topic, str) else topic.topic
        flt = make_filter(when)

        def deco(fn: Handler) -> Handler:
            full = f"{self.prefix}.{name or fn.__name__}"
            self.items.append(Subscriber(full, topic_name, fn, flt, urgent=urgent))
            return fn

        return deco

    def on_batch(
        self,
        topic: str | type[EventPayload],
        name: str | None = None,
        *,
        when: When = None,
        urgent: bool = False,
    ) -> Callable[[BatchHandler], BatchHandler]:
        """Like `on`, for a handler that takes a list of events (see the module docstring)."""
        topic_name = topic if isinstance(topic, str) else topic.topic
        flt = make_filter(when)

        def deco(fn: BatchHandler) -> BatchHandler:
            full = f"{self.prefix}.{name or fn.__name__}"
            self.items.append(Subscriber(full, topic_name, _one_by_one(fn), flt, fn, urgent))
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


def specificity(pattern: str) -> int:
    """How closely a name or pattern covers a topic it matches, higher closer: the exact
    name, then the longer prefix (`erp.order.*` before `erp.*`), then `*`."""
    return 10_000 if not is_pattern(pattern) else len(pattern)


class SubscriberRegistry:
    """Subscribers by exact topic name or by pattern; one delivery per matching subscriber."""

    def __init__(self, subscribers: Iterable[Subscriber] = ()) -> None:
        self._by_name: dict[str, Subscriber] = {}
        self._by_topic: dict[str, list[Subscriber]] = {}
        self._patterns: list[Subscriber] = []
        self._resolved: dict[str, list[Subscriber]] = {}
        self.filtered = False  # any subscriber with a payload filter: the relay reads payloads
        for s in subscribers:
            self.add(s)

    def add(self, sub: Subscriber) -> None:
        if sub.name in self._by_name:
            raise ValueError(f"subscriber {sub.name!r} registered twice")
        if "*" in sub.topic and not is_pattern(sub.topic):
            raise ValueError(f"topic pattern {sub.topic!r}: use '*' or 'prefix.*'")
        self._by_name[sub.name] = sub
        self.filtered = self.filtered or bool(sub.when)
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

    def needs_payload(self, topic: str) -> bool:
        """Whether deciding this topic's deliveries needs the event's payload."""
        return any(s.when for s in self.for_topic(topic))

    def for_event(self, topic: str, payload: Mapping[str, Any] | None) -> list[Subscriber]:
        """The subscribers that get a delivery of this event (topic and payload filter)."""
        return [s for s in self.for_topic(topic) if s.wants(payload)]

    def get(self, name: str) -> Subscriber | None:
        return self._by_name.get(name)
