"""The dashboard's range picker: which range a request asks for, and the previous/next range of the same size."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from hackatime_lite.analytics.ranges import DateRange

# (query value, label) in the order the picker shows them.
PICKER = (
    ("today", "Today"),
    ("yesterday", "Yesterday"),
    ("week", "This week"),
    ("last_week", "Last week"),
    ("last_7_days", "7 days"),
    ("last_30_days", "30 days"),
    ("month", "This month"),
    ("last_month", "Last month"),
    ("year", "This year"),
    ("all_time", "All time"),
)
PICKER_KEYS = frozenset(key for key, _ in PICKER)


@dataclass(frozen=True)
class Step:
    start: dt.date
    end: dt.date

    @property
    def query(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def _is_whole_month(start: dt.date, end: dt.date) -> bool:
    return (
        start.day == 1
        and start.year == end.year
        and start.month == end.month
        and end.day == calendar.monthrange(end.year, end.month)[1]
    )


def _month_of(day: dt.date, months: int) -> tuple[dt.date, dt.date]:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    first = dt.date(year, month + 1, 1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def shift(rng: DateRange, direction: int, today: dt.date) -> Step | None:
    """The range before (-1) or after (+1) `rng` with the same shape; None if it would start after today
    or the range has no neighbour (all time)."""
    if rng.key == "all_time":
        return None
    start, end = rng.start, rng.end
    if rng.key in ("month", "last_month") or _is_whole_month(start, end):
        start, end = _month_of(start, direction)
    elif rng.key == "year" or (start.month, start.day, end.month, end.day) == (1, 1, 12, 31):
        start = start.replace(year=start.year + direction, month=1, day=1)
        end = start.replace(month=12, day=31)
    elif rng.key == "week":
        start = start + dt.timedelta(days=7 * direction)
        end = start + dt.timedelta(days=6)
    else:
        length = dt.timedelta(days=rng.days)
        start, end = start + direction * length, end + direction * length
    if start > today:
        return None
    return Step(start, end)
