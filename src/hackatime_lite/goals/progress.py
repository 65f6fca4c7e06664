"""A goal's progress per day or week, in WakaTime's goal shape (fixtures/wakatime-cli/pkg_goal__goal.json).

The time counted per period comes from the analytics read path (`queries.daily_series`: the one duration rule,
local days in the user's zone that add up to weeks), filtered to the goal's languages / projects / editors /
categories as display values: the filters go through `reports.read_filters`, so aliases, labels and exclusions
apply as on every other read. Per period:
- an "at least" goal succeeds once the time reaches the target, is `pending` while the period is still running,
  and fails when the period ended below it;
- an inverse ("at most") goal fails once the time exceeds the limit, is `pending` while the period runs, and
  succeeds when it ended within it;
- a daily goal's ignored weekdays are `ignored` (a weekly goal leaves their time out of the week), and with
  `ignore_zero_days` a finished period without any coding is `ignored` too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import msgspec

from hackatime_lite import reports
from hackatime_lite.analytics import queries
from hackatime_lite.analytics.timezones import day_window
from hackatime_lite.context import AppContext
from hackatime_lite.goals.spec import WEEKDAYS, title_of
from hackatime_lite.models import User
from hackatime_lite.store.records import GoalSpec, StoredGoal
from hackatime_lite.text import formatting

DEFAULT_PERIODS = 7
MAX_PERIODS = 366
STATUSES = ("success", "fail", "ignored", "pending")
_FILTERS = {"languages": "language", "projects": "project", "editors": "editor", "categories": "category"}


class GoalRange(msgspec.Struct, kw_only=True):
    date: dt.date
    """The period's first day."""
    start: str
    end: str
    """The period's last second, as WakaTime writes it."""
    text: str
    timezone: str


class ChartItem(msgspec.Struct, kw_only=True):
    """One day or week of a goal (wakatime-cli's goal.ChartData: `goal_seconds` is an integer there)."""

    actual_seconds: float
    actual_seconds_text: str
    goal_seconds: int
    goal_seconds_text: str
    range: GoalRange
    range_status: str
    range_status_reason: str
    range_status_reason_short: str


class GoalOwner(msgspec.Struct, kw_only=True):
    id: str
    username: str
    display_name: str
    full_name: str
    email: str | None = None
    photo: str | None = None


class GoalView(msgspec.Struct, kw_only=True):
    """A goal with its progress, field for field WakaTime's goal object (plus `categories`)."""

    id: str
    title: str
    custom_title: str | None
    type: str
    delta: str
    seconds: int
    is_inverse: bool
    is_enabled: bool
    languages: list[str]
    projects: list[str]
    editors: list[str]
    categories: list[str]
    ignore_days: list[str]
    ignore_zero_days: bool
    improve_by_percent: float | None
    status: str
    average_status: str
    cumulative_status: str
    status_percent_calculated: int
    range_text: str
    chart_data: list[ChartItem]
    created_at: str
    modified_at: str | None
    owner: GoalOwner
    is_current_user_owner: bool = True
    is_snoozed: bool = False
    snooze_until: str | None = None
    is_tweeting: bool = False
    shared_with: list[str] = msgspec.field(default_factory=list)
    subscribers: list[dict[str, object]] = msgspec.field(default_factory=list)

    @property
    def current(self) -> ChartItem:
        """Today's (or this week's) figures: the last period."""
        return self.chart_data[-1]


def short_text(seconds: float) -> str:
    """`4h 38m`, `1h`, `15m`, `0m` (the short reasons' format)."""
    hours, minutes, _ = formatting.split_seconds(seconds)
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"


def goal_filters(spec: GoalSpec) -> dict[str, list[str | None]]:
    """The analytics filters that count only the goal's time."""
    return {dim: list(getattr(spec, field)) for field, dim in _FILTERS.items() if getattr(spec, field)}


def period_starts(delta: str, today: dt.date, count: int) -> list[dt.date]:
    """The first days of the last `count` periods, oldest first; weeks start on Monday (as the `week` range)."""
    if delta == "week":
        monday = today - dt.timedelta(days=today.weekday())
        return [monday - dt.timedelta(weeks=i) for i in range(count - 1, -1, -1)]
    return [today - dt.timedelta(days=i) for i in range(count - 1, -1, -1)]


def _range_text(delta: str, first: dt.date, last: dt.date, today: dt.date) -> str:
    if delta == "day":
        if first == today:
            return "Today"
        if first == today - dt.timedelta(days=1):
            return "Yesterday"
        return f"{first:%a} {first:%b} {first.day}"
    this_monday = today - dt.timedelta(days=today.weekday())
    if first == this_monday:
        return "This week"
    if first == this_monday - dt.timedelta(weeks=1):
        return "Last week"
    return f"{first:%b} {first.day} - {last:%b} {last.day}"


