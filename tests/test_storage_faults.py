"""Faults of the storage are temporary and say so: a full disk or a read-only database answers 503 with
`Retry-After` (never 201 for data not stored), logs one line per incident, and writes succeed once it clears.

The faults are real SQLite conditions on the store's writer connection, no mocks:
- disk full: `PRAGMA max_page_count` set to the file's current size, so any write that needs a new page fails
  with SQLITE_FULL ("database or disk is full") exactly as a full disk does;
- read-only: `PRAGMA query_only`, so SQLite refuses every write with SQLITE_READONLY ("attempt to write a
  readonly database"), the error a read-only file or mount gives. chmod cannot be used: the suite runs as
  root, and root writes through any permission bits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import sqlite_utils
from litestar.testing import TestClient

from hackatime_lite.store import Store
from hackatime_lite.store.interface import StoreUnavailable
from tests.conftest import Account
from tests.web_helpers import PASSWORD, cheap_passwords, csrf_token, give_password, login  # noqa: F401

# The replica must exist before the fault / the scrape, as in a running server (conftest `client`).
pytestmark = pytest.mark.eager_replica

BULK = "/api/v1/users/current/heartbeats.bulk"
SINGLE = "/api/v1/users/current/heartbeats"
DB_LOGGER = "hackatime_lite.store.sqlite.db"


def items(tag: str, count: int = 25) -> list[dict[str, object]]:
    # Long entities: every request needs new pages, so none fits into space the file already has.
    now = time.time()
    return [{"entity": f"/src/{tag}/{i}/" + "x" * 600 + ".py", "type": "file", "time": now - 600 + i,
             "project": "faults"} for i in range(count)]


def stored(store: Store, user_id: int) -> int:
    return len(store.heartbeat_rows(user_id, None, None))


def fill_disk(store: Store) -> None:
    """From now on the database cannot grow: SQLite's own limit, hit exactly like a full disk."""

    def job(db: sqlite_utils.Database) -> None:
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {int(pages)}")

    store.write(job)


def free_disk(store: Store) -> None:
    # The writer can still begin a transaction on a full database: only growing it fails.
    store.write(lambda db: db.execute("PRAGMA max_page_count = 1073741823"))


def make_read_only(store: Store) -> None:
    # On the writer connection itself (the test's thread; the writer thread is idle between batches, and the
    # connection is shared across threads by design): with query_only on, the writer cannot even begin.
    store._writer_conn.execute("PRAGMA query_only = ON")


def make_writable(store: Store) -> None:
    store._writer_conn.execute("PRAGMA query_only = OFF")


@dataclass(frozen=True)
class Fault:
    name: str
    start: Callable[[Store], None]
    clear: Callable[[Store], None]
    reason: str  # as the 503's message says it


FAULTS = {fault.name: fault for fault in (Fault("disk_full", fill_disk, free_disk, "the disk is full"),
                                           Fault("read_only", make_read_only, make_writable,
                                                 "the data directory is read-only"))}


@pytest.fixture(params=sorted(FAULTS))
def fault(request: pytest.FixtureRequest, store: Store) -> Iterator[Fault]:
    yield FAULTS[request.param]
    FAULTS[request.param].clear(store)  # whatever the test did, leave a writable store for the teardown


def test_storage_fault_answers_503_with_retry_after_and_stores_nothing(
        client: TestClient, store: Store, alice: Account, fault: Fault, caplog: pytest.LogCaptureFixture) -> None:
    name, reason = fault.name, fault.reason
    warm = client.post(BULK, json=items("warm", 3), headers=alice.headers)  # the key's last-use write is done
    assert warm.status_code == 201
    # Writes the warm-up queued without waiting (the key's last use, the first-heartbeat-of-the-day webhook
    # event) land before the fault, so every failed write counted below is one of this test's requests.
    store.flush()
    before = stored(store, alice.user.id)
    fault.start(store)
    caplog.set_level(logging.INFO)
    caplog.clear()
    for attempt in range(5):
        response = client.post(BULK, json=items(f"{name}-{attempt}"), headers=alice.headers)
        assert response.status_code == 503, response.text
        assert int(response.headers["retry-after"]) > 0
        assert response.json() == {"error": f"the server cannot store data right now: {reason}; try again later"}
    failed = 5
    if name == "read_only":
        # A full disk still takes a single heartbeat that fits into the pages the file has; nothing fits here.
        single = client.post(SINGLE, json=items(f"{name}-single", 1)[0], headers=alice.headers)
        assert single.status_code == 503 and "retry-after" in single.headers
        failed += 1
    assert stored(store, alice.user.id) == before  # nothing acknowledged, nothing stored
    health = client.get("/api/health")
    assert health.status_code == 503
    assert health.json()["database"]["status"] == "error"
    assert health.json()["database"]["failed_writes"] == failed
    # One line for the incident: no traceback per request, none from the API's error handler.
    ours = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.name, r.levelname) for r in ours] == [(DB_LOGGER, "WARNING")], [r.getMessage() for r in ours]
    assert reason in ours[0].getMessage() and ours[0].exc_info is None

    caplog.clear()
    fault.clear(store)
    after = client.post(BULK, json=items(f"{name}-after"), headers=alice.headers)
    assert after.status_code == 201
    assert [status for _, status in after.json()["responses"]] == [201] * 25
    assert stored(store, alice.user.id) == before + 25
    assert client.get("/api/health").json()["database"]["status"] == "ok"
    # And one line when it is over.
    (recovered,) = [r for r in caplog.records if r.name == DB_LOGGER]
    assert recovered.levelname == "INFO" and "stores writes again" in recovered.getMessage()


def test_full_disk_fails_the_whole_group_commit_and_nothing_half_done(store: Store) -> None:
    """SQLite rolls the whole transaction back on SQLITE_FULL: then every job of that group commit fails, and
    none runs outside a transaction to be stored while its caller is told it failed."""
    fill_disk(store)
    try:
        # Queued faster than the writer drains them: group commits of several jobs each.
        futures = [store.submit(lambda db, i=i: db.execute(  # type: ignore[misc]
            "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, 0)", (f"fault-{i}", "v" * 3000)))
            for i in range(40)]
        outcomes = [future.exception(timeout=30) for future in futures]
    finally:
        free_disk(store)
    assert all(isinstance(error, StoreUnavailable) for error in outcomes), outcomes
    assert store.reader().execute("SELECT COUNT(*) FROM kv WHERE key LIKE 'fault-%'").fetchone()[0] == 0
    store.write(lambda db: db.execute("INSERT INTO kv (key, value, updated_at) VALUES ('fault-ok', 'v', 0)"))
    assert store.reader().execute("SELECT COUNT(*) FROM kv WHERE key LIKE 'fault-%'").fetchone()[0] == 1


@pytest.mark.usefixtures("cheap_passwords")
def test_dashboard_answers_a_503_page_while_the_database_is_read_only(client: TestClient, store: Store,
                                                                      alice: Account) -> None:
    give_password(store, alice.user.id)
    token = csrf_token(client)
    make_read_only(store)
    try:
        response = client.post("/login", data={"username": "alice", "password": PASSWORD, "_csrf_token": token},
                               follow_redirects=False)
    finally:
        make_writable(store)
    assert response.status_code == 503
    assert "retry-after" in response.headers
    assert "text/html" in response.headers["content-type"]
    assert "read-only" in response.text
    assert login(client, "alice").status_code == 303  # and once it is writable again, the same login works
