"""Rule checks at save time (422 naming the field) and rule matching at event time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from comms.auth.models import Role, User
from comms.bus.subscribers import is_pattern, topic_matches
from comms.bus.topics import EventPayload, TopicRegistry
from comms.db.tenancy import current_tenant
from comms.errors import InvalidInput
from comms.messages.addresses import normalise_email, normalise_phone
from notifications import defaults
from notifications.models import NotificationRule, Urgency
from notifications.schemas import Condition, RuleIn

# Topics the notifications handler subscribes to. Named patterns rather than `*`: every
# subscriber costs one delivery row per matching event, and calls and message statuses are
# by far the busiest topics and are not worth a notice. A rule outside these is refused.
NOTIFIABLE: tuple[str, ...] = (
    "erp.*",
    "crm.*",
    "telephony.call.missed",
    "telephony.voicemail.recorded",
    "telephony.queue.*",
    "telephony.agent.*",
    "comms.message.inbound",
)

ORDERED_OPS = frozenset({"gt", "lt"})


def covered(topic: str) -> bool:
    """Whether the handler receives every event a rule on `topic` can match."""
    if topic == "*":
        return False  # would claim topics the handler never sees
    if is_pattern(topic):
        prefix = topic[:-1]
        return any(is_pattern(n) and prefix.startswith(n[:-1]) for n in NOTIFIABLE)
    return any(topic_matches(n, topic) for n in NOTIFIABLE)


def payload_class(topics: TopicRegistry, topic: str) -> type[EventPayload] | None:
    """The registered payload class of an exact topic name, else None (pattern or unknown)."""
    if is_pattern(topic) or topic not in topics:
        return None
    return topics.payload_class(topic)


def _check_path(cls: type[BaseModel] | None, path: str, where: str) -> None:
    if cls is None:
        return
    head = path.split(".", 1)[0]
    if head not in cls.model_fields:
        raise InvalidInput(
            f"{where}: the payload of {cls.topic if hasattr(cls, 'topic') else cls.__name__} "
            f"has no field {head!r}",
            field=where,
        )


async def validate_rule(session: AsyncSession, topics: TopicRegistry, data: RuleIn) -> None:
    """Refuse a rule that could never work, naming the offending field."""
    if "*" in data.topic and not is_pattern(data.topic):
        raise InvalidInput("topic: a pattern is `prefix.*`", field="topic")
    if not covered(data.topic):
        raise InvalidInput(
            f"topic: {data.topic!r} is not a notifiable topic ({', '.join(NOTIFIABLE)})",
            field="topic",
        )
    cls = payload_class(topics, data.topic)
    for i, c in enumerate(data.conditions):
        where = f"conditions[{i}]"
        _check_path(cls, c.field, f"{where}.field")
        if c.op == "in" and not isinstance(c.value, list):
            raise InvalidInput(f"{where}.value: `in` needs a list", field=f"{where}.value")
        if c.op in ORDERED_OPS and (
            isinstance(c.value, bool) or not isinstance(c.value, int | float | str)
        ):
            raise InvalidInput(
                f"{where}.value: `{c.op}` needs a number or a string", field=f"{where}.value"
            )
        if c.op == "contains" and c.value is None:
            raise InvalidInput(f"{where}.value: `contains` needs a value", field=f"{where}.value")
    for i, r in enumerate(data.recipients):
        where = f"recipients[{i}].value"
        if r.kind == "contact":
            continue
        if not r.value:
            raise InvalidInput(f"{where}: required for {r.kind!r}", field=where)
        if r.kind == "user":
            try:
                uid = uuid.UUID(r.value)
            except ValueError:
                raise InvalidInput(f"{where}: not a user id", field=where) from None
            if await session.get(User, uid) is None:
                raise InvalidInput(f"{where}: no such user", field=where)
        elif r.kind == "role" and r.value not in {x.value for x in Role}:
            raise InvalidInput(f"{where}: not a role ({', '.join(Role)})", field=where)
        elif r.kind in ("payload_user", "payload_role"):
            _check_path(cls, r.value, where)
        elif r.kind == "address":
            if "@" in r.value:
                normalise_email(r.value, where)
            else:
                normalise_phone(r.value, where)
    if len(set(data.channels)) != len(data.channels):
        raise InvalidInput("channels: a channel is listed twice", field="channels")
    if data.dedupe_field:
        _check_path(cls, data.dedupe_field, "dedupe_field")
        if data.dedupe_minutes <= 0:
            raise InvalidInput(
                "dedupe_minutes: a dedupe field needs a window > 0", field="dedupe_minutes"
            )


_MISSING = object()


def lookup(payload: dict[str, Any], path: str) -> Any:
    """The value at a dotted path, or _MISSING."""
    cur: Any = payload
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return _MISSING
        cur = cur[part]
    return cur


def _compare(op: str, have: Any, want: Any) -> bool:
    if op == "eq":
        return bool(have == want)
    if op == "ne":
        return bool(have != want)
    if op == "in":
        return have in want
    if op == "contains":
        if isinstance(have, str):
            return isinstance(want, str) and want in have
        return isinstance(have, list) and want in have
    # gt / lt: numbers with numbers, strings with strings; anything else does not match.
    if isinstance(have, bool) or isinstance(want, bool):
        return False
    if isinstance(have, int | float) and isinstance(want, int | float):
        pass
    elif not (isinstance(have, str) and isinstance(want, str)):
        return False
    return bool(have > want) if op == "gt" else bool(have < want)


def conditions_hold(conditions: Sequence[dict[str, Any]], payload: dict[str, Any]) -> bool:
    """All conditions hold; a missing field fails its condition."""
    return _hold(tuple(Condition.model_validate(raw) for raw in conditions), payload)


def _hold(conditions: tuple[Condition, ...], payload: dict[str, Any]) -> bool:
    for c in conditions:
        have = lookup(payload, c.field)
        if have is _MISSING or not _compare(c.op, have, c.value):
            return False
    return True


@dataclass(frozen=True)
class RuleView:
    """A rule's values, detached from the ORM (safe to keep across a batch's savepoints)."""

    id: uuid.UUID | None  # None: a built-in default (defaults.py), which has no row
    topic: str
    conditions: list[dict[str, Any]]
    recipients: list[dict[str, Any]]
    channels: list[str]
    escalate_after_minutes: int
    urgency: Urgency
    dedupe_field: str | None
    dedupe_minutes: int
    checks: tuple[Condition, ...]  # `conditions`, validated once when the view is built

    def holds(self, payload: dict[str, Any]) -> bool:
        """All of the rule's conditions hold for `payload`."""
        return _hold(self.checks, payload)


