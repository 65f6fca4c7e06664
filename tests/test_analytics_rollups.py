"""Rollups follow every change: hypothesis histories of inserts (live and late), deletions, zone and rule changes
give the same answers via the rollup path as the pure-Python oracle, after every step; compaction keeps the
answers and sorts the rows; the replica's DuckDB connections carry the configured limits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hackatime_lite.analytics import oracle, timezones
from hackatime_lite.analytics.oracle import Beat
from hackatime_lite.analytics.queries import (
    daily_series,
    daily_totals_all_users,
    summarize,
    window_totals_all_users,
)
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.config import Settings
from hackatime_lite.store import Store
from tests.analytics_helpers import insert_beats, rule_of

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kathmandu", "UTC")
T0 = 1711839600.0  # 2024-03-30 23:00 UTC: Berlin's spring-forward night is inside the data
GAPS = st.sampled_from([0.0, 30.0, 90.0, 119.0, 120.0, 121.0, 600.0, 3599.0, 3600.0, 5000.0, 20_000.0, 50_000.0])
DIMS = ("project", "language", "category")
TOLERANCE = 1e-6


def beats_of(draw: st.DrawFn, count: int, start: float) -> list[Beat]:
    t, beats = start, []
    for _ in range(count):
        t += draw(GAPS)
        beats.append(Beat(0, 0, round(t, 3), project=draw(st.sampled_from(["alpha", "beta", None])),
                          language=draw(st.sampled_from(["Python", "Go"])),
                          category=draw(st.sampled_from(["coding", "coding", "browsing"])),
                          source=draw(st.sampled_from(["direct", "direct", "direct", "test"]))))
    return beats


@st.composite
def history(draw: st.DrawFn) -> list[tuple]:
    """Steps: ("insert", user, beats) live or late, ("delete", user, picks), ("zone", user, tz),
    ("rule", user, timeout, mode)."""
    steps: list[tuple] = []
    for _ in range(draw(st.integers(2, 6))):
        user = draw(st.integers(0, 1))
        kind = draw(st.sampled_from(["insert", "insert", "late", "delete", "zone", "rule"]))
        if kind in ("insert", "late"):
            start = T0 + draw(st.integers(0, 4)) * 43_200.0 - (86_400.0 if kind == "late" else 0.0)
            steps.append(("insert", user, beats_of(draw, draw(st.integers(1, 8)), start)))
        elif kind == "delete":
            steps.append(("delete", user, draw(st.lists(st.integers(0, 40), min_size=1, max_size=3))))
        elif kind == "zone":
            steps.append(("zone", user, draw(st.sampled_from(ZONES))))
        else:
            steps.append(("rule", user, draw(st.sampled_from([None, 30, 120, 600, 3600])),
                          draw(st.sampled_from([None, "capped", "keystroke"]))))
    return steps


class World:
    def __init__(self, root: Path) -> None:
        self.settings = Settings(data_dir=str(root))
        self.settings.paths.ensure()
        self.store = Store(self.settings.paths.database)
        self.user_ids = [self.store.create_user(f"r{i}", timezone=ZONES[i]).id for i in range(2)]
        self.replica = Replica(self.store, self.settings)

    def reset(self) -> None:
        self.beats: list[Beat] = []
        self.zones = {u: ZONES[i] for i, u in enumerate(self.user_ids)}
        self.rules = {u: rule_of(None, None) for u in self.user_ids}
        for i, user_id in enumerate(self.user_ids):
            self.store.delete_heartbeats(user_id)
            self.store.update_user(user_id, timezone=ZONES[i], timeout=None, duration_mode=None)

    def apply(self, step: tuple) -> None:
        kind, index = step[0], step[1]
        user_id = self.user_ids[index]
        if kind == "insert":
            self.beats += insert_beats(self.store, [Beat(**{**b.__dict__, "user_id": user_id}) for b in step[2]])
        elif kind == "delete":
            mine = [b for b in self.beats if b.user_id == user_id]
            gone = {mine[i].id for i in step[2] if i < len(mine)}
            if gone:
                self.store.delete_heartbeats(user_id, ids=sorted(gone))
                self.beats = [b for b in self.beats if b.id not in gone]
        elif kind == "zone":
            self.store.update_user(user_id, timezone=step[2])
            self.zones[user_id] = step[2]
        else:
            self.store.update_user(user_id, timeout=step[2], duration_mode=step[3])
            self.rules[user_id] = rule_of(step[2], step[3])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    opened = World(tmp_path_factory.mktemp("analytics-rollups"))
    yield opened
    opened.replica.close()
    opened.store.close()


def approx(value: float) -> object:
    return pytest.approx(value, abs=TOLERANCE)


def check_user_reads(replica: Replica, ivs: list, user_id: int, tz: str, first: dt.date, last: dt.date) -> None:
    """One user's daily series and summaries (partial edge days on both sides) against the oracle."""
    days = daily_series(replica, user_id, first, last, tz, dimensions=("project",))
    want = oracle.daily(ivs, user_id, tz, first, last)
    assert {d.date: d.total_seconds for d in days} == {d: approx(s) for d, s in want.items()}
    # Windows with partial edge days on both sides, whole days between.
    for start, end in ((T0 + 1234.5, T0 + 3 * 86_400 + 777.0), (T0 - 86_400, T0 + 5 * 86_400),
                       (T0 + 5000.0, T0 + 9000.0)):
        summary = summarize(replica, user_id, start, end, dimensions=DIMS, filters={"category": ["coding"]})
        assert summary.total_seconds == approx(oracle.total(ivs, user_id, start, end, {"category": ["coding"]}))
        for dim in DIMS:
            expected = oracle.breakdown(ivs, user_id, start, end, dim, {"category": ["coding"]})
            assert {k: v for k, v in summary.breakdowns[dim]} == {k: approx(v) for k, v in expected.items()}


