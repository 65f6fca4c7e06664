"""The replica feed (StoreBackend.heartbeat_batches) returns exactly the stored values, in id order, however
it reads them: SQLite packs a batch into JSON arrays with REAL columns split into two exact integers, so
times with all 17 significant digits, batch boundaries and the row-by-row fallback are checked against the
plain row reads."""

from __future__ import annotations

import random
import time

import pytest

from hackatime_lite.analytics.replica import Replica
from hackatime_lite.config import Settings
from hackatime_lite.ingest import IngestContext, PreparedBatch
from hackatime_lite.store import StoreBackend
from hackatime_lite.store.records import STORED_COLUMNS
from hackatime_lite.store.sqlite import changes
from hackatime_lite.store.sqlite.store import SQLiteStore

_FEED = ("id", "user_id", "time", "entity", "type", "category", "project", "branch", "language",
         "dependencies", "editor", "operating_system", "machine", "source", "is_write", "lines", "created_at")


def test_feed_batches_equal_stored_rows(store: StoreBackend) -> None:
    rng = random.Random(7)
    user = store.create_user("feeder")
    now = time.time()
    marks_before = store.change_marks()
    items = [{"entity": f"/src/ünï{i}\"\\\n.py", "time": now - rng.uniform(0, 5e6), "project": rng.choice([None, "p"]),
              "is_write": rng.choice([None, True, False]), "lines": rng.choice([None, 0, 2**31 - 1]),
              "dependencies": rng.choice([None, ["a", "b"]])} for i in range(230)]
    items[0]["time"] = float(int(now) - 100)  # an integral time
    PreparedBatch(store, items, IngestContext(user=user, now=now)).insert().result(10)
    up_to = store.change_marks().heartbeat_id
    index = {name: STORED_COLUMNS.index(name) for name in _FEED}
    expected = sorted(tuple(row[index[name]] for name in _FEED) for row in store.heartbeat_rows(user.id, None, None))
    for batch_rows in (1000, 97):  # one batch, and several with the keyset boundary inside the range
        batches = list(store.heartbeat_batches(_FEED, after_id=marks_before.heartbeat_id, up_to_id=up_to,
                                               batch_rows=batch_rows))
        assert all(len(batch) <= batch_rows for batch in batches)
        got = [row for batch in batches for row in batch]
        assert got == expected
        # Exactly the same doubles, not merely equal after rounding.
        assert [repr(row[2]) for row in got] == [repr(row[2]) for row in expected]
        assert [type(value) for value in got[0]] == [type(value) for value in expected[0]]


def test_feed_batches_with_a_blob_column_and_no_rows(store: StoreBackend) -> None:
    user = store.create_user("blobby")
    now = time.time()
    before = store.change_marks().heartbeat_id
    PreparedBatch(store, [{"entity": f"b{i}.py", "time": now - i} for i in range(5)],
                  IngestContext(user=user, now=now)).insert().result(10)
    up_to = store.change_marks().heartbeat_id
    hashes = [row for batch in store.heartbeat_batches(("id", "dedup_hash"), after_id=before, up_to_id=up_to,
                                                        batch_rows=2) for row in batch]
    stored = {row[0]: row[STORED_COLUMNS.index("dedup_hash")] for row in store.heartbeat_rows(user.id, None, None)}
    assert hashes == sorted(stored.items())
    assert list(store.heartbeat_batches(("id", "time"), after_id=up_to, up_to_id=up_to, batch_rows=10)) == []


def _sqlite_read(store: SQLiteStore, columns: tuple[str, ...], after_id: int, up_to_id: int) -> list[tuple]:
    return [row for batch in changes.heartbeat_batches(store.reader(), columns, after_id=after_id, up_to_id=up_to_id,
                                                        batch_rows=1000) for row in batch]


def _feed_read(store: SQLiteStore, columns: tuple[str, ...], after_id: int, up_to_id: int,
               batch_rows: int = 1000) -> list[tuple]:
    return [row for batch in store.heartbeat_batches(columns, after_id=after_id, up_to_id=up_to_id,
                                                     batch_rows=batch_rows) for row in batch]


