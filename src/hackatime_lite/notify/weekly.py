"""The weekly report: one ISO week of a user's coding in their time zone — the total and each day, the top
projects and languages, the change against the week before, the best day, focus (deep-work sessions) and
the goals met. Built from the read use cases (`reports`), so every figure follows the one duration rule and
the user's aliases and exclusions, and the CLI, the API and the e-mail show the same numbers."""

from __future__ import annotations

import datetime as dt
import re

import msgspec

from hackatime_lite import goals, reports
from hackatime_lite.analytics.ranges import DateRange, RangeError
from hackatime_lite.context import AppContext
from hackatime_lite.goals.progress import goal_filters, judge
from hackatime_lite.goals.spec import WEEKDAYS
from hackatime_lite.insights.focus import focus_sessions
from hackatime_lite.models import User
from hackatime_lite.text import formatting
from hackatime_lite.text.formatting import Entry

TOP = 5
# A deep-work session: a span (no gap over the user's timeout, as the analytics spans merge them) this long.
FOCUS_MIN_MINUTES = 25
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


def parse_week(text: str) -> dt.date:
    """The Monday of an ISO week written `2026-W48` (or `2026W48`); RangeError otherwise."""
    match = _WEEK.match((text or "").strip())
    if match is None:
        raise RangeError(f"invalid week: {text!r} (expected an ISO week like 2026-W48)")
    year, number = int(match.group(1)), int(match.group(2))
    if not 1970 <= year <= 2999:
        raise RangeError(f"invalid week: {text!r} (outside 1970-2999)")
    try:
        return dt.date.fromisocalendar(year, number, 1)
    except ValueError:
        raise RangeError(f"invalid week: {text!r} ({year} has no week {number})") from None


def week_name(monday: dt.date) -> str:
    year, number, _ = monday.isocalendar()
    return f"{year}-W{number:02d}"


def last_complete_week(today: dt.date) -> dt.date:
    """The Monday of the ISO week before the one holding `today`."""
    return today - dt.timedelta(days=today.weekday() + 7)


class DayTotal(msgspec.Struct, kw_only=True):
    date: dt.date
    total_seconds: float
    text: str


class Focus(msgspec.Struct, kw_only=True):
    """Deep-work sessions: spans of at least `min_minutes` without a gap over the user's timeout."""

    min_minutes: int
    sessions: int
    total_seconds: float
    share: float
    """Focus time as a share of the week's coding time, 0..1."""
    longest_seconds: float


class GoalResult(msgspec.Struct, kw_only=True):
    """A goal judged over the week by the goals' own rules (goals.progress.judge): a weekly goal once, a daily
    goal per day (`periods_met` of `periods_counted` days, ignored days left out)."""

    id: str
    title: str
    delta: str
    is_inverse: bool
    met: bool
    """Every counted period succeeded (and at least one was counted)."""
    periods_met: int
    periods_counted: int
    actual_seconds: float
    """The goal's time over the counted periods."""
    goal_seconds: float
    """The target (or, for inverse goals, the limit) over the counted periods."""


class WeeklyReport(msgspec.Struct, kw_only=True):
    username: str
    timezone: str
    week: str
    """ISO week, `2026-W48`."""
    start: dt.date
    end: dt.date
    total_seconds: float
    total_text: str
    active_days: int
    daily_average_seconds: float
    """Over the days with coding time."""
    days: list[DayTotal]
    best_day: DayTotal | None
    projects: list[Entry]
    """The top projects (at most TOP), percent of the week's total."""
    languages: list[Entry]
    previous_total_seconds: float
    change_seconds: float
    change_percent: float | None
    """Change against the week before in percent; None when that week had no coding time."""
    focus: Focus
    goals: list[GoalResult] = msgspec.field(default_factory=list)
    """The user's enabled goals judged over the week."""


def _week_range(monday: dt.date, tz: str) -> DateRange:
    sunday = monday + dt.timedelta(days=6)
    return DateRange("custom", f"week {week_name(monday)}", monday, sunday, tz)


