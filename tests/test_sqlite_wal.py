"""WAL checkpoints off the writer's commits (store/sqlite/wal.py): a writer connection opened without automatic
checkpoints leaves the whole log to a WalCheckpointer thread, which copies it while the writer keeps committing."""

from __future__ import annotations

import time
from pathlib import Path

from hackatime_lite.store.sqlite.db import connect
from hackatime_lite.store.sqlite.wal import WalCheckpointer


def test_the_writer_leaves_checkpoints_to_the_thread(tmp_path: Path) -> None:
    path = tmp_path / "wal.sqlite3"
    writer = connect(path, autocheckpoint=False)
    assert writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    assert connect(tmp_path / "other.sqlite3").execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 4000
    writer.execute("CREATE TABLE t (v BLOB)")
    for _ in range(200):
        writer.execute("INSERT INTO t VALUES (randomblob(3000))")  # one commit each
    checkpointer = WalCheckpointer(path, interval=0.01).start()
    try:
        deadline = time.monotonic() + 30
        while checkpointer.checkpoints == 0:  # waits for readiness, bounded
            assert time.monotonic() < deadline, "the thread never checkpointed"
            time.sleep(0.01)
        for _ in range(50):  # commits go on beside it
            writer.execute("INSERT INTO t VALUES (randomblob(3000))")
    finally:
        checkpointer.stop()
    reader = connect(path, readonly=True)
    assert reader.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 250
    # What the thread left is copied by one more checkpoint: the log holds nothing older.
    busy, frames, copied = connect(path, autocheckpoint=False).execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and frames == copied
    writer.close()
    reader.close()
