"""The messaging bus: typed topics, a transactional outbox, a relay to Celery, idempotent
per-subscriber deliveries with retries and dead letters."""

from comms.bus.publish import publish
from comms.bus.subscribers import HandlerContext, Subscriber, SubscriberSet
from comms.bus.topics import Event, EventPayload, PayloadError, UnknownTopicError

__all__ = [
    "Event",
    "EventPayload",
    "HandlerContext",
    "PayloadError",
    "Subscriber",
    "SubscriberSet",
    "UnknownTopicError",
    "publish",
]
