"""The replica's id watermark on PostgreSQL under concurrent writers (the hard part of issue 12).

A replica copies heartbeats with after_id < id <= change_marks().heartbeat_id. If a transaction holding a
lower id committed after a sync had already moved the watermark past a higher id, that row would be skipped
for ever. The schema allocates ids under a transaction-scoped advisory lock (store/postgres/migrations.py),
so ids become visible in id order. These tests provoke the race with two raw connections.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from hackatime_lite.analytics.replica import Replica
from hackatime_lite.config import Settings
from tests.store_contract import NOW, beat_rows

# psycopg and the PostgreSQL store are imported where used: every test process collects this module, and the
# default suite (no `postgres`) runs none of it.
if TYPE_CHECKING:
    import psycopg

    from hackatime_lite.store.postgres.store import PostgresStore

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[PostgresStore]:
    from hackatime_lite.store.postgres.store import PostgresStore

    with PostgresStore(pg_url, pool_size=2) as store:
        yield store


@pytest.fixture
def replica(pg_store: PostgresStore, tmp_path: Path) -> Iterator[Replica]:
    settings = Settings(data_dir=str(tmp_path / "data"), database_url=pg_store.url)
    settings.paths.ensure()
    with Replica(pg_store, settings) as opened:
        yield opened


def replica_ids(replica: Replica) -> list[int]:
    return [row[0] for row in replica.run(lambda cur: cur.execute("SELECT id FROM heartbeats ORDER BY id")
                                          .fetchall(), sync=False)]


def begin_insert(url: str, user_id: int, moment: float) -> tuple[psycopg.Connection[Any], int]:
    """An open transaction that inserted one heartbeat; returns it and the row's id."""
    import psycopg

    from hackatime_lite.store.postgres import heartbeats as pg_heartbeats

    conn = psycopg.connect(url)  # not autocommit: the transaction stays open until commit()
    ((row_id, created),) = pg_heartbeats.insert_rows(conn, beat_rows(user_id, [moment], entity=f"f{moment}.py"))
    assert created
    return conn, row_id


def wait_until_blocked(url: str, deadline_s: float = 20.0) -> None:
    """Until some backend waits on an advisory lock (the second writer queued behind the first)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as probe:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            waiting = probe.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                                    ).fetchone()
            if waiting and waiting[0] > 0:
                return
            probe.execute("SELECT pg_sleep(0.01)")  # a server-side poll interval, not a fixed wait for an outcome
    raise AssertionError("the second writer never queued behind the first")


def test_lower_id_committing_late_is_never_skipped(pg_store: PostgresStore, replica: Replica) -> None:
    user = pg_store.create_user("racer")
    first, first_id = begin_insert(pg_store.url, user.id, NOW - 10)  # holds the lower id, uncommitted
    second_id: list[int] = []

    def second_writer() -> None:
        conn, row_id = begin_insert(pg_store.url, user.id, NOW - 5)
        second_id.append(row_id)
        conn.commit()
        conn.close()

    writer = threading.Thread(target=second_writer)
    writer.start()
    try:
        wait_until_blocked(pg_store.url)
        # A sync while the lower id is in flight: the watermark must not pass it.
        replica.sync()
        assert replica_ids(replica) == [] and pg_store.change_marks().heartbeat_id < first_id
        first.commit()
    finally:
        first.close()
        writer.join(30)
    assert not writer.is_alive() and second_id and second_id[0] > first_id
    replica.sync()
    assert replica_ids(replica) == [first_id, second_id[0]]
    assert pg_store.change_marks().heartbeat_id == second_id[0]


def test_rolled_back_ids_are_harmless_gaps(pg_store: PostgresStore, replica: Replica) -> None:
    user = pg_store.create_user("gappy")
    doomed, doomed_id = begin_insert(pg_store.url, user.id, NOW - 30)
    doomed.rollback()
    doomed.close()
    (kept_id, _), = pg_store.insert_heartbeats(beat_rows(user.id, [NOW - 20]), user_id=user.id, source="direct",
                                                origins=(), now=NOW).result(10)
    assert kept_id > doomed_id
    replica.sync()
    assert replica_ids(replica) == [kept_id]


def test_without_the_lock_the_race_loses_a_row(pg_store: PostgresStore, replica: Replica) -> None:
    """The same race with a writer that takes its id without the ordering lock (its triggers switched off for
    the session): the late lower id is skipped for ever. This shows the race above is the real hazard, and
    that the lock is what prevents it."""
    import psycopg

    from hackatime_lite.store.postgres import heartbeats as pg_heartbeats

    user = pg_store.create_user("unsafe")
    first = psycopg.connect(pg_store.url)
    try:
        try:
            first.execute("SET session_replication_role = replica")  # ordinary triggers do not fire
        except psycopg.errors.InsufficientPrivilege:
            pytest.skip("needs a superuser (session_replication_role)")
        ((first_id, _),) = pg_heartbeats.insert_rows(first, beat_rows(user.id, [NOW - 10], entity="a.py"))
        second, second_id = begin_insert(pg_store.url, user.id, NOW - 5)  # not blocked: no lock is held
        second.commit()
        second.close()
        replica.sync()  # the watermark moves past the lower, still invisible id
        first.commit()
    finally:
        first.close()
    replica.sync()
    assert second_id > first_id
    assert replica_ids(replica) == [second_id]  # first_id is lost to this replica


def test_tombstones_reach_the_replica(pg_store: PostgresStore, replica: Replica) -> None:
    user = pg_store.create_user("tomb")
    ids = [i for i, _ in pg_store.insert_heartbeats(beat_rows(user.id, [NOW - 30, NOW - 20, NOW - 10]),
                                                    user_id=user.id, source="direct", origins=(),
                                                    now=NOW).result(10)]
    replica.sync()
    assert replica_ids(replica) == ids
    # Deleting the newest row must not look like the database going back in time (no rebuild).
    assert pg_store.delete_heartbeats(user.id, ids=[ids[-1]]) == 1
    rebuilds = replica.rebuilds
    replica.sync()
    assert replica_ids(replica) == ids[:2] and replica.rebuilds == rebuilds
