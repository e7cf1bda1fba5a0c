"""Business-hours arithmetic for SLA targets: pure functions, no database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Business minutes per priority when a tenant has no SLA policy of its own.
DEFAULT_TARGETS: dict[str, dict[str, int]] = {
    "urgent": {"first_response": 30, "resolution": 240},
    "high": {"first_response": 120, "resolution": 960},
    "normal": {"first_response": 480, "resolution": 2400},
    "low": {"first_response": 960, "resolution": 4800},
}
DEFAULT_HOURS: dict[str, list[str]] = {str(d): ["09:00", "18:00"] for d in range(5)}
_MAX_DAYS = 3660  # a calendar with no working day at all must fail, not loop forever


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours per weekday (Monday=0) in one time zone, minus holiday dates."""

    tz: ZoneInfo
    hours: Mapping[int, tuple[time, time]]
    holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def parse(
        cls, tz: str, hours: Mapping[str, Iterable[str]], holidays: Iterable[str] = ()
    ) -> BusinessCalendar:
        """From stored JSON: {"0": ["09:00", "18:00"]}, ["2026-10-01"], an IANA zone name."""
        parsed: dict[int, tuple[time, time]] = {}
        for day, span in hours.items():
            start, end = (time.fromisoformat(t) for t in span)
            if not 0 <= int(day) <= 6 or end <= start:
                raise ValueError(f"bad working hours for weekday {day}: {span}")
            parsed[int(day)] = (start, end)
        return cls(ZoneInfo(tz), parsed, frozenset(date.fromisoformat(d) for d in holidays))

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """That local day's working window in UTC, or None on a closed day or holiday."""
        span = self.hours.get(day.weekday())
        if span is None or day in self.holidays:
            return None
        start = datetime.combine(day, span[0], tzinfo=self.tz).astimezone(UTC)
        end = datetime.combine(day, span[1], tzinfo=self.tz).astimezone(UTC)
        return start, end


def add_business_minutes(start: datetime, minutes: int, cal: BusinessCalendar) -> datetime:
    """The UTC instant `minutes` of working time after `start` (time off the clock skipped)."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    remaining = timedelta(minutes=minutes)
    cursor = start.astimezone(UTC)
    day = cursor.astimezone(cal.tz).date()
    for _ in range(_MAX_DAYS):
        win = cal.window(day)
        if win is not None:
            begin, end = max(win[0], cursor), win[1]
            if begin < end:
                if remaining <= end - begin:
                    return begin + remaining
                remaining -= end - begin
        day += timedelta(days=1)
    raise ValueError("the calendar has no working time within ten years")


def business_minutes_between(start: datetime, end: datetime, cal: BusinessCalendar) -> int:
    """Working minutes from `start` to `end` (0 if end is not later)."""
    total = timedelta()
    day = start.astimezone(cal.tz).date()
    last = end.astimezone(cal.tz).date()
    while day <= last:
        win = cal.window(day)
        if win is not None:
            begin, stop = max(win[0], start), min(win[1], end)
            if begin < stop:
                total += stop - begin
        day += timedelta(days=1)
    return int(total.total_seconds() // 60)