RULES_CACHE = "notifications.rules"
_R = NotificationRule
_RULE_COLUMNS = (
    _R.id,
    _R.topic,
    _R.conditions,
    _R.recipients,
    _R.channels,
    _R.escalate_after_minutes,
    _R.urgency,
    _R.dedupe_field,
    _R.dedupe_minutes,
)
# Views built from rule rows, by rule id, with the row they came from. A view is reused only
# while its row reads back identical, so an edit takes effect at the next transaction,
# whichever process made it; only the validation of the conditions is saved.
_VIEWS: dict[uuid.UUID, tuple[tuple[Any, ...], RuleView]] = {}
_VIEWS_MAX = 10_000


def _built(row: tuple[Any, ...]) -> RuleView:
    """A view of a row in `_RULE_COLUMNS` order, its conditions validated."""
    checks = tuple(Condition.model_validate(raw) for raw in row[2])
    rid, topic, conditions, recipients, channels, escalate, urgency, d_field, d_min = row
    return RuleView(
        rid, topic, conditions, recipients, channels, escalate, urgency, d_field, d_min, checks
    )


def _view(row: tuple[Any, ...]) -> RuleView:
    cached = _VIEWS.get(row[0])
    if cached is not None and cached[0] == row:
        return cached[1]
    view = _built(row)
    if len(_VIEWS) >= _VIEWS_MAX:
        _VIEWS.clear()
    _VIEWS[row[0]] = (row, view)
    return view


@dataclass(frozen=True)
class _TenantRules:
    views: list[RuleView]  # the enabled ones
    topics: frozenset[str]  # every rule's topic, disabled ones too: these replace defaults


def _default_view(d: defaults.DefaultRule) -> RuleView:
    """A built-in rule as a row of `_RULE_COLUMNS` would read: no id, no dedupe."""
    channels = [str(c) for c in d.channels]
    row = (None, d.topic, d.conditions, d.recipients, channels, d.escalate_after_minutes)
    return _built((*row, d.urgency, None, 0))


_DEFAULT_VIEWS = tuple(_default_view(d) for d in defaults.DEFAULT_RULES)


async def rules_for(session: AsyncSession, topic: str) -> list[RuleView]:
    """Enabled rules of the session's tenant whose topic covers `topic`, and the built-in
    default for `topic` unless the tenant has a rule (even disabled) on exactly that topic
    (defaults.py). Read once per transaction and tenant: a bus batch runs many events in one
    transaction."""
    key = (RULES_CACHE, current_tenant(session))
    found: _TenantRules | None = session.info.get(key)
    if found is None:
        rows = await session.execute(
            select(*_RULE_COLUMNS, _R.enabled).order_by(_R.created_at, _R.id)
        )
        views, topics = [], set()
        for *row, enabled in rows:
            topics.add(row[1])
            if enabled:
                views.append(_view(tuple(row)))
        found = _TenantRules(views, frozenset(topics))
        session.info[key] = found
    mine = [r for r in found.views if topic_matches(r.topic, topic)]
    if topic in found.topics:
        return mine
    return mine + [v for v in _DEFAULT_VIEWS if v.topic == topic]


def forget_cached(session: Any) -> None:
    """Drop per-transaction caches (called when the transaction ends)."""
    for k in [k for k in session.info if isinstance(k, tuple) and k[0] in CACHES]:
        del session.info[k]


CACHES = frozenset({RULES_CACHE, "notifications.templates", "notifications.zone"})


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outer transaction, not a handler's savepoint
        forget_cached(session)
