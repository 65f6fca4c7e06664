"""A damaged analytics replica always heals: whatever the damage (truncated, a block overwritten with garbage
or zeros, the header zeroed), found at open, by the next sync or by a read, the file is rebuilt from the store
and the answers are the ones from before the damage; /api/health tells the truth meanwhile; a repair that
cannot be made answers 503 with Retry-After, not 500. The last test does it with a real server and SIGTERM.

The damage is real bytes written into the real DuckDB file. To hit data a query reads but opening the file
does not, the tests look up where DuckDB stored a column (`pragma_storage_info`) and overwrite that block.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

from hackatime_lite.analytics.oracle import Beat
from hackatime_lite.analytics.queries import daily_series, summarize
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.config import Settings
from hackatime_lite.store import Store
from tests.analytics_helpers import insert_beats
from tests.app_pool import pooled_app
from tests.conftest import ServerProcess, basic_auth, copy_migrated_database, make_account

T0 = 1_718_000_000.0
# DuckDB's file layout: three 4 KiB headers, then fixed-size blocks (block_size from PRAGMA database_size).
_HEADERS = 3 * 4096


@pytest.fixture
def user_id(store: Store) -> int:
    return store.create_user("carol", timezone="Europe/Berlin").id


@dataclass(frozen=True)
class Damageable:
    """A store with 6,000 of carol's heartbeats and its replica, built once per module (a 6,000-row rebuild and
    every DuckDB open cost real CPU): the closed files, the answers read from that replica, and where its
    project column lies. Tests copy the store (`filled`) and, where they start from a built file, the replica
    into their own data dir."""

    database: Path
    replica: Path
    user_id: int
    expected: tuple[object, ...]
    block: tuple[int, int]


@pytest.fixture(scope="module")
def damageable(tmp_path_factory: pytest.TempPathFactory, migrated_database: Path) -> Damageable:
    settings = Settings(data_dir=str(tmp_path_factory.mktemp("damageable") / "data"))
    settings.paths.ensure()
    copy_migrated_database(migrated_database, settings.paths.database)
    database = settings.paths.root.parent / "template.sqlite3"
    with Store(settings.paths.database) as store:
        user_id = store.create_user("carol", timezone="Europe/Berlin").id
        fill(store, user_id)
        store.backup_to(database)  # one file, the WAL included
        with Replica(store, settings) as replica:  # closing checkpoints: the file alone is the replica
            expected = answers(replica, user_id)
            block = block_only_of(replica, "project")
    return Damageable(database, settings.paths.replica, user_id, expected, block)


@pytest.fixture
def filled(damageable: Damageable, settings: Settings) -> Iterator[tuple[Store, int]]:
    """This test's own copy of the module's store (opened), and carol's id."""
    settings.paths.ensure()
    shutil.copyfile(damageable.database, settings.paths.database)
    with Store(settings.paths.database) as store:
        yield store, damageable.user_id


def open_prepared(store: Store, settings: Settings, damageable: Damageable) -> Replica:
    """The replica on a copy of the module's replica file (closed and checkpointed, as after a clean shutdown):
    it is current, so opening it rebuilds nothing."""
    shutil.copyfile(damageable.replica, settings.paths.replica)
    replica = Replica(store, settings)
    assert replica.rebuilds == 0
    return replica


def fill(store: Store, user_id: int, count: int = 6_000, start: float = T0) -> None:
    # Random project names: their column then fills DuckDB blocks of its own (well-compressible columns share
    # one block with everything else), so one can be damaged without touching what opening the file reads.
    insert_beats(store, [Beat(0, user_id, start + 47.5 * i, project=os.urandom(48).hex() if i % 5 else None,
                              language=("Python", "Go", None)[i % 3]) for i in range(count)])


def answers(replica: Replica, user_id: int) -> tuple[object, ...]:
    return (summarize(replica, user_id, None, None, dimensions=("project", "language")),
            summarize(replica, user_id, T0 + 10_000, T0 + 500_000, dimensions=("project",)),
            daily_series(replica, user_id, dt.date(2024, 6, 9), dt.date(2024, 6, 30), "Europe/Berlin"))


def block_only_of(replica: Replica, column: str) -> tuple[int, int]:
    """(offset, size) of a block holding `column` of heartbeats and nothing else of any table."""
    def find(cursor) -> tuple[int, int]:  # type: ignore[no-untyped-def]
        size = cursor.execute("SELECT block_size FROM pragma_database_size() "
                              "WHERE database_name = current_database()").fetchone()[0]
        used = cursor.execute(
            "SELECT t, column_name, block_id FROM (SELECT 'heartbeats' AS t, * FROM pragma_storage_info('heartbeats') "
            "UNION ALL SELECT 'meta', * FROM pragma_storage_info('meta') "
            "UNION ALL SELECT 'users', * FROM pragma_storage_info('users')) WHERE block_id >= 0").fetchall()
        mine = {b for t, c, b in used if (t, c) == ("heartbeats", column)}
        others = {b for t, c, b in used if (t, c) != ("heartbeats", column)}
        candidates = sorted(mine - others)
        assert candidates, f"{column} shares every block: the test data is too small ({used})"
        return _HEADERS + candidates[0] * size, size

    return replica.run(find, sync=False)


