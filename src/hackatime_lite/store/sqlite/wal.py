"""WAL checkpoints in a thread of their own, off the writer's commits.

With SQLite's automatic checkpoint (wal_autocheckpoint pages) the commit that takes the log past the threshold
copies it into the database file before it returns: under issue 13's mixed load on the 1M bench data that was one
group commit in sixteen taking 60-170 ms instead of 3 ms, every 0.6-1 s — every bulk request queued behind it
waited, so about a tenth of the time ingest was stalled. In WAL mode a checkpoint needs neither the write lock
nor the readers to stop (it copies the frames every reader has moved past), so this thread runs a PASSIVE
checkpoint every `interval` seconds on its own connection while the writer (its connection opened with
`connect(..., autocheckpoint=False)`) keeps committing; the writer restarts the log from its beginning once a
checkpoint has copied all of it.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Self

log = logging.getLogger(__name__)

# Seconds between checkpoints: the log then holds about a second of commits (a few MB under heavy ingest).
INTERVAL_SECONDS = 1.0


class WalCheckpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` on `path` every `interval` seconds until stopped."""

    def __init__(self, path: Path, interval: float = INTERVAL_SECONDS) -> None:
        self.path = Path(path)
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0  # that copied frames (for tests and benchmarks)

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def checkpoint(self, conn: sqlite3.Connection) -> int:
        """One PASSIVE checkpoint; the frames it copied into the database file."""
        row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        copied = int(row[2]) if row is not None and row[2] is not None and row[2] > 0 else 0
        if copied:
            self.checkpoints += 1
        return copied

    def _run(self) -> None:
        from hackatime_lite.store.sqlite.db import connect  # db.py starts this thread

        conn = connect(self.path, autocheckpoint=False)
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.checkpoint(conn)
                except sqlite3.Error as exc:
                    # A busy or full disk: the writer's next commits still succeed or report it themselves.
                    log.debug("WAL checkpoint of %s skipped: %s", self.path, exc)
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
