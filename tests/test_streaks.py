"""Coding streaks: consecutive local days with at least streak_min_minutes of coding, current and longest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from hackatime_lite.analytics.oracle import Beat
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.analytics.streaks import (
    Streak,
    compute_streak_details,
    compute_streaks,
    get_streak,
    streak_from_days,
    user_streak,
)
from hackatime_lite.config import Settings
from hackatime_lite.context import AppContext
from hackatime_lite.jobs.registry import refresh_streaks
from hackatime_lite.store import Store
from tests.analytics_helpers import insert_beats

BERLIN = ZoneInfo("Europe/Berlin")
# Monday 2026-03-30 10:00 in Berlin; Sunday the 29th was the 23-hour day clocks went forward.
NOW = dt.datetime(2026, 3, 30, 10, 0, tzinfo=BERLIN).timestamp()
TODAY = dt.date(2026, 3, 30)
D = dt.timedelta(days=1)


def local(day: dt.date, hour: int, minute: int = 0) -> float:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN).timestamp()


def session(user_id: int, start: float, minutes: int, category: str = "coding") -> list[Beat]:
    """Exactly `minutes` of coding (keystroke mode: nothing is added before the next long gap)."""
    return [Beat(id=0, user_id=user_id, time=start + 60 * i, category=category) for i in range(minutes + 1)]


# -- the pure rule ----------------------------------------------------------------------------------------
def test_today_counts_when_it_qualifies_else_the_streak_runs_to_yesterday() -> None:
    run = [TODAY - 2 * D, TODAY - D]
    assert streak_from_days([*run, TODAY], TODAY).current == 3
    only_yesterday = streak_from_days(run, TODAY)
    assert (only_yesterday.current, only_yesterday.current_start, only_yesterday.current_end) == \
        (2, TODAY - 2 * D, TODAY - D)
    lapsed = streak_from_days([TODAY - 3 * D, TODAY - 2 * D], TODAY)
    assert (lapsed.current, lapsed.longest) == (0, 2)
    assert streak_from_days([], TODAY) == Streak()


def test_a_gap_breaks_the_streak_and_the_longest_has_no_cap() -> None:
    long_run = [TODAY - (100 + i) * D for i in range(45)]
    recent = [TODAY - i * D for i in range(5)]
    streak = streak_from_days(long_run + recent + [TODAY + D], TODAY)  # tomorrow (a clock skew) is ignored
    assert (streak.current, streak.longest) == (5, 45)
    assert (streak.longest_start, streak.longest_end) == (TODAY - 144 * D, TODAY - 100 * D)


# -- from heartbeats through the replica ------------------------------------------------------------------
class StreakWorld:
    def __init__(self, settings: Settings, store: Store, replica: Replica) -> None:
        self.settings, self.store, self.replica = settings, store, replica

    def user(self, name: str, timezone: str = "Europe/Berlin") -> int:
        return self.store.create_user(name, timezone=timezone).id

    def code(self, user_id: int, days: dict[dt.date, int], hour: int = 12) -> None:
        beats = [b for day, minutes in days.items() for b in session(user_id, local(day, hour), minutes)]
        insert_beats(self.store, beats)


@pytest.fixture
def world(settings: Settings, store: Store) -> Iterator[StreakWorld]:
    keystroke = Settings(data_dir=settings.data_dir, default_mode="keystroke")
    with Replica(store, keystroke) as replica:
        yield StreakWorld(keystroke, store, replica)


def test_streaks_from_heartbeats_in_the_users_zone_across_a_dst_day(world: StreakWorld) -> None:
    through_today, to_yesterday, lapsed = world.user("today"), world.user("yesterday"), world.user("lapsed")
    world.code(through_today, {TODAY - 3 * D: 20, TODAY - 2 * D: 20, TODAY - D: 20, TODAY: 20})
    world.code(to_yesterday, {TODAY - 3 * D: 20, TODAY - 2 * D: 20, TODAY - D: 20})
    world.code(lapsed, {TODAY - 4 * D: 20, TODAY - 3 * D: 20})
    # Coding from 00:00 on the 30th is the 30th in Berlin; a naive 24-hour day after the 29th's midnight
    # would put it on the 29th (only 23 hours long) and join the 28th to today.
    after_dst = world.user("after_dst")
    world.code(after_dst, {TODAY - 2 * D: 20})
    world.code(after_dst, {TODAY: 20}, hour=0)
    nobody = world.user("nobody", "UTC")
    streaks = compute_streaks(world.replica, NOW, world.settings)
    assert streaks == {through_today: (4, 4), to_yesterday: (3, 3), lapsed: (0, 2), after_dst: (1, 1),
                       nobody: (0, 0)}
    for user_id, expected in streaks.items():
        zone = "UTC" if user_id == nobody else "Europe/Berlin"
        live = user_streak(world.replica, user_id, zone, NOW, world.settings)
        assert (live.current, live.longest) == expected


def test_the_minimum_minutes_and_the_coding_categories_decide_a_day(world: StreakWorld) -> None:
    edge = world.user("edge")
    world.code(edge, {TODAY - 3 * D: 15, TODAY - 2 * D: 14, TODAY - D: 15, TODAY: 14})
    browsing = world.user("browsing")
    for day in (TODAY - D, TODAY):
        insert_beats(world.store, session(browsing, local(day, 9), 40, category="browsing"))
    details = compute_streak_details(world.replica, NOW, world.settings)
    assert (details[edge].current, details[edge].current_start, details[edge].longest) == (1, TODAY - D, 1)
    assert details[browsing] == Streak()
    lenient = Settings(data_dir=world.settings.data_dir, default_mode="keystroke", streak_min_minutes=10)
    assert compute_streaks(world.replica, NOW, lenient)[edge] == (4, 4)


def test_a_400_day_streak_and_its_cache(world: StreakWorld, store: Store) -> None:
    marathon = world.user("marathon")
    world.code(marathon, {TODAY - i * D: 16 for i in range(1, 401)})
    streak = compute_streak_details(world.replica, NOW, world.settings)[marathon]
    assert (streak.current, streak.longest) == (400, 400)
    assert (streak.current_start, streak.current_end) == (TODAY - 400 * D, TODAY - D)
    live = user_streak(world.replica, marathon, "Europe/Berlin", NOW, world.settings)
    assert (live.current, live.longest) == (400, 400)

    ctx = AppContext(settings=world.settings, store=store, clock=lambda: NOW)
    ctx.replica = world.replica
    assert get_streak(store, marathon) is None
    assert refresh_streaks(ctx) == {"users": 1, "active": 1}
    cached = get_streak(store, marathon)
    assert cached == streak
    # Read two days later without a refresh: the current streak has lapsed, the longest stays.
    stale = get_streak(store, marathon, today=TODAY + 2 * D)
    assert stale is not None and (stale.current, stale.longest) == (0, 400)