def damage(path: Path, kind: str, block: tuple[int, int]) -> None:
    offset, size = block
    with path.open("r+b") as handle:
        if kind == "truncate_half":
            handle.truncate(path.stat().st_size // 2)
        elif kind == "garbage_block":
            handle.seek(offset)
            handle.write(os.urandom(size))
        elif kind == "zero_block":
            handle.seek(offset)
            handle.write(bytes(size))
        elif kind == "zero_header":
            handle.write(bytes(_HEADERS))
        else:
            raise AssertionError(kind)


def evict_cache(replica: Replica) -> None:
    """Make DuckDB drop the blocks it holds in memory, so the next read goes to the (damaged) file."""
    replica.run(lambda cursor: cursor.execute("SET memory_limit = '64KB'"), sync=False)
    replica.run(lambda cursor: cursor.execute("RESET memory_limit"), sync=False)


@pytest.mark.parametrize("kind", ["garbage_block", "zero_block"])
def test_damage_that_opening_misses_is_healed_by_the_first_read(filled: tuple[Store, int], settings: Settings,
                                                                 damageable: Damageable, kind: str) -> None:
    store, user_id = filled
    expected = damageable.expected  # the answers of this very file (a copy), read before the damage
    shutil.copyfile(damageable.replica, settings.paths.replica)  # current: opening it alone rebuilds nothing
    damage(settings.paths.replica, kind, damageable.block)
    with Replica(store, settings) as replica:
        assert replica.rebuilds == 0  # opening read nothing of the damaged block: a query has to find it
        assert answers(replica, user_id) == expected
        assert replica.rebuilds == 1
        assert replica.health()["status"] == "ok"
        # The rebuilt file follows the store as before.
        insert_beats(store, [Beat(0, user_id, T0 + 2_000_000), Beat(0, user_id, T0 + 2_000_030)])
        assert summarize(replica, user_id, None, None).total_seconds == pytest.approx(
            expected[0].total_seconds + 120 + 30)  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["truncate_half", "garbage_block", "zero_header"])
def test_damage_under_a_live_replica_is_healed(filled: tuple[Store, int], settings: Settings,
                                               damageable: Damageable, kind: str) -> None:
    store, user_id = filled
    # Built in place and kept open (a first start), as before: evict_cache can then drop every cached block.
    # (On a file opened from disk DuckDB keeps its loaded indexes pinned, and shrinking the memory limit fails.)
    with Replica(store, settings) as replica:
        # Read before the damage, as a running server would have: whatever that caches must not hide it.
        expected = answers(replica, user_id)
        assert expected == damageable.expected
        damage(replica.path, kind, block_only_of(replica, "project"))
        if kind != "garbage_block":  # a changed size or header is seen without reading the data
            health = replica.health()
            assert health["status"] == "error", health
            assert "truncated" in str(health["error"]) or "corrupt" in str(health["error"])
        evict_cache(replica)
        assert answers(replica, user_id) == expected
        assert replica.rebuilds == 2  # the one at the first open, and the repair
        assert replica.health()["status"] == "ok"


def test_replica_truncated_while_open_then_closed_is_rebuilt_by_the_next_open(
        filled: tuple[Store, int], settings: Settings, damageable: Damageable) -> None:
    """What a server does with SIGTERM: closing the connection checkpoints recent rows into the truncated file
    (leaving holes DuckDB still points to)."""
    store, user_id = filled
    with open_prepared(store, settings, damageable) as replica:  # a file built, synced and closed before
        insert_beats(store, [Beat(0, user_id, T0 + 2_000_000 + i) for i in range(500)])
        expected = answers(replica, user_id)  # synced: the new rows wait in DuckDB's WAL for the checkpoint
        damage(replica.path, "truncate_half", (0, 0))
    with Replica(store, settings) as replica:
        assert answers(replica, user_id) == expected
        assert replica.health()["status"] == "ok"


def test_health_says_rebuilding_while_a_rebuild_runs(store: Store, settings: Settings, user_id: int) -> None:
    fill(store, user_id, 200)
    with Replica(store, settings) as replica:
        seen: list[object] = []
        replica.rebuild(lambda done, total: seen.append(replica.health()["status"]))
        assert seen and set(seen) == {"rebuilding"}
        assert replica.health()["status"] == "ok"


