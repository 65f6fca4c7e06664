"""Leaderboards: built by the job from the replica into SQLite, served from SQLite with ranks and filters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from hackatime_lite.analytics import oracle
from hackatime_lite.analytics.leaderboards import (
    BOARDS,
    LeaderboardError,
    LeaderboardPage,
    NotBuilt,
    get_leaderboard,
    get_user_rank,
    list_boards,
)
from hackatime_lite.analytics.oracle import Beat, Rule
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.config import Settings
from hackatime_lite.context import AppContext
from hackatime_lite.jobs.registry import build_leaderboards, refresh_streaks
from hackatime_lite.store import Store
from tests.analytics_helpers import insert_beats
from tests.pg_support import query

UTC = dt.UTC
# 2026-03-10 02:00 UTC: already the 10th in Tokyo (11:00), still the 9th in Los Angeles (19:00 PDT).
NOW = dt.datetime(2026, 3, 10, 2, 0, tzinfo=UTC).timestamp()
CODING = Settings().leaderboard_categories


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def session(user_id: int, start: float, minutes: int, *, language: str | None = "Python",
            category: str = "coding") -> list[Beat]:
    """minutes + 1 heartbeats a minute apart: exactly `minutes` of coding (keystroke mode, 2 min timeout)."""
    return [Beat(id=0, user_id=user_id, time=start + 60 * i, language=language, category=category)
            for i in range(minutes + 1)]


class World:
    def __init__(self, settings: Settings, store: Store, replica: Replica) -> None:
        self.settings, self.store, self.replica = settings, store, replica
        self.ctx = AppContext(settings=settings, store=store, clock=lambda: NOW)
        self.ctx.replica = replica
        self.beats: list[Beat] = []

    def user(self, name: str, timezone: str = "UTC", **fields: object) -> int:
        user = self.store.create_user(name, timezone=timezone)
        if fields:
            self.store.update_user(user.id, **fields)
        return user.id

    def add(self, beats: list[Beat]) -> None:
        self.beats += insert_beats(self.store, beats)

    def build(self) -> None:
        refresh_streaks(self.ctx)
        build_leaderboards(self.ctx)

    def board(self, board: str, **options: object) -> LeaderboardPage:
        page = get_leaderboard(self.store, board, **options)  # type: ignore[arg-type]
        assert isinstance(page, LeaderboardPage), page
        return page

    def oracle_total(self, user_id: int, start: float, end: float, language: str | None = None) -> float:
        rules = {b.user_id: Rule(120.0, "keystroke") for b in self.beats}
        filters: dict[str, list[str | None]] = {"category": list(CODING)}
        if language:
            filters["language"] = [language]
        return oracle.total(oracle.intervals(self.beats, rules), user_id, start, end, filters)


@pytest.fixture
def world(settings: Settings, store: Store) -> Iterator[World]:
    # Keystroke mode makes hand arithmetic exact: a session's last heartbeat adds nothing before a long gap.
    keystroke = Settings(data_dir=settings.data_dir, default_mode="keystroke", database_url=settings.database_url)
    with Replica(store, keystroke) as replica:
        yield World(keystroke, store, replica)


def ranks(page: LeaderboardPage) -> list[tuple[int, str, float]]:
    return [(e.rank, e.user.username, e.total_seconds) for e in page.entries]


def test_ties_share_a_rank_and_the_next_rank_skips(world: World) -> None:
    ids = {name: world.user(name) for name in ("dora", "carl", "bea", "abe")}
    morning = at(2026, 3, 10, 0, 30)
    world.add(session(ids["dora"], morning, 10) + session(ids["carl"], morning, 5)
              + session(ids["bea"], morning, 5) + session(ids["abe"], morning, 2))
    world.build()
    page = world.board("today")
    # Standard competition ranking: 1, 2, 2, 4; a tie is listed by username.
    assert ranks(page) == [(1, "dora", 600.0), (2, "bea", 300.0), (2, "carl", 300.0), (4, "abe", 120.0)]
    assert page.total_entries == 4 and page.generated_at == NOW and page.days == 1
    second = world.board("today", page=2, page_size=2)
    assert ranks(second) == [(2, "carl", 300.0), (4, "abe", 120.0)] and second.total_pages == 2
    assert world.board("today", page=3, page_size=2).entries == []
    mine = get_user_rank(world.store, "today", ids["carl"])
    assert mine is not None and not isinstance(mine, NotBuilt) and mine.rank == 2


def test_opted_out_convicted_and_disabled_users_are_left_out(world: World) -> None:
    names = ("plain", "shy", "cheat", "gone", "runner_up")
    extra = {"shy": {"leaderboard_opt_out": True}, "cheat": {"trust_level": "convicted"},
             "gone": {"is_disabled": True}}
    ids = {name: world.user(name, **extra.get(name, {})) for name in names}
    start = at(2026, 3, 9, 20)
    for minutes, name in zip((30, 40, 50, 60, 20), names, strict=True):
        world.add(session(ids[name], start, minutes))
    world.build()
    assert ranks(world.board("last_7_days")) == [(1, "plain", 1800.0), (2, "runner_up", 1200.0)]
    # Excluded users are not even stored, and a later opt-out applies when read, before the next build.
    stored = {row[0] for row in query(world.settings, "SELECT DISTINCT user_id FROM leaderboard_entries")}
    assert stored == {ids["plain"], ids["runner_up"]}
    world.store.update_user(ids["plain"], leaderboard_opt_out=True)
    assert ranks(world.board("last_7_days")) == [(1, "runner_up", 1200.0)]


def test_language_boards_rank_by_time_in_that_language(world: World) -> None:
    ana, ben = world.user("ana"), world.user("ben")
    start = at(2026, 3, 9, 8)
    world.add(session(ana, start, 30, language="Python") + session(ana, start + 3600, 10, language="Go")
              + session(ana, start + 7200, 5, language="Rust") + session(ana, start + 9000, 3, language="C")
              + session(ana, start + 10800, 60, language="Python", category="browsing"))
    world.add(session(ben, start, 20, language="Go") + session(ben, start + 3600, 15, language="Python"))
    world.build()
    overall = world.board("last_7_days")
    assert ranks(overall) == [(1, "ana", 48 * 60.0), (2, "ben", 35 * 60.0)]
    assert overall.entries[0].daily_average == pytest.approx(48 * 60 / 7)
    # Browsing time is not coding: it is in neither the totals nor the language boards.
    assert [(lang.name, lang.total_seconds) for lang in overall.entries[0].languages] == \
        [("Python", 1800.0), ("Go", 600.0), ("Rust", 300.0)]
    python = world.board("last_7_days", language="python")
    assert python.language == "Python"
    assert ranks(python) == [(1, "ana", 1800.0), (2, "ben", 900.0)]
    go = world.board("last_7_days", language="Go")
    assert ranks(go) == [(1, "ben", 1200.0), (2, "ana", 600.0)]
    for entry in go.entries:
        assert entry.total_seconds == world.oracle_total(entry.user.id, NOW - 30 * 86400, NOW + 86400, "Go")
    cobol = world.board("last_7_days", language="COBOL")
    assert cobol.entries == [] and cobol.total_entries == 0
    languages = {(b.board, b.language) for b in list_boards(world.store)}
    assert {("last_7_days", None), ("last_7_days", "Python"), ("last_7_days", "C")} <= languages


def test_today_is_each_users_own_day_while_24_hours_is_rolling(world: World) -> None:
    tokyo, la = world.user("tokyo", "Asia/Tokyo"), world.user("la", "America/Los_Angeles")
    evening_before = at(2026, 3, 9, 12)  # 21:00 on the 9th in Tokyo, 05:00 on the 9th in LA
    an_hour_ago = at(2026, 3, 10, 1)  # 10:00 on the 10th in Tokyo, 18:00 on the 9th in LA
    long_ago = at(2026, 3, 8, 23)  # outside the 24 hours, the 9th in Tokyo, the 8th in LA (PDT since the 8th)
    for user in (tokyo, la):
        world.add(session(user, evening_before, 30) + session(user, an_hour_ago, 20) + session(user, long_ago, 7))
    world.build()
    today = {e.user.username: e.total_seconds for e in world.board("today").entries}
    assert today == {"la": 50 * 60.0, "tokyo": 20 * 60.0}
    tokyo_day = oracle.day_bounds("Asia/Tokyo", dt.date(2026, 3, 10))
    la_day = oracle.day_bounds("America/Los_Angeles", dt.date(2026, 3, 9))
    assert today["tokyo"] == world.oracle_total(tokyo, *tokyo_day)
    assert today["la"] == world.oracle_total(la, *la_day)
    rolling = world.board("last_24_hours")
    assert ranks(rolling) == [(1, "la", 3000.0), (1, "tokyo", 3000.0)]
    assert (rolling.range_start, rolling.range_end) == (NOW - 86400, NOW)
    for entry in rolling.entries:
        assert entry.total_seconds == world.oracle_total(entry.user.id, NOW - 86400, NOW)
    week = {e.user.username: e.total_seconds for e in world.board("last_30_days").entries}
    assert week == {"la": 57 * 60.0, "tokyo": 57 * 60.0}


def test_entries_carry_the_current_streak(world: World) -> None:
    streaky, fresh = world.user("streaky"), world.user("fresh")
    for days_back in range(3):
        world.add(session(streaky, at(2026, 3, 9 - days_back, 9), 20))
    world.add(session(fresh, at(2026, 3, 10, 0, 10), 5))
    world.build()
    streaks = {e.user.username: e.current_streak for e in world.board("last_7_days").entries}
    assert streaks == {"streaky": 3, "fresh": 0}


def test_a_board_not_built_yet_says_so(world: World) -> None:
    store = world.store
    for board in BOARDS:
        assert get_leaderboard(store, board) == NotBuilt(board=board, language=None)
    assert isinstance(get_leaderboard(store, "today", language="Python"), NotBuilt)
    assert isinstance(get_user_rank(store, "today", 1), NotBuilt)
    with pytest.raises(LeaderboardError, match="unknown leaderboard"):
        get_leaderboard(store, "all_time")
    with pytest.raises(LeaderboardError, match="page"):
        get_leaderboard(store, "today", page=0)
    with pytest.raises(LeaderboardError, match="page_size"):
        get_leaderboard(store, "today", page_size=1000)
    world.build()
    empty = world.board("today")
    assert empty.entries == [] and empty.total_entries == 0 and empty.generated_at == NOW
