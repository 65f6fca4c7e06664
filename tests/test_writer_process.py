"""serve's heartbeat writer process (store/sqlite/writer_process.py): a real child process on a real SQLite file
stores exactly what the in-process writer stores, answers only after COMMIT, fails a bad request alone, feeds the
replica's memory, and when it dies the server goes on writing in-process."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import msgspec
import pytest

from hackatime_lite.cli import fast
from hackatime_lite.ingest import IngestContext, PreparedBatch
from hackatime_lite.models import User
from hackatime_lite.store.interface import StoreUnavailable
from hackatime_lite.store.records import STORED_COLUMNS, HeartbeatRow, InsertOutcome
from hackatime_lite.store.sqlite import writer_child
from hackatime_lite.store.sqlite.store import SQLiteStore


def heartbeats(user: User, count: int, *, start: float, project: str = "p") -> list[HeartbeatRow]:
    items = [{"entity": f"/src/{project}/{i % 7}.py", "type": "file", "time": start + i * 30.0, "project": project,
              "language": "Python", "dependencies": ["os"], "lineno": i, "is_write": i % 3 == 0}
             for i in range(count)]
    return PreparedBatch(_NoStore(), items,  # type: ignore[arg-type]  # only latest_heartbeat_fields is asked for
                         IngestContext(user=user, now=start + 10**6, source="direct")).rows


class _NoStore:
    """PreparedBatch asks the store for the user's last fields only for <<LAST_*>> placeholders (none here)."""

    def latest_heartbeat_fields(self, user_id: int) -> dict[str, str | None]:
        raise AssertionError("no placeholders in these heartbeats")


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[SQLiteStore, SQLiteStore]]:
    """(in-process writer, writer process) on two files with the same users."""
    plain, forked = SQLiteStore(tmp_path / "plain.sqlite3"), SQLiteStore(tmp_path / "forked.sqlite3")
    try:
        for store in (plain, forked):
            store.create_user("ada")
            store.create_user("bob")
        assert forked.start_writer_process()
        assert forked.writer_process_pid is not None
        yield plain, forked
    finally:
        plain.close()
        forked.close()


def send(store: SQLiteStore, batches: list[tuple[User, list[HeartbeatRow]]]) -> list[Future[list[InsertOutcome]]]:
    """Every batch queued before any answer is awaited (so the child groups them as the writer thread does)."""
    return [store.insert_heartbeats(rows, user_id=user.id, source="direct", origins=(), now=1.7e9)
            for user, rows in batches]


def table(store: SQLiteStore) -> list[tuple[object, ...]]:
    store.flush()
    return [tuple(row) for row in
            store.reader().execute(f"SELECT {', '.join(STORED_COLUMNS)} FROM heartbeats ORDER BY id").fetchall()]


def test_the_writer_process_stores_and_answers_what_the_in_process_writer_does(
        stores: tuple[SQLiteStore, SQLiteStore]) -> None:
    plain, forked = stores
    ada, bob = (plain.get_user_by_name(name) for name in ("ada", "bob"))
    assert ada is not None and bob is not None
    first = heartbeats(ada, 40, start=1.69e9)
    batches = [
        (ada, first[:25]),
        (bob, heartbeats(bob, 25, start=1.69e9, project="q")),
        (ada, first[15:40]),  # ten sent again: duplicates of the first request
        (ada, first[30:35] + first[30:35]),  # duplicates within one request
        (bob, heartbeats(bob, 3, start=1.695e9)),
    ]
    want = [future.result(10) for future in send(plain, batches)]
    got = [future.result(10) for future in send(forked, batches)]
    assert got == want
    assert sum(created for outcome in got for _, created in outcome) == 25 + 25 + 15 + 3
    assert table(forked) == table(plain)
    assert len(table(forked)) == 68


def test_an_answer_means_committed_and_visible_to_a_new_reader(stores: tuple[SQLiteStore, SQLiteStore]) -> None:
    _, forked = stores
    ada = forked.get_user_by_name("ada")
    assert ada is not None
    outcomes = send(forked, [(ada, heartbeats(ada, 10, start=1.7e9))])[0].result(10)
    fresh = sqlite3.connect(forked.path)
    try:
        ids = [row[0] for row in fresh.execute("SELECT id FROM heartbeats ORDER BY id")]
    finally:
        fresh.close()
    assert ids == [row_id for row_id, _ in outcomes]


def test_a_bad_request_fails_alone_and_its_group_is_stored(stores: tuple[SQLiteStore, SQLiteStore]) -> None:
    _, forked = stores
    ada = forked.get_user_by_name("ada")
    assert ada is not None
    ghost = msgspec.structs.replace(ada, id=9999)  # no such user: the foreign key refuses its rows
    futures = send(forked, [(ada, heartbeats(ada, 5, start=1.7e9)), (ghost, heartbeats(ghost, 5, start=1.7e9)),
                            (ada, heartbeats(ada, 5, start=1.71e9))])
    assert [created for _, created in futures[0].result(10)] == [True] * 5
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        futures[1].result(10)
    assert [created for _, created in futures[2].result(10)] == [True] * 5
    assert {row[STORED_COLUMNS.index("user_id")] for row in table(forked)} == {ada.id}


