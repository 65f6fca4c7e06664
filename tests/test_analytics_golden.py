"""Golden cases for the one duration rule: worked examples computed by hand, DST days, midnight splits."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hackatime_lite.analytics import timezones
from hackatime_lite.analytics.oracle import Beat
from hackatime_lite.analytics.queries import daily_series, spans, summarize
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.config import Settings
from hackatime_lite.store import Store
from tests.analytics_helpers import insert_beats
from tests.conftest import copy_migrated_database

T0 = 1_718_000_000.0  # 2024-06-10 06:13:20 UTC


# One store and replica for the module (opening a store and building a replica cost ~0.1 s of CPU a test): every
# test works on a user of its own, and every figure read here is per user.
@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=str(tmp_path_factory.mktemp("golden") / "data"))


@pytest.fixture(scope="module")
def store(settings: Settings, migrated_database: Path) -> Iterator[Store]:
    settings.paths.ensure()
    copy_migrated_database(migrated_database, settings.paths.database)
    with Store(settings.paths.database) as opened:
        yield opened


@pytest.fixture(scope="module")
def replica(store: Store, settings: Settings) -> Iterator[Replica]:
    with Replica(store, settings) as opened:
        yield opened


def new_user(store: Store, name: str, *, timezone: str = "UTC", timeout: int | None = None,
             mode: str | None = None) -> int:
    user = store.create_user(name, timezone=timezone)
    if timeout is not None or mode is not None:
        store.update_user(user.id, timeout=timeout, duration_mode=mode)
    return user.id


def local(tz: str, *args: int) -> float:
    return dt.datetime(*args, tzinfo=ZoneInfo(tz)).timestamp()


def test_wakapi_worked_example_keystroke_mode(store: Store, replica: Replica) -> None:
    user = new_user(store, "wakapi", timeout=120, mode="keystroke")
    at = [0, 30, 30, 160, 180, 190, 195]  # 0:00, 0:30, 0:30 dup, 2:40, 3:00, 3:10, 3:15
    insert_beats(store, [Beat(0, user, T0 + s) for s in at])
    # Gaps 30 | 0 (dup) | 130 ≥ 120 → 0 | 20 | 10 | 5 | last 0  →  30 + 20 + 15 = 65 s.
    assert summarize(replica, user, None, None).total_seconds == pytest.approx(65.0, abs=1e-6)
    assert spans(replica, user, None, None) == [(T0, T0 + 30), (T0 + 160, T0 + 195)]
    # The same stream in capped mode: the 130 s gap counts as 120 → 30 + 120 + 35 = 185 s.
    store.update_user(user, duration_mode="capped")
    assert summarize(replica, user, None, None).total_seconds == pytest.approx(185.0, abs=1e-6)


def test_hackatime_least_gap_sql_equals_capped_total(store: Store, replica: Replica, settings: Settings) -> None:
    user = new_user(store, "hacka")
    gaps = [0, 5, 119.5, 120, 120.25, 300, 0, 45, 3600, 7, 86_400, 61, 2, 0.125]
    times, t = [], T0
    for gap in gaps:
        t += gap
        times.append(t)
    insert_beats(store, [Beat(0, user, x, project="p") for x in times])
    conn = sqlite3.connect(settings.paths.database)
    try:
        # Hackatime: each heartbeat is credited LEAST(gap to the previous one, 120); the first gets nothing.
        (expected,) = conn.execute(
            "SELECT SUM(MIN(gap, 120)) FROM (SELECT time - LAG(time) OVER (ORDER BY time, id) AS gap "
            "FROM heartbeats WHERE user_id = ?)", (user,)).fetchone()
    finally:
        conn.close()
    assert summarize(replica, user, None, None).total_seconds == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(("tz", "day", "hours"), [
    ("America/New_York", dt.date(2024, 3, 10), 23), ("America/New_York", dt.date(2024, 11, 3), 25),
    ("Europe/Berlin", dt.date(2024, 3, 31), 23), ("Europe/Berlin", dt.date(2024, 10, 27), 25),
    ("Europe/Berlin", dt.date(2024, 6, 1), 24),
])
def test_dst_day_windows(store: Store, replica: Replica, tz: str, day: dt.date, hours: int) -> None:
    start, end = timezones.day_window(tz, day)
    assert end - start == hours * 3600
    assert start == local(tz, day.year, day.month, day.day)
    # Coding non-stop (a heartbeat a minute) from an hour before until an hour after the day fills it exactly.
    user = new_user(store, f"dst{hours}{day:%m%d}", timezone=tz)
    insert_beats(store, [Beat(0, user, start - 3600 + 60 * i) for i in range(int((end - start) / 60) + 121)])
    days = daily_series(replica, user, day - dt.timedelta(days=1), day + dt.timedelta(days=1), tz)
    assert [(d.date, d.end - d.start) for d in days][1] == (day, hours * 3600)
    assert [d.total_seconds for d in days] == pytest.approx([3600.0, hours * 3600.0, 3600.0], abs=1e-6)


def test_session_across_local_midnight_is_split_exactly(store: Store, replica: Replica) -> None:
    tz = "Europe/Berlin"
    user = new_user(store, "night", timezone=tz)
    midnight = local(tz, 2024, 6, 11)
    # 23:30 .. 00:30 local, a heartbeat a minute, plus one heartbeat straddling midnight by 25 s / 35 s.
    beats = [Beat(0, user, midnight - 1800 + 60 * i) for i in range(61)]
    beats.append(Beat(0, user, midnight - 25 + 0.5))
    insert_beats(store, beats)
    days = daily_series(replica, user, dt.date(2024, 6, 10), dt.date(2024, 6, 11), tz)
    assert [d.total_seconds for d in days] == pytest.approx([1800.0, 1800.0], abs=1e-6)
    assert sum(d.total_seconds for d in days) == pytest.approx(
        summarize(replica, user, days[0].start, days[-1].end).total_seconds, abs=1e-6)


def test_heartbeat_before_window_reaches_into_it(store: Store, replica: Replica) -> None:
    user = new_user(store, "tail", timeout=600)
    insert_beats(store, [Beat(0, user, T0), Beat(0, user, T0 + 500), Beat(0, user, T0 + 520)])
    # [T0, T0+500) starts before the window and contributes its last 200 s; [T0+500, T0+520) fully.
    assert summarize(replica, user, T0 + 300, T0 + 10_000).total_seconds == pytest.approx(220.0)
    # The window's end cuts an interval whose successor lies beyond it.
    assert summarize(replica, user, T0, T0 + 100).total_seconds == pytest.approx(100.0)


def test_last_heartbeat_counts_once_a_successor_arrives(store: Store, replica: Replica) -> None:
    user = new_user(store, "last")
    insert_beats(store, [Beat(0, user, T0), Beat(0, user, T0 + 60)])
    assert summarize(replica, user, T0, T0 + 86_400).total_seconds == pytest.approx(60.0)
    insert_beats(store, [Beat(0, user, T0 + 86_400 * 3)])  # far beyond the window: capped at 120 s
    assert summarize(replica, user, T0, T0 + 86_400).total_seconds == pytest.approx(180.0)


def test_test_source_heartbeats_are_not_counted(store: Store, replica: Replica) -> None:
    user = new_user(store, "doctor")
    insert_beats(store, [Beat(0, user, T0), Beat(0, user, T0 + 60), Beat(0, user, T0 + 200, source="test")])
    # The doctor's heartbeat is not part of the stream, so it does not give T0+60 a successor either.
    assert summarize(replica, user, None, None).total_seconds == pytest.approx(60.0)
    assert summarize(replica, user, None, None, exclude_sources=()).total_seconds == pytest.approx(180.0)


def test_filters_and_dependency_breakdown(store: Store, replica: Replica) -> None:
    user = new_user(store, "deps")
    insert_beats(store, [
        Beat(0, user, T0, project="a", dependencies=("os", "re")),
        Beat(0, user, T0 + 40, project=None),
        Beat(0, user, T0 + 100, project="b", dependencies=("os",)),
        Beat(0, user, T0 + 110, project="a"),
    ])
    summary = summarize(replica, user, None, None, dimensions=("project", "dependency"))
    assert summary.total_seconds == pytest.approx(110.0)
    assert summary.breakdowns["project"] == [(None, 60.0), ("a", 40.0), ("b", 10.0)]
    assert summary.breakdowns["dependency"] == [("os", 50.0), ("re", 40.0)]
    # Filters pick intervals after they are computed: project a keeps its 40 s, not a recomputed gap.
    assert summarize(replica, user, None, None, filters={"project": ["a"]}).total_seconds == pytest.approx(40.0)
    assert summarize(replica, user, None, None, filters={"project": [None, "b"]}).total_seconds == \
        pytest.approx(70.0)
    assert summarize(replica, user, None, None, filters={"dependency": ["re"]}).total_seconds == \
        pytest.approx(40.0)
    assert summarize(replica, user, None, None, filters={"project": []}).total_seconds == 0.0
