"""Ids and `created` flags of the insert path against a plain-Python oracle: batches mixing new rows, rows
already stored, duplicates within the batch and batches longer than one INSERT statement (SQLite inserts
first and looks ids up only when something was skipped, so every mix must still name the right ids)."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from typing import Any

import pytest

from hackatime_lite.ingest import IngestContext, PreparedBatch
from hackatime_lite.models import HEARTBEAT_COLUMNS
from hackatime_lite.store import StoreBackend
from hackatime_lite.store.records import STORED_COLUMNS
from hackatime_lite.store.sqlite import heartbeats as sqlite_heartbeats
from hackatime_lite.store.sqlite.store import SQLiteStore

_HASH = HEARTBEAT_COLUMNS.index("dedup_hash")
_ENTITY = HEARTBEAT_COLUMNS.index("entity")
_STORED_ID, _STORED_ENTITY = STORED_COLUMNS.index("id"), STORED_COLUMNS.index("entity")


def _oracle_check(store: StoreBackend, rng: random.Random, user_id: int, pool: list[dict],
                  known: dict[bytes, int], size: int) -> None:
    items = [rng.choice(pool) for _ in range(size)]
    user = store.get_user(user_id)
    assert user is not None
    batch = PreparedBatch(store, items, IngestContext(user=user, now=time.time()))
    outcomes = batch.insert().result(10)
    # Every pool item has its own entity: the stored id of each, read back independently of the insert.
    stored = {row[_STORED_ENTITY]: row[_STORED_ID] for row in store.heartbeat_rows(user_id, None, None)}
    seen: set[bytes] = set()
    for row, (row_id, created) in zip(batch.rows, outcomes, strict=True):
        row_hash = row[_HASH]
        # New exactly when the hash was stored neither before this batch nor earlier in it.
        assert created == (row_hash not in known and row_hash not in seen)
        assert row_id == stored[row[_ENTITY]]
        if row_hash in known:
            assert row_id == known[row_hash]
        seen.add(row_hash)
    assert len({row_id for row_id, created in outcomes if created}) == sum(created for _, created in outcomes)
    known.update((row[_HASH], stored[row[_ENTITY]]) for row in batch.rows)


def test_insert_ids_match_oracle_for_mixed_batches(store: StoreBackend) -> None:
    rng = random.Random(13)
    user = store.create_user("mixer")
    now = time.time()
    pool = [{"entity": f"f{i}.py", "time": now - 5000 + i} for i in range(700)]
    known: dict[bytes, int] = {}
    for size in (1, 25, 25, 80, 650, 25, 3):
        _oracle_check(store, rng, user.id, pool, known, size)


def test_all_duplicate_batch_after_another_tables_insert(store: StoreBackend) -> None:
    """Nothing inserted: the connection's last insert rowid belongs to another table's row (a new user), and
    must not make an old heartbeat look new."""
    user = store.create_user("again")
    now = time.time()
    items = [{"entity": f"g{i}.py", "time": now - 100 + i} for i in range(5)]
    first = PreparedBatch(store, items, IngestContext(user=user, now=now)).insert().result(10)
    for i in range(3):
        store.create_user(f"filler{i}")  # raises the writer connection's last insert rowid elsewhere
    again = PreparedBatch(store, items, IngestContext(user=user, now=now)).insert().result(10)
    assert again == [(row_id, False) for row_id, _ in first]


def test_requests_queued_together_insert_as_one_with_a_failing_one_alone(store: StoreBackend,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Inserts queued in one group commit run as one statement; ids and `created` flags are those of inserting
    request by request (a heartbeat repeated in a later request is its duplicate), and a request that fails
    (its user deleted meanwhile: a foreign key) fails alone, its neighbours stored."""
    if not isinstance(store, SQLiteStore):
        pytest.skip("the SQLite writer's group commit")
    calls: list[int] = []
    original = sqlite_heartbeats.insert_requests

    def counting(db: Any, requests: list[Any]) -> Any:
        calls.append(len(requests))
        return original(db, requests)

    monkeypatch.setattr(sqlite_heartbeats, "insert_requests", counting)
    alice, bob, gone = (store.create_user(name) for name in ("ann", "ben", "gone"))
    store.delete_user(gone.id)
    now = time.time()
    pool = [{"entity": f"c{i}.py", "time": now - 900 + i} for i in range(40)]
    plan = [(alice, pool[0:10]), (bob, pool[0:10]), (alice, pool[5:15] + pool[14:16]), (gone, pool[0:3]),
            (alice, pool[12:20]), (bob, pool[30:31])]
    gate = threading.Event()
    blocker = store.submit(lambda db: gate.wait(10))  # holds the writer so the inserts queue up behind it
    batches = [PreparedBatch(store, items, IngestContext(user=user, now=now)) for user, items in plan]
    futures = [batch.insert() for batch in batches]
    gate.set()
    blocker.result(10)
    with pytest.raises(sqlite3.IntegrityError):
        futures[3].result(10)
    assert calls[0] == len(plan)  # tried as one, then one by one after the failure
    stored = {(row[STORED_COLUMNS.index("user_id")], row[_STORED_ENTITY]): row[_STORED_ID]
              for user in (alice, bob) for row in store.heartbeat_rows(user.id, None, None)}
    seen: set[bytes] = set()
    for index, (batch, future) in enumerate(zip(batches, futures, strict=True)):
        if index == 3:
            continue
        for row, (row_id, created) in zip(batch.rows, future.result(10), strict=True):
            assert row_id == stored[(batch.ctx.user.id, row[_ENTITY])]
            assert created == (row[_HASH] not in seen)
            seen.add(row[_HASH])
    assert len(stored) == len(seen)
    assert store.heartbeat_rows(gone.id, None, None) == []