def check_against_oracle(world: World, *, queries: bool = True) -> None:
    """The rollups table itself, and (`queries`) every rollup-backed query, against the oracle."""
    replica = world.replica
    ivs = oracle.intervals(world.beats, world.rules)
    first, last = dt.date(2024, 3, 27), dt.date(2024, 4, 12)  # every day the histories can reach
    stored_all = replica.run(lambda c: c.execute(
        "SELECT user_id, day, SUM(seconds) FROM rollups GROUP BY ALL").fetchall())
    for user_id, tz in world.zones.items():
        # Every stored day is the oracle's day in the user's zone.
        want_days = {d: s for d, s in oracle.daily(ivs, user_id, tz, first, last).items() if s > 0}
        stored = {day: seconds for u, day, seconds in stored_all if u == user_id}
        assert stored.keys() == want_days.keys()
        for day, seconds in want_days.items():
            assert stored[day] == approx(seconds)
    if not queries:
        return
    # Per-user reads both ways: from memory (analytics/user_rows.py, the default) and through the rollups.
    for user_id, tz in world.zones.items():
        for from_memory in (True, False):
            replica.use_memory = from_memory
            try:
                check_user_reads(replica, ivs, user_id, tz, first, last)
            finally:
                replica.use_memory = True

    # Every user's daily totals both ways too: from the day_totals copy in memory and through DuckDB; all
    # categories and a category list (case-insensitive, as filter_sql).
    for categories in (None, ["Coding", "debugging"]):
        filters = {"category": categories} if categories else None
        want_all = {(u, d): s for u, tz in world.zones.items()
                    for d, s in oracle.daily(ivs, u, tz, first, last, filters).items() if s > 0}
        for from_memory in (True, False):
            replica.use_memory = from_memory
            try:
                rows = daily_totals_all_users(replica, first, last, categories=categories)
            finally:
                replica.use_memory = True
            assert rows == sorted(rows)
            got = {(u, d): s for u, d, s in rows}
            assert got.keys() == want_all.keys()
            for key, seconds in want_all.items():
                assert got[key] == approx(seconds)
    # A table over the memory bound is read through DuckDB, and not counted again until it changes.
    memory = replica.day_totals_memory
    bound, memory.max_rows = memory.max_rows, -1  # any table, even an empty one, is over it
    memory.clear()
    try:
        for _ in range(2):
            rows = daily_totals_all_users(replica, first, last)
            assert memory.too_large_at is not None and memory.get(memory.too_large_at) is None
            assert {(u, d) for u, d, _ in rows} == {(u, d) for u, tz in world.zones.items()
                                                    for d, s in oracle.daily(ivs, u, tz, first, last).items() if s > 0}
    finally:
        memory.max_rows = bound
    # Leaderboard windows: short (all raw: edges would dominate), long (whole days from the rollups), and one
    # user's own local days as the leaderboard job asks (no edges at all).
    windows = [(T0 + 3600.0, T0 + 4 * 86_400 - 1800.0, None), (T0 - 2 * 86_400 + 777.0, T0 + 11 * 86_400, None)]
    for user_id, tz in world.zones.items():
        windows.append((*timezones.date_range_window(tz, dt.date(2024, 3, 30), dt.date(2024, 4, 3)), [user_id]))
    for start, end, members in windows:
        board = {u: (s, dict(langs)) for u, s, langs in window_totals_all_users(replica, start, end, users=members)}
        want_board = {u: oracle.total(ivs, u, start, end) for u in (members or world.zones)}
        assert board.keys() == {u for u, s in want_board.items() if s > 0}
        for user_id, (seconds, languages) in board.items():
            assert seconds == approx(want_board[user_id])
            want_languages = oracle.breakdown(ivs, user_id, start, end, "language")
            assert languages == {k: approx(v) for k, v in want_languages.items()}


