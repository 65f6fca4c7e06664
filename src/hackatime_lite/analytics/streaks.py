"""Coding streaks: consecutive local days (in the user's own zone) with at least `streak_min_minutes` of coding.

The current streak counts back from today if today already qualifies, else from yesterday (a streak is not
broken until a whole day has passed without coding). There is no cap on length. "Coding" means the
leaderboard categories (Settings.leaderboard_categories). Results are cached in the store by the scheduler's
streaks job, for leaderboard entries and the API.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

import msgspec

from hackatime_lite.analytics.queries import (
    all_time_total,
    daily_series,
    daily_totals_all_users,
    replica_users,
)
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.analytics.timezones import local_date
from hackatime_lite.config import Settings
from hackatime_lite.models import Streak
from hackatime_lite.store import StoreBackend

_ONE_DAY = dt.timedelta(days=1)


def streak_from_days(qualifying: Iterable[dt.date], today: dt.date) -> Streak:
    """Current and longest runs of consecutive dates; days after `today` are ignored."""
    days = sorted({day for day in qualifying if day <= today})
    Run = tuple[int, dt.date | None, dt.date | None]
    longest: Run = (0, None, None)
    run_start: dt.date | None = None
    previous: dt.date | None = None
    for day in days:
        if previous is None or run_start is None or day - previous != _ONE_DAY:
            run_start = day
        length = (day - run_start).days + 1
        if length > longest[0]:
            longest = (length, run_start, day)
        previous = day
    current: Run = (0, None, None)
    if previous is not None and run_start is not None and previous >= today - _ONE_DAY:
        current = ((previous - run_start).days + 1, run_start, previous)
    return Streak(current=current[0], current_start=current[1], current_end=current[2],
                  longest=longest[0], longest_start=longest[1], longest_end=longest[2])


def _threshold(settings: Settings) -> float:
    return max(0, settings.streak_min_minutes) * 60.0


def _first_heartbeat_time(replica: Replica) -> float | None:
    row = replica.run(lambda cursor: cursor.execute("SELECT MIN(time) FROM heartbeats").fetchone(), sync=False)
    return row[0] if row is not None else None


def compute_streak_details(replica: Replica, now: float, settings: Settings) -> dict[int, Streak]:
    """Every user's streaks from their whole history, in one daily-totals query over all users."""
    replica.sync()
    users = replica_users(replica, sync=False)
    first = _first_heartbeat_time(replica)
    if not users:
        return {}
    todays = {user.id: _today(user.timezone, now) for user in users}
    qualifying: dict[int, list[dt.date]] = defaultdict(list)
    if first is not None:
        # A day of margin each side: every local date in every zone is inside [UTC date ± 1].
        start = dt.datetime.fromtimestamp(first, dt.UTC).date() - _ONE_DAY
        end = max(todays.values())
        threshold = _threshold(settings)
        for user_id, day, seconds in daily_totals_all_users(
                replica, start, max(start, end), categories=settings.leaderboard_categories, sync=False):
            if seconds >= threshold and seconds > 0:
                qualifying[user_id].append(day)
    return {user.id: streak_from_days(qualifying.get(user.id, ()), todays[user.id]) for user in users}


def compute_streaks(replica: Replica, now: float, settings: Settings) -> dict[int, tuple[int, int]]:
    """{user_id: (current, longest)} for every user."""
    return {user_id: (s.current, s.longest) for user_id, s in compute_streak_details(replica, now, settings).items()}


def _today(timezone: str, now: float) -> dt.date:
    try:
        return local_date(timezone, now)
    except (KeyError, ValueError):  # a zone unknown to this machine counts as UTC, as in the queries
        return local_date("UTC", now)


def user_streak(replica: Replica, user_id: int, timezone: str, now: float, settings: Settings) -> Streak:
    """One user's streaks computed live from the replica (the cache holds the same for everyone)."""
    categories = {"category": list(settings.leaderboard_categories)}
    _, first, _ = all_time_total(replica, user_id, filters=categories)
    today = _today(timezone, now)
    if first is None:
        return Streak()
    start = min(today, _today(timezone, first))
    days = daily_series(replica, user_id, start, today, timezone, filters=categories, sync=False)
    threshold = _threshold(settings)
    return streak_from_days((d.date for d in days if d.total_seconds >= threshold and d.total_seconds > 0), today)


# -- the cache --------------------------------------------------------------------------------------------
def get_streak(store: StoreBackend, user_id: int, *, today: dt.date | None = None) -> Streak | None:
    """The cached streak (None before the first streaks job). With `today` (the user's local date), a current
    streak whose last day is before yesterday reads as 0: the cache may predate a missed day."""
    streak = store.cached_streak(user_id)
    if streak is None:
        return None
    if today is not None and streak.current_end is not None and streak.current_end < today - _ONE_DAY:
        streak = msgspec.structs.replace(streak, current=0, current_start=None, current_end=None)
    return streak
