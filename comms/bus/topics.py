"""Typed, versioned event contracts: one payload class per topic."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError


class EventPayload(BaseModel):
    """Base of every event payload: ids and facts, never ORM objects; unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: ClassVar[str]
    version: ClassVar[int] = 1


P = TypeVar("P", bound=EventPayload)


class UnknownTopicError(ValueError):
    def __init__(self, topic: str) -> None:
        super().__init__(f"unknown event topic {topic!r}: register its payload class first")
        self.topic = topic


class PayloadError(ValueError):
    def __init__(self, topic: str, error: ValidationError | str) -> None:
        super().__init__(f"payload for {topic!r} does not match its schema: {error}")
        self.topic = topic


@dataclass(frozen=True)
class Event(Generic[P]):
    """What a subscriber receives: the stored envelope plus the typed payload."""

    id: int
    topic: str
    version: int
    tenant_id: uuid.UUID
    created_at: datetime
    payload: P


class TopicRegistry:
    """Known topics and their payload classes, per version."""

    def __init__(self, payloads: Iterable[type[EventPayload]] = ()) -> None:
        self._by_key: dict[tuple[str, int], type[EventPayload]] = {}
        self._latest: dict[str, type[EventPayload]] = {}
        for cls in payloads:
            self.register(cls)

    def register(self, cls: type[EventPayload]) -> None:
        name = getattr(cls, "topic", None)
        if not name or name.count(".") < 2:
            raise ValueError(f"{cls.__name__}.topic must be 'package.entity.verb'")
        key = (name, cls.version)
        if key in self._by_key and self._by_key[key] is not cls:
            raise ValueError(f"topic {name!r} v{cls.version} registered twice")
        self._by_key[key] = cls
        if name not in self._latest or self._latest[name].version < cls.version:
            self._latest[name] = cls

    def __contains__(self, topic: str) -> bool:
        return topic in self._latest

    def names(self) -> list[str]:
        return sorted(self._latest)

    def payload_class(self, topic: str, version: int | None = None) -> type[EventPayload]:
        try:
            if version is None:
                return self._latest[topic]
            return self._by_key[(topic, version)]
        except KeyError:
            raise UnknownTopicError(topic) from None

    def validate(self, topic: str, payload: EventPayload | dict[str, Any]) -> EventPayload:
        """The payload as its registered class (latest version), or a clear error."""
        cls = self.payload_class(topic)
        if isinstance(payload, EventPayload):
            if type(payload) is not cls:
                raise PayloadError(topic, f"expected {cls.__name__}, got {type(payload).__name__}")
            return payload
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            raise PayloadError(topic, exc) from exc

    def load(self, topic: str, version: int, data: dict[str, Any]) -> EventPayload:
        """The stored payload as the topic's latest class: an event written by an older
        release (still in the outbox at an upgrade) is carried forward by its `upgrade()`."""
        payload = self.payload_class(topic, version).model_validate(data)
        latest = self.payload_class(topic)
        while type(payload) is not latest:
            upgrade = getattr(payload, "upgrade", None)
            if upgrade is None:
                raise PayloadError(topic, f"v{version} has no upgrade to v{latest.version}")
            payload = upgrade()
        return payload