_MIDNIGHT = timezones.local_midnight(ZONES[0], dt.date(2024, 4, 2))


def fixed_history() -> list[tuple]:
    """One history with every kind of step (the default suite's; hypothesis draws many more in test.sh)."""
    def beats(start: float, gaps: list[float], source: str = "direct") -> list[Beat]:
        t, out = start, []
        for i, gap in enumerate(gaps):
            t += gap
            out.append(Beat(0, 0, t, project=["alpha", "beta", None][i % 3], language=["Python", "Go"][i % 2],
                            category=["coding", "browsing"][i % 2], source=source if i % 4 == 3 else "direct"))
        return out
    return [("insert", 0, beats(T0, [30.0, 90.0, 119.0, 3599.0, 600.0, 121.0], source="test")),
            ("insert", 1, beats(T0 + 43_200.0, [0.0, 120.0, 5000.0, 30.0])),
            ("insert", 0, beats(T0 - 86_400.0, [3600.0, 20_000.0, 90.0])),  # late: a day earlier
            ("delete", 0, [1, 4]), ("zone", 1, "Asia/Kathmandu"), ("rule", 0, 600, "keystroke"),
            ("insert", 1, beats(T0 + 2 * 43_200.0, [50_000.0, 30.0, 119.0])), ("rule", 1, 30, None),
            # Around user 0's local midnight (Europe/Berlin): the last heartbeat before it counts
            # nothing until its successor after midnight arrives; then a late one a day earlier.
            ("insert", 0, [Beat(0, 0, _MIDNIGHT - 30.0)]), ("insert", 0, [Beat(0, 0, _MIDNIGHT + 60.0)]),
            ("insert", 0, [Beat(0, 0, _MIDNIGHT - 3000.0)])]


def test_rollups_follow_a_history_of_every_kind_of_change(world: World) -> None:
    world.reset()
    for step in fixed_history():
        world.apply(step)
        check_against_oracle(world, queries=False)  # the maintained rollups after every step
    check_against_oracle(world)


# Many drawn histories: in test.sh's second step (HYPOTHESIS_PROFILE=thorough), not in the default suite.
@pytest.mark.slow
@pytest.mark.timeout(900)
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                HealthCheck.function_scoped_fixture])
@given(steps=history())
def test_rollups_follow_inserts_deletions_zone_and_rule_changes(world: World, steps: list[tuple]) -> None:
    world.reset()
    for step in steps:
        world.apply(step)
        check_against_oracle(world, queries=False)  # the maintained rollups after every step
    check_against_oracle(world)


@pytest.mark.slow  # its steps are also the end of fixed_history (the default suite's)
def test_a_heartbeat_after_midnight_recomputes_the_previous_day(world: World) -> None:
    """The previous heartbeat's interval grows into the next day when its successor arrives."""
    world.reset()
    user_id, tz = world.user_ids[0], world.zones[world.user_ids[0]]
    midnight = timezones.local_midnight(tz, dt.date(2024, 4, 2))
    world.beats += insert_beats(world.store, [Beat(0, user_id, midnight - 30.0)])
    check_against_oracle(world)  # the last heartbeat counts nothing yet
    world.beats += insert_beats(world.store, [Beat(0, user_id, midnight + 60.0)])
    check_against_oracle(world)  # 30 s on the 1st, 60 s on the 2nd
    world.beats += insert_beats(world.store, [Beat(0, user_id, midnight - 3000.0)])  # late, a day earlier
    check_against_oracle(world)


