"""The replica feed (StoreBackend.heartbeat_batches) returns exactly the stored values, in id order, however
it reads them: SQLite packs a batch into JSON arrays with REAL columns split into two exact integers, so
times with all 17 significant digits, batch boundaries and the row-by-row fallback are checked against the
plain row reads."""

from __future__ import annotations

import random
import time

from hackatime_lite.ingest import IngestContext, PreparedBatch
from hackatime_lite.store import StoreBackend
from hackatime_lite.store.records import STORED_COLUMNS

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