def focus_of(ctx: AppContext, user: User, start: float, end: float, total: float,
             min_minutes: int = FOCUS_MIN_MINUTES) -> Focus:
    """Deep-work sessions as insights.focus defines them (the one definition: spans of at least min_minutes)."""
    long_enough = [s.duration for s in focus_sessions(ctx, user, start, end, min_minutes=min_minutes)]
    focused = sum(long_enough)
    return Focus(min_minutes=min_minutes, sessions=len(long_enough), total_seconds=focused,
                 share=round(focused / total, 4) if total > 0 else 0.0, longest_seconds=max(long_enough, default=0.0))


def goal_results(ctx: AppContext, user: User, rng: DateRange) -> list[GoalResult]:
    """The user's enabled goals judged over the week's days (a period still running is `pending`: not met)."""
    today = reports.today_for(ctx, rng.tz)
    results = []
    for goal in goals.list_goals(ctx, user):
        spec = goal.spec
        if not spec.is_enabled:
            continue
        days = reports.stats(ctx, user, rng, filters=goal_filters(spec) or None, dimensions=()).days
        counted = [(d.date, d.total_seconds) for d in days if WEEKDAYS[d.date.weekday()] not in spec.ignore_days]
        if spec.delta == "week":
            total = sum(seconds for _, seconds in counted)
            periods = [(total, judge(spec, total, running=rng.start <= today <= rng.end)[0])]
        else:  # days after today are not judged yet
            periods = [(seconds, judge(spec, seconds, running=day == today)[0]) for day, seconds in counted
                       if day <= today]
        judged = [(seconds, verdict) for seconds, verdict in periods if verdict != "ignored"]
        met = sum(1 for _, verdict in judged if verdict == "success")
        results.append(GoalResult(
            id=goal.id, title=goals.title_of(spec), delta=spec.delta, is_inverse=spec.is_inverse,
            met=bool(judged) and met == len(judged), periods_met=met, periods_counted=len(judged),
            actual_seconds=sum(seconds for seconds, _ in judged), goal_seconds=float(spec.seconds) * len(judged)))
    return results


def weekly_report(ctx: AppContext, user: User, monday: dt.date | None = None) -> WeeklyReport:
    """The report of the ISO week starting `monday` (default: the last complete week in the user's zone)."""
    tz = user.timezone
    if monday is None:
        monday = last_complete_week(reports.today_for(ctx, tz))
    elif monday.weekday() != 0:
        raise RangeError(f"{monday} is not a Monday")
    rng = _week_range(monday, tz)
    # Stats: the week's breakdowns in one window query and its days in one daily series (the one rule's
    # clipping makes the days add up to the week).
    found = reports.stats(ctx, user, rng, dimensions=("project", "language"))
    days = [DayTotal(date=d.date, total_seconds=d.total_seconds, text=formatting.human_text(d.total_seconds))
            for d in found.days]
    total = found.total_seconds_including_other_language
    active = [d for d in days if d.total_seconds > 0]
    best = max(active, key=lambda d: (d.total_seconds, -d.date.toordinal()), default=None)
    previous = reports.total_seconds(ctx, user, _week_range(monday - dt.timedelta(days=7), tz))
    start, end = rng.window
    return WeeklyReport(
        username=user.username, timezone=tz, week=week_name(monday), start=rng.start, end=rng.end,
        total_seconds=total, total_text=formatting.human_text(total), active_days=len(active),
        daily_average_seconds=total / len(active) if active else 0.0, days=days, best_day=best,
        projects=found.breakdowns.get("projects", [])[:TOP], languages=found.breakdowns.get("languages", [])[:TOP],
        previous_total_seconds=previous, change_seconds=total - previous,
        change_percent=round((total - previous) * 100 / previous, 1) if previous > 0 else None,
        focus=focus_of(ctx, user, start, end, total), goals=goal_results(ctx, user, rng),
    )
