"""Named and explicit date ranges (WakaTime's, Wakapi's and the human forms) resolved to local dates.

A range is a span of whole local days [start, end] in an IANA zone; `window` turns it into the
[start, end) epoch pair the analytics queries take. "Today" always comes from the caller (the app's
clock), never from the system clock, so tests can freeze time.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfoNotFoundError

from hackatime_lite.analytics.timezones import date_range_window, zone
from hackatime_lite.errors import InputError

MAX_RANGE_DAYS = 3653  # ten years, leap days included
_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class RangeError(InputError):
    """A date, range name or time zone we cannot use; the message is safe to show to the caller."""


@dataclass(frozen=True)
class DateRange:
    """Local days start..end inclusive in `tz`; `key` is the canonical name (`custom` for explicit dates)."""

    key: str
    text: str
    start: dt.date
    end: dt.date
    tz: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def window(self) -> tuple[float, float]:
        return date_range_window(self.tz, self.start, self.end)


def check_timezone(name: str | None) -> str:
    if not name or len(name) > 64:
        raise RangeError(f"unknown time zone: {name!r}")
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise RangeError(f"unknown time zone: {name!r}") from exc
    return name


def parse_date(value: str, name: str = "date") -> dt.date:
    """A YYYY-MM-DD date (a full ISO timestamp is accepted and cut to its date)."""
    text = (value or "").strip()
    try:
        day = dt.date.fromisoformat(text[:10] if len(text) > 10 and text[10] in "T " else text)
    except ValueError as exc:
        raise RangeError(f"invalid {name}: {value!r} (expected YYYY-MM-DD)") from exc
    if not 1970 <= day.year <= 2999:
        raise RangeError(f"invalid {name}: {value!r} (outside 1970-2999)")
    return day


def _months_back(day: dt.date, months: int) -> dt.date:
    """The same day `months` earlier (clamped to the month's length)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _last_days(key: str, text: str, today: dt.date, count: int, tz: str, *, skip_today: bool = False) -> DateRange:
    end = today - dt.timedelta(days=1) if skip_today else today
    return DateRange(key, text, end - dt.timedelta(days=count - 1), end, tz)


def _canonical(name: str) -> str:
    """`Last 7 Days`, `last-7-days` and `last_7_days` are the same name."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


_ALIASES = {
    "this_week": "week", "this_month": "month", "this_year": "year",
    "7_days": "last_7_days", "14_days": "last_14_days", "30_days": "last_30_days",
    "6_months": "last_6_months", "12_months": "last_12_months", "any": "all_time", "all": "all_time",
}
RANGE_NAMES = ("today", "yesterday", "week", "last_week", "month", "last_month", "year", "last_7_days",
               "last_7_days_from_yesterday", "last_14_days", "last_30_days", "last_6_months", "last_12_months",
               "last_year", "all_time")


def named_range(name: str, *, today: dt.date, tz: str, first_day: dt.date | None = None) -> DateRange:
    """A range by name: RANGE_NAMES, their aliases and human forms, `YYYY` or `YYYY-MM`."""
    check_timezone(tz)
    raw = (name or "").strip()
    if match := _YEAR.match(raw):
        year = int(match.group(1))
        if not 1970 <= year <= 2999:
            raise RangeError(f"unknown range: {name!r}")
        return DateRange(raw, raw, dt.date(year, 1, 1), dt.date(year, 12, 31), tz)
    if match := _MONTH.match(raw):
        year, month = int(match.group(1)), int(match.group(2))
        if not 1970 <= year <= 2999 or not 1 <= month <= 12:
            raise RangeError(f"unknown range: {name!r}")
        last = calendar.monthrange(year, month)[1]
        return DateRange(raw, f"{calendar.month_name[month]} {year}", dt.date(year, month, 1),
                         dt.date(year, month, last), tz)
    key = _canonical(raw)
    key = _ALIASES.get(key, key)
    monday = today - dt.timedelta(days=today.weekday())
    first_of_month = today.replace(day=1)
    match key:
        case "today":
            return DateRange(key, "Today", today, today, tz)
        case "yesterday":
            day = today - dt.timedelta(days=1)
            return DateRange(key, "Yesterday", day, day, tz)
        case "week":
            return DateRange(key, "This Week", monday, today, tz)
        case "last_week":
            return DateRange(key, "Last Week", monday - dt.timedelta(days=7), monday - dt.timedelta(days=1), tz)
        case "month":
            return DateRange(key, "This Month", first_of_month, today, tz)
        case "last_month":
            end = first_of_month - dt.timedelta(days=1)
            return DateRange(key, "Last Month", end.replace(day=1), end, tz)
        case "year":
            return DateRange(key, "This Year", today.replace(month=1, day=1), today, tz)
        case "last_7_days":
            return _last_days(key, "Last 7 Days", today, 7, tz)
        case "last_7_days_from_yesterday":
            return _last_days(key, "Last 7 Days from Yesterday", today, 7, tz, skip_today=True)
        case "last_14_days":
            return _last_days(key, "Last 14 Days", today, 14, tz)
        case "last_30_days":
            return _last_days(key, "Last 30 Days", today, 30, tz)
        case "last_6_months":
            return DateRange(key, "Last 6 Months", _months_back(today, 6) + dt.timedelta(days=1), today, tz)
        case "last_12_months" | "last_year":
            return DateRange("last_year", "Last Year", _months_back(today, 12) + dt.timedelta(days=1), today, tz)
        case "all_time":
            start = min(first_day or today, today)
            return DateRange(key, "All Time", start, today, tz)
    raise RangeError(f"unknown range: {name!r} (use one of {', '.join(RANGE_NAMES)}, YYYY or YYYY-MM)")


def explicit_range(start: str, end: str, *, tz: str) -> DateRange:
    """Dates from the caller: validated, ordered, at most ten years."""
    check_timezone(tz)
    first, last = parse_date(start, "start"), parse_date(end, "end")
    if last < first:
        raise RangeError(f"end ({last}) is before start ({first})")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise RangeError("range is longer than 10 years")
    text = f"{first:%b} {first.day} {first.year}" if first == last else \
        f"from {first:%b} {first.day} {first.year} until {last:%b} {last.day} {last.year}"
    return DateRange("custom", text, first, last, tz)


def resolve(*, range_name: str | None = None, start: str | None = None, end: str | None = None,
            today: dt.date, tz: str, first_day: dt.date | None = None, default: str = "today") -> DateRange:
    """`range` wins; otherwise `start`/`end` (a missing one defaults to the other); otherwise `default`."""
    if range_name:
        return named_range(range_name, today=today, tz=tz, first_day=first_day)
    if start or end:
        return explicit_range(start or end or "", end or start or "", tz=tz)
    return named_range(default, today=today, tz=tz, first_day=first_day)