def test_a_repair_that_cannot_be_made_answers_503_then_heals(settings: Settings, store: Store, tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    account = make_account(store, "dana")
    now = time.time()
    beats = [{"entity": "a.py", "type": "file", "time": now - 3000 + 60 * i, "project": "p"} for i in range(40)]
    folder = tmp_path / "replica"
    with Replica(store, settings, path=folder / "analytics.duckdb") as replica, \
            pooled_app(settings, store=store, start_scheduler=False, replica=replica) as app, \
            TestClient(app, raise_server_exceptions=False) as client:
        replica.heal_pause = 0.0
        assert client.post("/api/v1/users/current/heartbeats.bulk", json=beats, headers=account.headers).status_code \
            == 201
        url = "/api/v1/users/current/all_time_since_today"
        before = client.get(url, headers=account.headers).json()["data"]["total_seconds"]
        assert before > 0
        # The file is lost, and nothing can be built where it was: a plain file stands where its folder was.
        shutil.rmtree(folder)
        folder.write_bytes(b"")
        caplog.clear()
        for _ in range(3):
            response = client.get(url, headers=account.headers)
            assert response.status_code == 503
            assert int(response.headers["retry-after"]) > 0
            assert "try again later" in response.json()["error"]
        health = client.get("/api/health")
        assert health.status_code == 503 and health.json()["replica"]["status"] == "error"
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]  # no tracebacks
        folder.unlink()
        response = client.get(url, headers=account.headers)
        assert response.status_code == 200
        assert response.json()["data"]["total_seconds"] == before
        assert client.get("/api/health").json()["replica"]["status"] == "ok"


def _numbers(server: ServerProcess, key: str) -> dict[str, object]:
    """Every read answers 200; the figures they give."""
    def get(path: str) -> dict[str, object]:
        response = httpx.get(server.url + path, headers=basic_auth(key), timeout=30)
        assert response.status_code == 200, (path, response.status_code, response.text, server.log_tail())
        return response.json()

    stats = get("/api/v1/users/current/stats/last_7_days")["data"]
    summaries = get("/api/v1/users/current/summaries?range=last_7_days")
    all_time = get("/api/v1/users/current/all_time_since_today")["data"]
    return {
        "stats": (stats["total_seconds"], [(p["name"], p["total_seconds"]) for p in stats["projects"]],
                  [(lang["name"], lang["total_seconds"]) for lang in stats["languages"]]),
        "summaries": summaries["cumulative_total"]["seconds"],
        "all_time": all_time["total_seconds"],
    }


@pytest.mark.slow  # real server processes, stopped with SIGTERM
@pytest.mark.parametrize("when", ["while_running", "while_stopped"])
def test_truncated_replica_heals_across_a_sigterm_restart(tmp_path: Path, when: str) -> None:
    """The acceptance test: truncate the replica, SIGTERM, restart, read → 200 with the same numbers."""
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    try:
        server.cli("user", "create", "sam")
        key = server.cli("key", "create", "sam").stdout.strip()
        now = time.time()
        with httpx.Client(base_url=server.url, headers=basic_auth(key), timeout=30) as http:
            for batch in range(20):  # two days of coding, in three projects and languages
                items = [{"entity": f"src/{batch}/{i}.py", "type": "file",
                          "time": now - 2 * 86400 + batch * 8000 + i * 40, "project": f"project-{batch % 3}",
                          "language": ("Python", "Go", "Rust")[i % 3]} for i in range(100)]
                response = http.post("/api/v1/users/current/heartbeats.bulk", json=items)
                assert response.status_code == 201, response.text
    finally:
        assert server.stop() == 0
    # A second run: the replica file now holds checkpointed data that a later start reads from disk.
    server = ServerProcess(data).start()
    try:
        expected = _numbers(server, key)
        assert expected["all_time"]
        replica = data / "analytics.duckdb"
        if when == "while_running":
            with replica.open("r+b") as handle:
                handle.truncate(replica.stat().st_size // 2)
    finally:
        assert server.stop() == 0
    if when == "while_stopped":
        with replica.open("r+b") as handle:
            handle.truncate(replica.stat().st_size // 2)
    server = ServerProcess(data).start()
    try:
        assert _numbers(server, key) == expected
        health = httpx.get(server.url + "/api/health", timeout=10)
        assert health.status_code == 200 and health.json()["replica"]["status"] == "ok"
    finally:
        assert server.stop() == 0


@pytest.fixture(autouse=True)
def _no_leftover_rebuild_files(settings: Settings) -> Iterator[None]:
    yield
    leftovers = [p.name for p in settings.paths.root.glob("analytics.duckdb.rebuild-*")] \
        if settings.paths.root.exists() else []
    assert leftovers == []
