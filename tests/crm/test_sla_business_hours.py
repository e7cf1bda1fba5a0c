"""Business-hours SLA arithmetic: weekends, holidays, opening times, other time zones."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from crm.tickets.sla import BusinessCalendar, add_business_minutes, business_minutes_between

SH = ZoneInfo("Asia/Shanghai")
WEEKDAYS = {str(d): ["09:00", "18:00"] for d in range(5)}
CAL = BusinessCalendar.parse("Asia/Shanghai", WEEKDAYS, ["2026-10-01"])


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        (local(2026, 11, 25, 10), 60, local(2026, 11, 25, 11)),  # inside one working day
        (local(2026, 11, 27, 17), 120, local(2026, 11, 30, 10)),  # Friday -> over the weekend
        (local(2026, 11, 28, 12), 30, local(2026, 11, 30, 9, 30)),  # raised on a Saturday
        (local(2026, 11, 30, 7), 30, local(2026, 11, 30, 9, 30)),  # before opening
        (local(2026, 11, 30, 20), 30, local(2026, 12, 1, 9, 30)),  # after closing
        (local(2026, 11, 27, 17), 60, local(2026, 11, 27, 18)),  # ends exactly at closing
        (local(2026, 9, 30, 17, 30), 60, local(2026, 10, 2, 9, 30)),  # skips the holiday
        (local(2026, 11, 23, 9), 5 * 540, local(2026, 11, 27, 18)),  # a full working week
    ],
)
def test_due_time_counts_only_working_minutes(start: datetime, minutes: int, due: datetime) -> None:
    got = add_business_minutes(start, minutes, CAL)
    assert got == due
    assert got.tzinfo is UTC
    assert business_minutes_between(start, got, CAL) == minutes


def test_hours_are_read_in_the_calendars_own_time_zone() -> None:
    berlin = BusinessCalendar.parse("Europe/Berlin", WEEKDAYS)
    start = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 16:00 in Berlin, a Friday
    assert add_business_minutes(start, 180, berlin) == datetime(
        2026, 11, 30, 9, 0, tzinfo=UTC
    )  # 10:00 Berlin


def test_a_calendar_with_no_working_day_fails_instead_of_looping() -> None:
    with pytest.raises(ValueError, match="no working time"):
        add_business_minutes(local(2026, 11, 27, 9), 1, BusinessCalendar.parse("UTC", {}))


def test_bad_hours_and_naive_start_are_refused() -> None:
    with pytest.raises(ValueError, match="weekday 0"):
        BusinessCalendar.parse("UTC", {"0": ["18:00", "09:00"]})
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_minutes(datetime(2026, 11, 27, 9), 1, CAL)