def judge(spec: GoalSpec, actual: float, *, running: bool, ignored_day: str | None = None) -> tuple[str, str, str]:
    """(range_status, range_status_reason, range_status_reason_short) of one period."""
    period = "daily" if spec.delta == "day" else "weekly"
    if ignored_day is not None:
        return "ignored", f"{ignored_day.title()} is an ignored day", "ignored day"
    if spec.ignore_zero_days and actual <= 0 and not running:
        return "ignored", "no coding activity, and days without coding are ignored", "no coding (ignored)"
    goal = float(spec.seconds)
    coded, coded_short = formatting.human_text(actual), short_text(actual)
    diff = abs(actual - goal)
    diff_text, diff_short = formatting.human_text(diff), short_text(diff)
    if spec.is_inverse:
        if actual > goal:
            return ("fail", f"coded {coded} which is {diff_text} more than your {period} limit",
                    f"{coded_short} ({diff_short} over limit)")
        if running:
            return ("pending", f"coded {coded} so far, {diff_text} left before your {period} limit",
                    f"{coded_short} ({diff_short} left)")
        return ("success", f"coded {coded} which is {diff_text} less than your {period} limit",
                f"{coded_short} ({diff_short} under limit)")
    if actual >= goal:
        return ("success", f"coded {coded} which is {diff_text} more than your {period} goal",
                f"{coded_short} ({diff_short} more than goal)")
    if running:
        return ("pending", f"coded {coded} so far, {diff_text} to go for your {period} goal",
                f"{coded_short} ({diff_short} to go)")
    return ("fail", f"coded {coded} which is {diff_text} less than your {period} goal",
            f"{coded_short} ({diff_short} less than goal)")


def _overall(spec: GoalSpec, items: Sequence[ChartItem]) -> tuple[str, str]:
    """(average_status, cumulative_status): the mean over decided periods, and the sum over the periods not
    ignored (the running one included) against as many targets."""
    decided = [i.actual_seconds for i in items if i.range_status in ("success", "fail")]
    counted = [i.actual_seconds for i in items if i.range_status != "ignored"]

    def verdict(actual: float, goal: float) -> str:
        return ("success" if actual <= goal else "fail") if spec.is_inverse else \
            ("success" if actual >= goal else "fail")

    average = verdict(sum(decided) / len(decided), spec.seconds) if decided else "pending"
    cumulative = verdict(sum(counted), spec.seconds * len(counted)) if counted else "ignored"
    return average, cumulative


def _owner(user: User) -> GoalOwner:
    name = user.display_name or user.username
    return GoalOwner(id=user.public_id, username=user.username, display_name=name, full_name=name)


def progress(ctx: AppContext, user: User, goal: StoredGoal, *, periods: int = DEFAULT_PERIODS) -> GoalView:
    """The goal over its last `periods` days or weeks (the current one last), in the user's zone."""
    spec, tz = goal.spec, user.timezone
    count = max(1, min(MAX_PERIODS, periods))
    today = reports.today_for(ctx, tz)
    starts = period_starts(spec.delta, today, count)
    # Through the user's read-time rules, like every other read: a goal on a project names its display value
    # (a merged "API" counts every original merged into it) and excluded projects never count.
    days = queries.daily_series(reports.replica_of(ctx), user.id, starts[0], today, tz,
                                filters=reports.read_filters(ctx, user, goal_filters(spec) or None))
    by_date = {d.date: d.total_seconds for d in days}
    length = 7 if spec.delta == "week" else 1
    items = []
    for first in starts:
        last = first + dt.timedelta(days=length - 1)
        dates = [first + dt.timedelta(days=i) for i in range(length)]
        counted = [d for d in dates if WEEKDAYS[d.weekday()] not in spec.ignore_days] if length > 1 else dates
        actual = float(sum(by_date.get(d, 0.0) for d in counted))
        ignored_day = WEEKDAYS[first.weekday()] if length == 1 and WEEKDAYS[first.weekday()] in spec.ignore_days \
            else None
        status, reason, short = judge(spec, actual, running=first <= today <= last, ignored_day=ignored_day)
        start, _ = day_window(tz, first)
        _, end = day_window(tz, last)
        items.append(ChartItem(
            actual_seconds=actual, actual_seconds_text=formatting.human_text(actual), goal_seconds=spec.seconds,
            goal_seconds_text=formatting.human_text(spec.seconds),
            range=GoalRange(date=first, start=formatting.iso_utc(start), end=formatting.iso_utc(end - 1),
                            text=_range_text(spec.delta, first, last, today), timezone=tz),
            range_status=status, range_status_reason=reason, range_status_reason_short=short))
    average, cumulative = _overall(spec, items)
    current = items[-1]
    percent = int(min(100.0, 100.0 * current.actual_seconds / spec.seconds))
    final_day = starts[-1] + dt.timedelta(days=length - 1)
    return GoalView(
        id=goal.id, title=title_of(spec), custom_title=spec.custom_title, type="coding", delta=spec.delta,
        seconds=spec.seconds, is_inverse=spec.is_inverse, is_enabled=spec.is_enabled,
        languages=list(spec.languages), projects=list(spec.projects), editors=list(spec.editors),
        categories=list(spec.categories), ignore_days=list(spec.ignore_days), ignore_zero_days=spec.ignore_zero_days,
        improve_by_percent=spec.improve_by_percent, status=current.range_status, average_status=average,
        cumulative_status=cumulative, status_percent_calculated=percent,
        range_text=f"from {starts[0].isoformat()} until {final_day.isoformat()}", chart_data=items,
        created_at=formatting.iso_utc(goal.created_at),
        modified_at=formatting.iso_utc(goal.modified_at) if goal.modified_at is not None else None,
        owner=_owner(user),
    )
