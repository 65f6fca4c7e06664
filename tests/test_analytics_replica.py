"""The DuckDB replica follows SQLite: new rows, deletions, user settings; and survives losing its file."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from litestar.testing import TestClient

from hackatime_lite.analytics.oracle import Beat
from hackatime_lite.analytics.queries import daily_series, replica_users, summarize
from hackatime_lite.analytics.replica import Replica, SyncResult
from hackatime_lite.analytics.replica_file import SCHEMA_VERSION
from hackatime_lite.config import Settings
from hackatime_lite.store import Store
from tests.analytics_helpers import insert_beats
from tests.conftest import Account, run_cli, run_cli_process

T0 = 1_718_000_000.0


@pytest.fixture
def replica(store: Store, settings: Settings) -> Iterator[Replica]:
    with Replica(store, settings) as opened:
        yield opened


@pytest.fixture
def user_id(store: Store) -> int:
    return store.create_user("carol", timezone="Europe/Berlin").id


def fill(store: Store, user_id: int, count: int = 50, start: float = T0) -> list[Beat]:
    projects = ["a", "b", None]
    return insert_beats(store, [Beat(0, user_id, start + 47.5 * i, project=projects[i % 3],
                                     dependencies=("os",) if i % 4 == 0 else ()) for i in range(count)])


def answers(replica: Replica, user_id: int) -> tuple[object, ...]:
    import datetime as dt

    return (summarize(replica, user_id, None, None, dimensions=("project", "dependency")),
            summarize(replica, user_id, T0 + 100, T0 + 1000, filters={"project": ["a"]}),
            daily_series(replica, user_id, dt.date(2024, 6, 9), dt.date(2024, 6, 11), "Europe/Berlin"))


def test_store_insert_is_seen_by_the_next_read(store: Store, replica: Replica, user_id: int) -> None:
    assert summarize(replica, user_id, None, None).total_seconds == 0.0
    insert_beats(store, [Beat(0, user_id, T0), Beat(0, user_id, T0 + 90)])
    assert summarize(replica, user_id, None, None).total_seconds == 90.0
    insert_beats(store, [Beat(0, user_id, T0 + 100)])
    assert summarize(replica, user_id, None, None).total_seconds == 100.0


def test_api_heartbeat_is_counted_by_the_next_read(client: TestClient, alice: Account) -> None:
    replica: Replica = client.app.state.ctx.replica
    now = time.time()
    beats = [{"entity": "main.py", "type": "file", "time": now - 60, "project": "api"},
             {"entity": "main.py", "type": "file", "time": now - 20, "project": "api"}]
    response = client.post("/api/v1/users/current/heartbeats.bulk", json=beats, headers=alice.headers)
    assert response.status_code == 201
    summary = summarize(replica, alice.user.id, now - 3600, now, dimensions=("project",))
    assert summary.total_seconds == pytest.approx(40.0, abs=1e-3)
    assert summary.breakdowns["project"] == [("api", pytest.approx(40.0, abs=1e-3))]
    health = client.get("/api/health").json()
    assert health["replica"]["status"] == "ok"


def test_deletions_reach_the_replica(store: Store, replica: Replica, user_id: int) -> None:
    beats = fill(store, user_id, 10)
    before = summarize(replica, user_id, None, None).total_seconds
    store.delete_heartbeats(user_id, ids=[beats[-1].id])
    assert summarize(replica, user_id, None, None).total_seconds == pytest.approx(before - 47.5)
    store.delete_heartbeats(user_id, start=T0, end=T0 + 200)
    assert summarize(replica, user_id, None, None).total_seconds == pytest.approx(before - 47.5 * 6)
    store.delete_user(user_id)
    assert summarize(replica, user_id, None, None).total_seconds == 0.0
    assert replica.run(lambda cur: cur.execute("SELECT COUNT(*) FROM heartbeats").fetchone()[0]) == 0
    assert replica_users(replica) == []
    assert replica.rebuilds == 1  # followed by tombstones, never by rebuilding


def test_user_settings_changes_are_followed(store: Store, replica: Replica, user_id: int) -> None:
    insert_beats(store, [Beat(0, user_id, T0), Beat(0, user_id, T0 + 100), Beat(0, user_id, T0 + 300)])
    assert summarize(replica, user_id, None, None).total_seconds == 220.0  # 100 + min(200, 120)
    store.update_user(user_id, duration_mode="keystroke")
    assert summarize(replica, user_id, None, None).total_seconds == 100.0
    store.update_user(user_id, timeout=600)
    assert summarize(replica, user_id, None, None).total_seconds == 300.0
    (user,) = replica_users(replica)
    assert (user.timezone, user.timeout, user.duration_mode) == ("Europe/Berlin", 600, "keystroke")


def test_sync_with_nothing_new_does_nothing(store: Store, replica: Replica, user_id: int) -> None:
    fill(store, user_id, 5)
    first = replica.sync()
    assert first.copied == 5
    assert replica.sync() == SyncResult()
    started = time.perf_counter()
    for _ in range(200):
        replica.sync()
    assert (time.perf_counter() - started) / 200 < 0.005


def test_damaged_file_while_open_is_rebuilt_with_identical_answers(store: Store, replica: Replica,
                                                                   user_id: int) -> None:
    """Each damage in turn on one store and replica (a world per damage cost a store, a replica build and the
    rows each): the file is lost, overwritten or emptied under the open replica, each time after the replica
    has followed new rows (and, from the second damage on, been repaired before)."""
    fill(store, user_id)
    for repairs, damage in enumerate(("delete", "garbage", "truncate"), start=1):
        expected = answers(replica, user_id)
        path = replica.path
        if damage == "delete":
            path.unlink()
        elif damage == "garbage":
            path.write_bytes(b"this is not a database " * 4000)
        else:
            path.write_bytes(b"")
        assert answers(replica, user_id) == expected, damage
        assert replica.rebuilds == 1 + repairs, damage  # the one at the first open, and one repair per damage
        # New rows still arrive after the rebuild.
        late = T0 + 10_000 * repairs
        insert_beats(store, [Beat(0, user_id, late), Beat(0, user_id, late + 10)])
        assert summarize(replica, user_id, None, None).total_seconds == pytest.approx(
            expected[0].total_seconds + 120 + 10), damage


def test_garbage_file_on_open_is_rebuilt(store: Store, settings: Settings, user_id: int) -> None:
    fill(store, user_id)
    with Replica(store, settings) as replica:
        expected = answers(replica, user_id)
    settings.paths.replica.write_bytes(b"\x00garbage" * 1000)
    with Replica(store, settings) as replica:
        assert replica.rebuilds == 1
        assert answers(replica, user_id) == expected


def test_schema_version_mismatch_rebuilds(store: Store, settings: Settings, user_id: int) -> None:
    fill(store, user_id)
    with Replica(store, settings) as replica:
        expected = answers(replica, user_id)
    with Replica(store, settings) as replica:
        assert replica.rebuilds == 0  # same version: opened as is
    conn = duckdb.connect(str(settings.paths.replica))
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION - 1)])
    conn.execute("DELETE FROM heartbeats")  # would give wrong answers if it were trusted
    conn.close()
    with Replica(store, settings) as replica:
        assert replica.rebuilds == 1
        assert answers(replica, user_id) == expected


def test_replica_ahead_of_database_is_rebuilt(store: Store, settings: Settings, user_id: int,
                                              tmp_path: Path) -> None:
    fill(store, user_id)
    with Replica(store, settings) as replica:
        replica.sync()
    other = Settings(data_dir=str(tmp_path / "restored"))
    other.paths.ensure()
    with Store(other.paths.database) as restored:
        carol = restored.create_user("carol")
        insert_beats(restored, [Beat(0, carol.id, T0), Beat(0, carol.id, T0 + 30)])
        with Replica(restored, other, path=settings.paths.replica) as replica:
            assert replica.sync().rebuilt
            assert summarize(replica, carol.id, None, None).total_seconds == 30.0


def test_rebuild_reports_progress_and_keeps_answers(store: Store, replica: Replica, user_id: int) -> None:
    fill(store, user_id, 120)
    expected = answers(replica, user_id)
    calls: list[tuple[int, int]] = []
    assert replica.rebuild(lambda done, total: calls.append((done, total))) == 120
    assert calls[0] == (0, 120) and calls[-1] == (120, 120)
    assert answers(replica, user_id) == expected


def test_reads_and_syncs_from_many_threads(store: Store, replica: Replica, user_id: int) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                summarize(replica, user_id, None, None, dimensions=("project",))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    for batch in range(10):
        fill(store, user_id, 20, start=T0 + batch * 2000)
        replica.sync()
    replica.rebuild()
    stop.set()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert replica.run(lambda cur: cur.execute("SELECT COUNT(*) FROM heartbeats").fetchone()[0]) == 200


def test_cli_rebuild(store: Store, settings: Settings, user_id: int) -> None:
    fill(store, user_id, 30)
    result = run_cli("--data-dir", str(settings.paths.root), "rebuild")
    assert "30 heartbeats" in result.stdout
    with Replica(store, settings) as replica:
        assert replica.rebuilds == 0
        assert replica.heartbeat_rows() == 30


@pytest.mark.slow
def test_cli_rebuild_refuses_a_replica_open_in_another_process(store: Store, settings: Settings,
                                                               user_id: int) -> None:
    """DuckDB's file lock is per process (a second connect in the same process shares the open database),
    so this needs the CLI as its own process."""
    fill(store, user_id, 30)
    with Replica(store, settings) as replica:
        assert replica.heartbeat_rows() == 30
        # The open replica holds DuckDB's file lock: the CLI must refuse, not corrupt it.
        refused = run_cli_process("--data-dir", str(settings.paths.root), "rebuild", check=False)
        assert refused.returncode != 0
        assert "in use" in refused.stderr


def test_deleting_the_last_heartbeat_ends_the_stream_again(store: Store, replica: Replica, user_id: int) -> None:
    beats = insert_beats(store, [Beat(0, user_id, T0), Beat(0, user_id, T0 + 60), Beat(0, user_id, T0 + 10_000)])
    assert summarize(replica, user_id, None, None).total_seconds == 180.0  # 60 + min(9940, 120)
    store.delete_heartbeats(user_id, ids=[beats[-1].id])
    assert summarize(replica, user_id, None, None).total_seconds == 60.0  # T0+60 is the last again
    insert_beats(store, [Beat(0, user_id, T0 + 20_000)])
    assert summarize(replica, user_id, None, None).total_seconds == 180.0


def test_large_sync_is_staged_in_batches(store: Store, replica: Replica, user_id: int,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import hackatime_lite.analytics.replica_copy as replica_copy

    fill(store, user_id, 10)
    replica.sync()
    monkeypatch.setattr(replica_copy, "COPY_BATCH_ROWS", 7)
    fill(store, user_id, 40, start=T0 + 5000)  # more than one batch: goes through a staging table
    assert replica.sync().copied == 40
    incremental = answers(replica, user_id)
    replica.rebuild()
    assert answers(replica, user_id) == incremental


def test_cached_status_bar_read_is_dropped_by_that_users_next_write(store: Store, replica: Replica,
                                                                   user_id: int) -> None:
    other = store.create_user("dave").id
    fill(store, user_id, 20)
    fill(store, other, 5)
    window = (T0, T0 + 86400)

    def read() -> object:  # as reports.cached_report reads: sync, then the cache under the version it reached
        replica.sync(defer_rollups=True)
        return replica.cached_read(user_id, ("status", window), lambda: summarize(replica, user_id, *window, sync=False))

    first = read()
    assert first == summarize(replica, user_id, *window)  # the uncached answer
    hits = replica.cache_hits
    assert read() == first and replica.cache_hits == hits + 1
    fill(store, other, 3, start=T0 + 5000)  # another user's write keeps this user's entry
    assert read() == first and replica.cache_hits == hits + 2
    insert_beats(store, [Beat(0, user_id, T0 + 20 * 47.5 + 30)])  # this user's write: the next read counts it
    after = read()
    assert replica.cache_hits == hits + 2
    assert after == summarize(replica, user_id, *window) and after != first
    store.update_user(user_id, timeout=60)  # a settings change (users version) drops it as well
    assert read() == summarize(replica, user_id, *window) and replica.cache_hits == hits + 2


def test_row_groups_stay_small_through_rebuilds_and_syncs(store: Store, settings: Settings, user_id: int,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The replica's row group size (replica_file.ROW_GROUP_SIZE, given at every open) holds for the rows a
    rebuild writes and for those syncs append, and every kind of cursor (reads, syncs, checkpoints) works on
    the file it was attached under."""
    import hackatime_lite.analytics.replica_file as replica_file

    monkeypatch.setattr(replica_file, "ROW_GROUP_SIZE", 2048)
    fill(store, user_id, 5000)
    with Replica(store, settings) as replica:
        fill(store, user_id, 3000, start=T0 + 5000 * 47.5)
        assert replica.sync().copied == 3000
        replica.checkpoint_wal_bytes = 0
        assert replica.checkpoint_if_due()
        groups = replica.run(lambda cursor: cursor.execute(
            "SELECT row_group_id, MAX(count) FROM pragma_storage_info('heartbeats') GROUP BY row_group_id").fetchall())
        assert len(groups) >= 8000 // 2048 and max(rows for _, rows in groups) <= 2048
        assert replica.heartbeat_rows() == 8000
        synced = answers(replica, user_id)
        replica.rebuild()
        assert answers(replica, user_id) == synced
    monkeypatch.setattr(replica_file, "ROW_GROUP_SIZE", 122_880)  # what DuckDB writes without it
    fill(store, user_id, 1, start=T0 - 3600)
    with Replica(store, settings) as replica:
        replica.rebuild()
        groups = replica.run(lambda cursor: cursor.execute(
            "SELECT row_group_id FROM pragma_storage_info('heartbeats') GROUP BY row_group_id").fetchall())
        assert len(groups) == 1  # the size above was the option's doing