def test_compaction_sorts_rows_and_keeps_answers(world: World) -> None:
    world.reset()
    users = world.user_ids
    # Arrival order interleaves the users and runs backwards in time: the appended rows are unsorted.
    for step in range(6):
        world.beats += insert_beats(world.store, [Beat(0, users[step % 2], T0 + 86_400 * (3 - step / 2) + i * 50.0,
                                                       project="p") for i in range(5)])
        world.replica.sync()
    before = summarize(world.replica, users[0], T0 - 86_400, T0 + 5 * 86_400)
    assert world.replica.compact(force=True)
    order = world.replica.run(lambda c: c.execute("SELECT user_id, time, id FROM heartbeats ORDER BY rowid")
                              .fetchall(), sync=False)
    assert order == sorted(order)
    rollup_order = world.replica.run(lambda c: c.execute("SELECT user_id, day FROM rollups ORDER BY rowid")
                                     .fetchall(), sync=False)
    assert rollup_order == sorted(rollup_order)
    assert summarize(world.replica, users[0], T0 - 86_400, T0 + 5 * 86_400) == before
    check_against_oracle(world)
    assert not world.replica.compact()  # nothing appended since: no rewrite


def test_connections_carry_the_configured_limits(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path), replica_memory_limit="64MB", replica_threads=1)
    settings.paths.ensure()
    with Store(settings.paths.database) as store, Replica(store, settings) as replica:
        limit, threads = replica.run(lambda c: c.execute(
            "SELECT current_setting('memory_limit'), current_setting('threads')").fetchone())
        assert threads == 1
        assert limit in ("64.0 MB", "61.0 MiB", "64.0MB") or limit.startswith(("61", "64"))


def test_checkpoints_run_in_the_replicas_own_thread(tmp_path: Path) -> None:
    """Syncs' commits leave the write-ahead log growing past DuckDB's default 16 MB checkpoint point (a
    checkpoint inside a read's sync stalls it); once a sync takes the log past replica_checkpoint_mb, the
    replica checkpoints in a thread of its own — with or without the scheduler, which bounds the memory DuckDB
    holds for uncheckpointed rows — and the answers are the same."""
    import threading

    from hackatime_lite.analytics import replica_file

    settings = Settings(data_dir=str(tmp_path), replica_checkpoint_mb=48 / 1024)
    settings.paths.ensure()
    with Store(settings.paths.database) as store, Replica(store, settings) as replica:
        user = store.create_user("ck").id
        assert replica.run(lambda c: c.execute("SELECT current_setting('checkpoint_threshold')").fetchall()[0][0]) \
            .startswith(("244", "256"))
        assert replica.checkpoint_wal_bytes == 48 * 1024
        assert not replica.checkpoint_if_due()  # nothing logged yet
        ran_in: list[str] = []
        original = replica._checkpoint_locked

        def checkpoint() -> None:
            ran_in.append(threading.current_thread().name)
            original()

        replica._checkpoint_locked = checkpoint  # type: ignore[method-assign]  # records which thread checkpoints
        beats: list[Beat] = []
        wal = replica_file.wal_path(replica.path)
        step = 0
        while not ran_in:
            beats += insert_beats(store, [Beat(0, user, T0 + step * 40.0 + i, project=f"p{step % 7}")
                                          for i in range(40)])
            replica.sync()
            if replica._checkpointer is not None:
                replica._checkpointer.join(30)  # the sync returned first; the checkpoint follows
            step += 1
            assert step < 2000, "the log never grew"
        assert ran_in == ["replica-checkpoint"] and replica.checkpoints == 1
        assert not wal.exists() or wal.stat().st_size < replica.checkpoint_wal_bytes
        assert not replica.checkpoint_if_due()  # the job's call finds nothing to do
        rule = oracle.Rule(float(settings.default_timeout), settings.default_mode)
        want = oracle.total(oracle.intervals(beats, {user: rule}), user, T0 - 86_400, T0 + 30 * 86_400)
        assert summarize(replica, user, T0 - 86_400, T0 + 30 * 86_400).total_seconds == approx(want)