def test_feed_from_memory_is_what_sqlite_returns(store: StoreBackend) -> None:
    """Rows this process committed are served from memory (recent.py) exactly as SQLite returns them: every
    column (the hash too), an int clock's created_at as the float SQLite gives back, duplicates left out,
    any subset and order of columns, batch boundaries; and only while memory provably holds the whole range."""
    if not isinstance(store, SQLiteStore):
        pytest.skip("the SQLite store's memory of committed rows")
    rng = random.Random(11)
    user = store.create_user("memo")
    now = int(time.time())  # an int clock: created_at bound as an int, REAL in SQLite
    start = store.change_marks().heartbeat_id
    assert _feed_read(store, _FEED, start, start) == []  # the first read turns the memory on
    pool = [{"entity": f"/m/ü{i}.py", "time": now - rng.uniform(0, 9e5), "is_write": rng.choice([None, True]),
             "lines": rng.choice([None, 7]), "dependencies": rng.choice([None, ["x"]])} for i in range(120)]
    for size in (25, 40, 25, 70):
        PreparedBatch(store, [rng.choice(pool) for _ in range(size)],
                      IngestContext(user=user, now=now)).insert().result(10)
    up_to = store.change_marks().heartbeat_id
    served = store._recent.served
    for after in (start, start + 3):  # a read drops the rows below its start: kept in this order
        for columns in (_FEED, STORED_COLUMNS, ("time", "id", "created_at"), ("entity",)):
            expected = _sqlite_read(store, columns, after, up_to)
            got = _feed_read(store, columns, after, up_to, batch_rows=17)
            assert got == expected
            assert [[type(value) for value in row] for row in got] == [[type(value) for value in row] for row in expected]
    assert store._recent.served == served + 8
    # Below the last read's start memory has nothing: SQLite answers, the same rows.
    assert _feed_read(store, _FEED, start, up_to) == _sqlite_read(store, _FEED, start, up_to)
    assert store._recent.served == served + 8
    assert any(isinstance(row[2], float) for row in _feed_read(store, ("time", "id", "created_at"), start + 3, up_to))


def test_feed_memory_steps_aside_after_a_delete_or_an_import(store: StoreBackend) -> None:
    """A delete (tombstones moved) or rows inserted another way (an import) make memory answer nothing for the
    ranges it cannot vouch for; those reads come from SQLite, and later inserts are served from memory again."""
    if not isinstance(store, SQLiteStore):
        pytest.skip("the SQLite store's memory of committed rows")
    user = store.create_user("steps")
    now = time.time()
    start = store.change_marks().heartbeat_id
    _feed_read(store, _FEED, start, start)

    def insert(offset: int, count: int = 10) -> None:
        items = [{"entity": f"s{offset + i}.py", "time": now - 5000 + offset + i} for i in range(count)]
        PreparedBatch(store, items, IngestContext(user=user, now=now)).insert().result(10)

    def check(after: int, from_memory: bool) -> int:
        up_to = store.change_marks().heartbeat_id
        served = store._recent.served
        assert _feed_read(store, _FEED, after, up_to) == _sqlite_read(store, _FEED, after, up_to)
        assert store._recent.served == served + from_memory
        return up_to

    insert(0)
    insert(10)
    mark = check(start, True)
    store.delete_heartbeats(user.id, start=now - 5000, end=now - 4995)  # five rows of memory are gone
    insert(20)
    mark = check(start, False)
    insert(30)  # a fresh coverage begins with this insert
    mark = check(mark, True)
    batch = PreparedBatch(store, [{"entity": "imported.py", "time": now - 100}], IngestContext(user=user, now=now))
    store.import_heartbeats(batch.rows)
    insert(40)
    mark = check(mark, False)
    insert(50)
    check(mark, True)


def test_replica_synced_from_memory_holds_the_stored_rows(store: StoreBackend, settings: Settings) -> None:
    """End to end: a replica syncing after every ingested batch (and a delete between) gets its new rows from
    memory, and holds exactly the store's rows and coding time afterwards."""
    if not isinstance(store, SQLiteStore):
        pytest.skip("the SQLite store's memory of committed rows")
    rng = random.Random(5)
    users = [store.create_user(f"r{i}") for i in range(3)]
    now = time.time()
    with Replica(store, settings) as replica:
        replica.sync()
        served = store._recent.served
        for step in range(8):
            for user in rng.sample(users, 2):
                items = [{"entity": f"/r/{rng.randint(0, 30)}.py", "time": now - 7200 + step * 600 + rng.uniform(0, 590),
                          "project": rng.choice(["a", "b"])} for _ in range(rng.randint(1, 25))]
                PreparedBatch(store, items, IngestContext(user=user, now=now)).insert().result(10)
            if step == 4:
                store.delete_heartbeats(users[0].id, start=now - 7200, end=now - 6000)
            replica.sync()
        assert store._recent.served >= served + 6  # the syncs after the delete's one read from memory
        columns = ("id", "user_id", "time", "entity", "project")
        index = [STORED_COLUMNS.index(name) for name in columns]
        stored = sorted(tuple(row[i] for i in index) for user in users
                        for row in store.heartbeat_rows(user.id, None, None))
        held = sorted(replica.run(lambda c: c.execute(f"SELECT {', '.join(columns)} FROM heartbeats").fetchall(),
                                  sync=False))
        assert held == stored