def test_the_replica_feed_reads_the_processes_rows_from_memory_exactly(stores: tuple[SQLiteStore, SQLiteStore]) -> None:
    _, forked = stores
    ada = forked.get_user_by_name("ada")
    assert ada is not None
    columns = list(STORED_COLUMNS)
    assert list(forked.heartbeat_batches(columns, after_id=0, up_to_id=0, batch_rows=100)) == []  # the first ask
    send(forked, [(ada, heartbeats(ada, 30, start=1.7e9)), (ada, heartbeats(ada, 20, start=1.71e9))])[1].result(10)
    served = forked._recent.served
    from_memory = [row for batch in forked.heartbeat_batches(columns, after_id=0, up_to_id=50, batch_rows=100)
                   for row in batch]
    assert forked._recent.served == served + 1
    assert from_memory == table(forked)


def test_a_storage_fault_in_the_child_answers_503_and_shows_in_health_until_a_write_succeeds(
        stores: tuple[SQLiteStore, SQLiteStore], caplog: pytest.LogCaptureFixture) -> None:
    _, forked = stores
    process = forked._writer_process
    assert process is not None
    # The child's answer for a request its disk refused (what writer_child.commit sends for SQLITE_FULL).
    future: Future[list[InsertOutcome]] = Future()
    process._pending[-1] = (None, future)  # type: ignore[assignment]
    process._answer(["failed", -1, "OperationalError", "database or disk is full", sqlite3.SQLITE_FULL])
    with pytest.raises(StoreUnavailable) as raised:
        future.result(0)
    assert raised.value.retry_after and raised.value.retry_after > 0
    health = forked.health()
    assert health["status"] == "error" and "disk is full" in str(health["error"])
    ada = forked.get_user_by_name("ada")
    assert ada is not None
    send(forked, [(ada, heartbeats(ada, 3, start=1.7e9))])[0].result(10)
    assert forked.health()["status"] == "ok"


def test_a_killed_writer_process_hands_inserts_back_to_the_in_process_writer(
        stores: tuple[SQLiteStore, SQLiteStore]) -> None:
    _, forked = stores
    ada = forked.get_user_by_name("ada")
    assert ada is not None
    pid = forked.writer_process_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while forked.writer_process_pid is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert forked.writer_process_pid is None
    outcomes = send(forked, [(ada, heartbeats(ada, 4, start=1.7e9))])[0].result(10)
    assert [created for _, created in outcomes] == [True] * 4
    assert forked.health()["heartbeat_writer"] == "in-process"


def test_close_answers_every_request_sent_then_the_child_exits(stores: tuple[SQLiteStore, SQLiteStore]) -> None:
    _, forked = stores
    ada = forked.get_user_by_name("ada")
    assert ada is not None
    process = forked._writer_process
    assert process is not None and process._process is not None
    futures = send(forked, [(ada, heartbeats(ada, 10, start=1.7e9 + i * 1e4)) for i in range(30)])
    forked.close()
    assert all(len(future.result(0)) == 10 for future in futures)
    assert process._process.returncode == 0
    check = sqlite3.connect(forked.path)
    try:
        assert check.execute("SELECT COUNT(*) FROM heartbeats").fetchone()[0] == 300
    finally:
        check.close()


def test_the_command_line_knows_the_writer_argument() -> None:
    assert writer_child.ARGUMENT == "--sqlite-writer"
    assert "--sqlite-writer" in Path(fast.__file__).read_text()


def test_a_store_closed_while_its_child_starts_keeps_no_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """serve starts the child from a thread; a shutdown meanwhile closes the store: the child is ended, not kept."""
    from hackatime_lite.store.sqlite.writer_process import WriterProcess

    store = SQLiteStore(tmp_path / "db.sqlite3")
    started: list[WriterProcess] = []
    original = WriterProcess.start

    def start_then_close(self: WriterProcess, timeout: float = 30.0) -> bool:
        ready = original(self, timeout)
        started.append(self)
        store.close()
        return ready

    monkeypatch.setattr(WriterProcess, "start", start_then_close)
    assert store.start_writer_process() is False
    assert started and started[0]._process is not None and started[0]._process.returncode == 0
    assert store.writer_process_pid is None


@pytest.mark.slow  # waits out the child's busy_timeout (10 s): a real storage fault in the real child
def test_a_real_storage_fault_in_the_child_answers_503_and_the_next_request_is_stored(
        stores: tuple[SQLiteStore, SQLiteStore]) -> None:
    """Another process holding SQLite's write lock past busy_timeout is a storage fault (SQLITE_BUSY): the
    child's request fails with StoreUnavailable and Retry-After, health shows it, nothing is stored, and once
    the lock is gone the next request is stored and health is ok again."""
    _, forked = stores
    ada = forked.get_user_by_name("ada")
    assert ada is not None
    blocker = sqlite3.connect(forked.path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # the write lock, as a CLI import in another process would hold it
        future = send(forked, [(ada, heartbeats(ada, 5, start=1.7e9))])[0]
        with pytest.raises(StoreUnavailable) as raised:
            future.result(60)
        assert raised.value.retry_after and raised.value.retry_after > 0
        health = forked.health()
        assert health["status"] == "error" and "busy" in str(health["error"])
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert table(forked) == []
    outcomes = send(forked, [(ada, heartbeats(ada, 5, start=1.7e9))])[0].result(30)
    assert [created for _, created in outcomes] == [True] * 5
    assert forked.health()["status"] == "ok" and forked.health()["heartbeat_writer"] == "process"
