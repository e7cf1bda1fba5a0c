"""Pure rule matching: which tone plays for a callee at a moment in the tenant's local time."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time


class Scope(enum.StrEnum):
    TENANT = "tenant"
    DEPARTMENT = "department"
    MEMBER = "member"


SPECIFICITY = {Scope.TENANT: 0, Scope.DEPARTMENT: 1, Scope.MEMBER: 2}


@dataclass(frozen=True)
class RuleView:
    id: uuid.UUID
    tone_id: uuid.UUID
    scope: Scope
    priority: int = 0
    department: str | None = None
    member_id: uuid.UUID | None = None
    weekdays: tuple[int, ...] = ()  # Monday = 0; empty means every day
    start_time: time | None = None
    end_time: time | None = None
    start_date: date | None = None  # inclusive, e.g. a holiday's first day
    end_date: date | None = None  # inclusive
    created_at: datetime | None = None


def _in_window(rule: RuleView, local: datetime) -> bool:
    if rule.start_date and local.date() < rule.start_date:
        return False
    if rule.end_date and local.date() > rule.end_date:
        return False
    start, end = rule.start_time, rule.end_time
    now = local.time().replace(tzinfo=None)
    weekday = local.weekday()
    if start is None or end is None:
        return not rule.weekdays or weekday in rule.weekdays
    if start <= end:
        return (not rule.weekdays or weekday in rule.weekdays) and start <= now < end
    # Crosses midnight (22:00-06:00): the early hours belong to the previous day's window.
    if now >= start:
        return not rule.weekdays or weekday in rule.weekdays
    if now < end:
        return not rule.weekdays or (weekday - 1) % 7 in rule.weekdays
    return False


def _applies(rule: RuleView, member_id: uuid.UUID | None, department: str | None) -> bool:
    if rule.scope is Scope.MEMBER:
        return member_id is not None and rule.member_id == member_id
    if rule.scope is Scope.DEPARTMENT:
        return bool(department) and rule.department == department
    return True


def pick_rule(
    rules: Sequence[RuleView],
    *,
    member_id: uuid.UUID | None,
    department: str | None,
    local: datetime,
) -> RuleView | None:
    """Highest priority wins; on a tie the more specific scope, then the newest rule."""
    matching = [r for r in rules if _applies(r, member_id, department) and _in_window(r, local)]
    if not matching:
        return None
    epoch = datetime.min

    def rank(r: RuleView) -> tuple[int, int, datetime]:
        created = r.created_at.replace(tzinfo=None) if r.created_at else epoch
        return (r.priority, SPECIFICITY[r.scope], created)

    return max(matching, key=rank)
