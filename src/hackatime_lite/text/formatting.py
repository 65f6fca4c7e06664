"""Coding time as WakaTime renders it: entry objects, "2 hrs 17 mins", "2:17[:36]", "2.28", percents.

The numbers follow the shapes in wakatime-cli's status-bar fixture: hours/minutes/seconds are the integer
parts of the total, `decimal` is hours + whole minutes / 60 with two places, and percents are rounded so a
breakdown's entries add up to exactly 100.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import msgspec


class Entry(msgspec.Struct, kw_only=True):
    """One row of a breakdown (a language, project, editor, …) in WakaTime's entry shape."""

    name: str
    total_seconds: float
    percent: float
    digital: str
    decimal: str
    text: str
    hours: int
    minutes: int
    seconds: int


class Total(msgspec.Struct, kw_only=True):
    """A grand total: the entry fields that do not depend on a breakdown."""

    total_seconds: float
    digital: str
    decimal: str
    text: str
    hours: int
    minutes: int


def split_seconds(total_seconds: float) -> tuple[int, int, int]:
    """(hours, minutes, seconds) of the whole seconds in a total."""
    whole = max(0, int(total_seconds))
    return whole // 3600, whole % 3600 // 60, whole % 60


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _text(hours: int, minutes: int, seconds: int) -> str:
    """human_text of split_seconds' parts."""
    if hours:
        head = "1 hr" if hours == 1 else f"{hours} hrs"
        if not minutes:
            return head
        return f"{head} 1 min" if minutes == 1 else f"{head} {minutes} mins"
    if minutes:
        return "1 min" if minutes == 1 else f"{minutes} mins"
    return "1 sec" if seconds == 1 else f"{seconds} secs"


def human_text(total_seconds: float) -> str:
    """`2 hrs 17 mins`, `1 hr 15 mins`, `49 mins`, `2 hrs`, `7 secs`, `0 secs`."""
    return _text(*split_seconds(total_seconds))


def digital(total_seconds: float, *, with_seconds: bool = False) -> str:
    """`H:MM`, or `H:MM:SS` as WakaTime shows breakdown entries in the status bar and summaries."""
    hours, minutes, seconds = split_seconds(total_seconds)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if with_seconds else f"{hours}:{minutes:02d}"


def decimal_hours(total_seconds: float) -> str:
    """Hours and whole minutes as a decimal string with two places (`1:15:44` → `1.25`)."""
    hours, minutes, _ = split_seconds(total_seconds)
    return f"{hours + minutes / 60:.2f}"


def percentages(values: Sequence[float], total: float | None = None) -> list[float]:
    """Each value's share of the total in percent, two decimals, summing to exactly 100 (largest remainder).

    With an explicit `total` larger than the sum of values (a truncated list) the shares are simply
    rounded and sum to less than 100.
    """
    whole = sum(values) if total is None else total
    if whole <= 0 or not values:
        return [0.0 for _ in values]
    exact = [v * 10_000 / whole for v in values]  # in hundredths of a percent
    if total is not None and not math.isclose(total, sum(values)):
        return [round(e) / 100 for e in exact]
    floors = [math.floor(e) for e in exact]
    missing = 10_000 - sum(floors)
    if missing:
        remainders = [e - f for e, f in zip(exact, floors, strict=True)]
        # sorted() is stable with reverse=True too: equal remainders keep their order.
        for i in sorted(range(len(values)), key=remainders.__getitem__, reverse=True)[:missing]:
            floors[i] += 1
    return [f / 100 for f in floors]


def total(total_seconds: float) -> Total:
    hours, minutes, seconds = split_seconds(total_seconds)
    return Total(total_seconds=total_seconds, digital=f"{hours}:{minutes:02d}", decimal=f"{hours + minutes / 60:.2f}",
                 text=_text(hours, minutes, seconds), hours=hours, minutes=minutes)


def _by_seconds_then_name(row: tuple[str, float]) -> tuple[float, str]:
    return -row[1], row[0]


def entries(rows: Sequence[tuple[str, float]], *, with_seconds: bool = True,
            total_seconds: float | None = None) -> list[Entry]:
    """Entry objects for (name, seconds) rows, ordered by seconds descending (then name).

    The figures of digital(), decimal_hours() and human_text() from one split per entry: a stats answer
    formats dozens of entries, and calling the three (each splitting again) was a fifth of its CPU."""
    ordered = sorted(rows, key=_by_seconds_then_name)
    shares = percentages([seconds for _, seconds in ordered], total_seconds)
    result = []
    for (name, seconds), share in zip(ordered, shares, strict=True):
        hours, rest = divmod(max(0, int(seconds)), 3600)
        minutes, secs = divmod(rest, 60)
        result.append(Entry(name=name, total_seconds=seconds, percent=share,
                            digital=f"{hours}:{minutes:02d}:{secs:02d}" if with_seconds else f"{hours}:{minutes:02d}",
                            decimal=f"{hours + minutes / 60:.2f}", text=_text(hours, minutes, secs),
                            hours=hours, minutes=minutes, seconds=secs))
    return result


def iso_utc(epoch: float) -> str:
    """`2023-01-29T03:00:00Z` (whole seconds, UTC)."""
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_local(epoch: float, tz: dt.tzinfo) -> str:
    """An instant in a zone with its offset, e.g. `2023-01-29T00:00:00-03:00`."""
    return dt.datetime.fromtimestamp(int(epoch), tz).isoformat()


def ordinal(day: int) -> str:
    if 11 <= day % 100 <= 13:
        return f"{day}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def day_text(day: dt.date) -> str:
    """`Sun Jan 29th 2023`, as WakaTime labels a day range."""
    return f"{day:%a} {day:%b} {ordinal(day.day)} {day.year}"


def time_ago(seconds: float) -> str:
    """`just now`, `5 minutes ago`, `2 hours ago`, `3 days ago`, `1 month ago`, `2 years ago`."""
    seconds = max(0.0, seconds)
    for unit, size in (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400), ("hour", 3600),
                       ("minute", 60)):
        if seconds >= size:
            return f"{_plural(int(seconds // size), unit)} ago"
    return "just now"
