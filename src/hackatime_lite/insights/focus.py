"""Focus: deep-work sessions — spans of at least N minutes (default 25) with no pause over the user's timeout
(analytics.focus) — their time and share of coding time per local day, and the longest session.

One definition for every reader: the native API, the dashboard panel, `hackatime-lite report focus` and the
weekly report (notify.weekly) all call `focus_sessions` / `focus_report`.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from hackatime_lite import reports
from hackatime_lite.analytics import focus as focus_sql
from hackatime_lite.analytics import queries
from hackatime_lite.analytics.ranges import DateRange
from hackatime_lite.context import AppContext
from hackatime_lite.errors import InputError
from hackatime_lite.models import User

DEFAULT_MIN_MINUTES = 25
MIN_MINUTES, MAX_MINUTES = 1, 24 * 60


def check_min_minutes(value: int | str | None) -> int:
    """The minimum session length in whole minutes (default 25), else InputError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_MIN_MINUTES
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        raise InputError(f"min_minutes must be a whole number of minutes, got {value!r}") from None
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise InputError(f"min_minutes must be from {MIN_MINUTES} to {MAX_MINUTES}")
    return minutes


class FocusSession(msgspec.Struct, kw_only=True):
    start_time: float
    end_time: float
    duration: float


class FocusDay(msgspec.Struct, kw_only=True):
    date: dt.date
    total_seconds: float
    """All coding time of the day."""
    focus_seconds: float
    """The part of it in focus sessions (a session over midnight counts on both days)."""
    share: float
    """focus_seconds / total_seconds, 0..1 (0 on a day without coding)."""
    sessions: int
    """Focus sessions starting on this day."""
    longest_seconds: float


class FocusReport(msgspec.Struct, kw_only=True):
    start: dt.date
    end: dt.date
    timezone: str
    min_minutes: int
    timeout: int
    """The user's timeout: the longest pause a session may contain."""
    total_seconds: float
    focus_seconds: float
    share: float
    session_count: int
    longest_seconds: float
    days: list[FocusDay]
    sessions: list[FocusSession]


def _share(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole > 0 else 0.0


def focus_sessions(ctx: AppContext, user: User, start: float | None, end: float | None, *,
                   min_minutes: int = DEFAULT_MIN_MINUTES,
                   filters: reports.Filters | None = None) -> list[FocusSession]:
    """The user's focus sessions in [start, end) under their rules (excluded projects never count)."""
    found = focus_sql.focus_sessions(reports.replica_of(ctx), user.id, start, end,
                                     min_seconds=check_min_minutes(min_minutes) * 60.0,
                                     filters=reports.read_filters(ctx, user, filters))
    return [FocusSession(start_time=a, end_time=b, duration=b - a) for a, b in found]


def focus_report(ctx: AppContext, user: User, rng: DateRange, *, min_minutes: int = DEFAULT_MIN_MINUTES,
                 filters: reports.Filters | None = None) -> FocusReport:
    """Focus per local day of `rng` (in rng.tz) and over the whole range."""
    minutes = check_min_minutes(min_minutes)
    start, end = rng.window
    replica = reports.replica_of(ctx)
    stored_filters = reports.read_filters(ctx, user, filters)
    found = focus_sql.focus_sessions(replica, user.id, start, end, min_seconds=minutes * 60.0,
                                     filters=stored_filters)
    series = queries.daily_series(replica, user.id, rng.start, rng.end, rng.tz, filters=stored_filters, sync=False)
    per_day = focus_sql.per_day(found, [(d.start, d.end) for d in series])
    days = [FocusDay(date=d.date, total_seconds=d.total_seconds, focus_seconds=seconds,
                     share=_share(seconds, d.total_seconds), sessions=count, longest_seconds=longest)
            for d, (seconds, count, longest) in zip(series, per_day, strict=True)]
    total = sum(d.total_seconds for d in series)
    focused = sum(b - a for a, b in found)
    return FocusReport(
        start=rng.start, end=rng.end, timezone=rng.tz, min_minutes=minutes,
        timeout=user.rule(ctx.settings.default_rule).timeout, total_seconds=total, focus_seconds=focused,
        share=_share(focused, total), session_count=len(found),
        longest_seconds=max((b - a for a, b in found), default=0.0), days=days,
        sessions=[FocusSession(start_time=a, end_time=b, duration=b - a) for a, b in found],
    )
