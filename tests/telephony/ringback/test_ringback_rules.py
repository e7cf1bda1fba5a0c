"""Rule matching: scopes, weekday and time windows (across midnight), holidays, priority."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from telephony.ringback.rules import RuleView, Scope, pick_rule

MEMBER = uuid.uuid4()
DEFAULT = RuleView(uuid.uuid4(), uuid.uuid4(), Scope.TENANT)
SALES = RuleView(uuid.uuid4(), uuid.uuid4(), Scope.DEPARTMENT, department="Sales")
PERSONAL = RuleView(uuid.uuid4(), uuid.uuid4(), Scope.MEMBER, member_id=MEMBER)
OFFICE = RuleView(
    uuid.uuid4(),
    uuid.uuid4(),
    Scope.TENANT,
    priority=5,
    weekdays=(0, 1, 2, 3, 4),
    start_time=time(9),
    end_time=time(18),
)
NIGHT = RuleView(
    uuid.uuid4(), uuid.uuid4(), Scope.TENANT, priority=5, start_time=time(22), end_time=time(6)
)
SPRING_FESTIVAL = RuleView(
    uuid.uuid4(),
    uuid.uuid4(),
    Scope.TENANT,
    priority=100,
    start_date=date(2026, 2, 16),
    end_date=date(2026, 2, 22),
)

WEDNESDAY_NOON = datetime(2026, 3, 11, 12, 0)
SATURDAY_NOON = datetime(2026, 3, 14, 12, 0)


def pick(
    rules: list[RuleView], at: datetime, member: uuid.UUID | None = None, dept: str = ""
) -> RuleView | None:
    return pick_rule(rules, member_id=member, department=dept, local=at)


def test_more_specific_scope_wins_a_priority_tie() -> None:
    rules = [DEFAULT, SALES, PERSONAL]
    assert pick(rules, WEDNESDAY_NOON, MEMBER, "Sales") == PERSONAL
    assert pick(rules, WEDNESDAY_NOON, uuid.uuid4(), "Sales") == SALES
    assert pick(rules, WEDNESDAY_NOON, uuid.uuid4(), "Support") == DEFAULT


def test_office_hours_rule_only_on_weekdays_within_hours() -> None:
    rules = [DEFAULT, OFFICE]
    assert pick(rules, WEDNESDAY_NOON) == OFFICE
    assert pick(rules, SATURDAY_NOON) == DEFAULT
    assert pick(rules, datetime(2026, 3, 11, 18, 0)) == DEFAULT  # end is exclusive
    assert pick(rules, datetime(2026, 3, 11, 9, 0)) == OFFICE


def test_window_across_midnight_covers_the_early_hours() -> None:
    rules = [DEFAULT, NIGHT]
    assert pick(rules, datetime(2026, 3, 11, 23, 30)) == NIGHT
    assert pick(rules, datetime(2026, 3, 12, 5, 59)) == NIGHT
    assert pick(rules, datetime(2026, 3, 12, 6, 0)) == DEFAULT


def test_overnight_window_on_friday_continues_into_saturday_morning() -> None:
    friday_night = RuleView(
        uuid.uuid4(),
        uuid.uuid4(),
        Scope.TENANT,
        weekdays=(4,),
        start_time=time(22),
        end_time=time(6),
    )
    assert pick([friday_night], datetime(2026, 3, 14, 2, 0)) == friday_night  # Saturday 02:00
    assert pick([friday_night], datetime(2026, 3, 13, 2, 0)) is None  # Friday 02:00


def test_holiday_date_range_outranks_everything_else_while_it_lasts() -> None:
    rules = [DEFAULT, OFFICE, PERSONAL, SPRING_FESTIVAL]
    assert pick(rules, datetime(2026, 2, 18, 12, 0), MEMBER) == SPRING_FESTIVAL
    assert pick(rules, datetime(2026, 2, 22, 23, 59), MEMBER) == SPRING_FESTIVAL
    assert pick(rules, datetime(2026, 2, 23, 12, 0), MEMBER) == OFFICE


def test_no_rule_means_plain_ringing() -> None:
    assert pick([SALES, PERSONAL], WEDNESDAY_NOON, None, "Support") is None
