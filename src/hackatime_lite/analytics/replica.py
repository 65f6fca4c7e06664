"""The DuckDB replica: a columnar copy of SQLite's heartbeats and the user settings queries need.

SQLite stays the source of truth; this file is a cache that can be deleted at any time. It follows SQLite by
three watermarks kept in the replica's `meta` table, written in the same DuckDB transaction as the rows:
the newest copied heartbeat id (ids are AUTOINCREMENT, never reused), the newest applied tombstone seq
(deletions), and kv `users_version` (any users change). A missing, unreadable or other-version file is
rebuilt from SQLite; so is one whose watermarks are ahead of SQLite (a restored database).

Each row also keeps its successor gap (durations.stored_gap_sql: LEAD per user over (time, id), clamped to
MAX_TIMEOUT). A rebuild computes it for all rows; a sync recomputes it only for the rows a change can reach
(apply_changes), so analytics reads are window-free scans.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np

from hackatime_lite.analytics.durations import (
    MAX_TIMEOUT,
    excluded_sources_sql,
    stored_gap_sql,
    successor_gap_sql,
)
from hackatime_lite.config import Settings
from hackatime_lite.store import Store
from hackatime_lite.store.db import connect as sqlite_connect

log = logging.getLogger(__name__)
T = TypeVar("T")

# Bump when the replica's tables change: an older file is then rebuilt on open.
SCHEMA_VERSION = 2
# Rows per sqlite3 fetchmany → DuckDB insert: large enough to amortise the per-insert overhead.
COPY_BATCH_ROWS = 50_000
# Memory-mapped SQLite reads: measured ≈ +8 % rows/s on a full-table read.
_SQLITE_MMAP_BYTES = 1 << 30
# Bytes 8..11 of every DuckDB database file.
_DUCKDB_MAGIC = b"DUCK"
ProgressCallback = Callable[[int, int], None]

_SCHEMA = (
    "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
    """CREATE TABLE heartbeats (
        id BIGINT NOT NULL,
        user_id INTEGER NOT NULL,
        time DOUBLE NOT NULL,
        entity VARCHAR,
        "type" VARCHAR,
        category VARCHAR,
        project VARCHAR,
        branch VARCHAR,
        language VARCHAR,
        dependencies VARCHAR[],
        editor VARCHAR,
        operating_system VARCHAR,
        machine VARCHAR,
        source VARCHAR,
        is_write BOOLEAN,
        -- durations.stored_gap_sql(): seconds to the next heartbeat of the user, ≤ MAX_TIMEOUT; NULL if last
        gap DOUBLE
    )""",
    """CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username VARCHAR,
        timezone VARCHAR NOT NULL,
        timeout INTEGER NOT NULL,
        duration_mode VARCHAR NOT NULL,
        trust_level VARCHAR NOT NULL,
        leaderboard_opt_out BOOLEAN NOT NULL,
        is_disabled BOOLEAN NOT NULL
    )""",
)
# SQLite columns copied, in replica column order; dependencies stay JSON text until DuckDB parses them.
_SQLITE_COLUMNS = ("id", "user_id", "time", "entity", "type", "category", "project", "branch", "language",
                   "dependencies", "editor", "operating_system", "machine", "source", "is_write")
_STRING_COLUMNS = frozenset(_SQLITE_COLUMNS[3:14])
# A registered numpy batch as replica rows (gap still unknown).
_BATCH_SELECT = (
    "SELECT id, user_id, time, entity, \"type\", category, project, branch, language, "
    "TRY(from_json(dependencies::VARCHAR, '[\"VARCHAR\"]')) AS dependencies, editor, operating_system, machine, "
    "source, is_write::BOOLEAN AS is_write, NULL::DOUBLE AS gap FROM copy_batch"
)
# AUTOINCREMENT high-water marks (sqlite_sequence), not MAX(): deleting the newest row must not look like
# the database going back in time.
_CHANGES_SQL = ("SELECT (SELECT seq FROM sqlite_sequence WHERE name = 'heartbeats'), "
                "(SELECT seq FROM sqlite_sequence WHERE name = 'heartbeat_tombstones'), "
                "(SELECT value FROM kv WHERE key = 'users_version')")


class ReplicaError(RuntimeError):
    """The replica cannot be opened or built (e.g. another process holds its lock); safe to show."""


@dataclass(frozen=True)
class SyncResult:
    copied: int = 0
    deleted: int = 0
    users_refreshed: bool = False
    rebuilt: bool = False


@dataclass(frozen=True)
class _Watermarks:
    heartbeat_id: int
    tombstone_seq: int
    users_version: str

    def meta_rows(self) -> list[tuple[str, str]]:
        return [("heartbeat_id", str(self.heartbeat_id)), ("tombstone_seq", str(self.tombstone_seq)),
                ("users_version", self.users_version)]


class _ReadWriteLock:
    """Many readers or one writer; here the "writer" is whoever swaps the DuckDB connection."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._writing:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._readers:
                self._cond.wait()
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


def _is_lock_conflict(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


def _remove_database_files(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()


def _as_batch(rows: list[tuple[Any, ...]]) -> dict[str, np.ndarray]:
    # One 2-D object array built in C, then contiguous columns: ~3× faster than transposing in Python.
    # Object columns keep None as NULL; DuckDB scans them without a per-row Python call.
    table = np.array(rows, dtype=object)
    batch: dict[str, np.ndarray] = {
        "id": table[:, 0].astype(np.int64),
        "user_id": table[:, 1].astype(np.int32),
        "time": table[:, 2].astype(np.float64),
    }
    for index, name in enumerate(_SQLITE_COLUMNS[3:], start=3):
        batch[name] = np.ascontiguousarray(table[:, index])
    return batch


def fetch_batches(source: sqlite3.Connection, *, after_id: int, up_to_id: int) -> Iterator[dict[str, np.ndarray]]:
    """SQLite heartbeats with after_id < id <= up_to_id, as numpy column batches of ≤ COPY_BATCH_ROWS rows."""
    cursor = source.cursor()
    cursor.row_factory = None
    cursor.execute(f"SELECT {', '.join(_SQLITE_COLUMNS)} FROM heartbeats WHERE id > ? AND id <= ? ORDER BY id",
                   (after_id, up_to_id))
    try:
        while rows := cursor.fetchmany(COPY_BATCH_ROWS):
            yield _as_batch(rows)
    finally:
        cursor.close()


def _prefetched(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield from `items` while a background thread already produces the next ones: the SQLite fetch then
    overlaps DuckDB's insert (measured ≈ +15 % rows/s on a rebuild)."""
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stopping = threading.Event()
    finished = object()

    def produce() -> None:
        try:
            for item in items:
                while not stopping.is_set():
                    try:
                        slots.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stopping.is_set():
                    return
            slots.put(finished)
        except BaseException as exc:  # re-raised in the consuming thread
            slots.put(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="replica-copy", daemon=True)
    worker.start()
    try:
        while (item := slots.get()) is not finished:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stopping.set()
        while worker.is_alive():
            with contextlib.suppress(queue.Empty):
                slots.get(timeout=0.1)
        worker.join()


def copy_heartbeats(source: sqlite3.Connection, target: duckdb.DuckDBPyConnection, *, after_id: int,
                    up_to_id: int, table: str = "heartbeats", on_batch: Callable[[int], None] | None = None) -> int:
    """Copy SQLite heartbeats with after_id < id <= up_to_id into the DuckDB `table`; returns rows copied.

    The one copy route: sqlite3 fetchmany → numpy arrays → INSERT … SELECT from the registered arrays
    (executemany into DuckDB is ~1,000× slower).
    """
    copied = 0
    for batch in _prefetched(fetch_batches(source, after_id=after_id, up_to_id=up_to_id)):
        target.register("copy_batch", batch)
        try:
            target.execute(f"INSERT INTO {table} {_BATCH_SELECT}")
        finally:
            target.unregister("copy_batch")
        rows = len(batch["id"])
        copied += rows
        if on_batch is not None:
            on_batch(rows)
    return copied


def stage_heartbeats(source: sqlite3.Connection, target: duckdb.DuckDBPyConnection, *, after_id: int,
                     up_to_id: int) -> tuple[int, str | None]:
    """Make new heartbeats readable as `staged`; returns (rows, "view" | "table" | None).

    The usual sync has one batch: it stays a view over the registered arrays (no extra copy); more rows
    go through copy_heartbeats into a temporary table.
    """
    batches = fetch_batches(source, after_id=after_id, up_to_id=up_to_id)
    first = next(batches, None)
    if first is None:
        return 0, None
    second = next(batches, None)
    if second is None:
        target.register("copy_batch", first)
        target.execute(f"CREATE TEMP VIEW staged AS {_BATCH_SELECT}")
        return len(first["id"]), "view"
    batches.close()
    target.execute("CREATE TEMP TABLE staged AS FROM heartbeats LIMIT 0")
    return copy_heartbeats(source, target, after_id=after_id, up_to_id=up_to_id, table="staged"), "table"


def apply_changes(cursor: duckdb.DuckDBPyConnection, touched: dict[int, float], tails: dict[int, float], *,
                  staged: str | None, deleted: bool) -> None:
    """Move the `staged` rows (this sync's new heartbeats) into `heartbeats` and bring stored successor gaps
    up to date, in the caller's transaction.

    `touched[user]` is MAX_TIMEOUT before the user's earliest deleted heartbeat; staged rows add their own.
    `tails[user]` is the time of the user's last heartbeat (the one with gap NULL); it is kept up to date.
    Only rows from the touched time on and the previous last row can get a new gap: an older row's successor
    is unchanged, or was and stays more than MAX_TIMEOUT away (the same clamped value) — unless deletions
    made it the user's last row, which the final step handles. (Gaps are the window's; the
    rows with gap NULL are exactly each user's last row, one per user.) New rows get their gap before they are
    inserted (DuckDB updates rows appended in the same transaction slowly).
    """
    excluded = excluded_sources_sql("h.source")
    arrivals: list[int] = []
    if staged:
        for user_id, first in cursor.execute(
                f"SELECT h.user_id, MIN(h.time) FROM staged h WHERE NOT ({excluded}) GROUP BY 1").fetchall():
            since = first - MAX_TIMEOUT
            touched[user_id] = min(since, touched.get(user_id, since))
            arrivals.append(user_id)
    if touched:
        bounds = touched
        cursor.register("touched", {"user_id": np.array(list(bounds), dtype=np.int32),
                                    "since": np.array(list(bounds.values()), dtype=np.float64)})
        # The constant lower bound lets DuckDB skip row groups by their time zone maps; the join then applies
        # each user's own bound. rowid makes the UPDATE a positional write rather than a join on id.
        new_rows = (f"UNION ALL SELECT NULL, h.id, h.user_id, h.time FROM staged h WHERE NOT ({excluded})"
                    if staged else "")
        cursor.execute(f"""
            CREATE TEMP TABLE fresh_gaps AS
            SELECT rid, id, user_id, time, {successor_gap_sql()} AS gap FROM (
                SELECT h.rowid AS rid, h.id, h.user_id, h.time FROM heartbeats h
                JOIN touched t ON h.user_id = t.user_id
                WHERE h.time >= $lowest AND h.time >= t.since AND NOT ({excluded})
                {new_rows}
            )""", {"lowest": min(bounds.values())})
        cursor.execute("""
            UPDATE heartbeats SET gap = f.gap FROM fresh_gaps f
            WHERE f.rid IS NOT NULL AND heartbeats.rowid = f.rid AND heartbeats.gap IS DISTINCT FROM f.gap""")
        # A previous last row older than the recomputed range now has a successor more than MAX_TIMEOUT
        # later: its clamped gap is exactly MAX_TIMEOUT. Matched by constants so zone maps find it.
        returning = [(user, tails[user]) for user in arrivals if user in tails and tails[user] < bounds[user]]
        if returning:
            names = range(len(returning))
            cursor.execute(
                f"UPDATE heartbeats SET gap = {MAX_TIMEOUT} WHERE gap IS NULL AND NOT ({excluded_sources_sql()}) "
                f"AND time IN ({', '.join(f'$t{i}' for i in names)}) "
                f"AND user_id IN ({', '.join(f'$u{i}' for i in names)})",
                {**{f"t{i}": t for i, (_, t) in enumerate(returning)},
                 **{f"u{i}": u for i, (u, _) in enumerate(returning)}})
        last = dict(cursor.execute("SELECT user_id, time FROM fresh_gaps WHERE gap IS NULL").fetchall())
    if staged:
        gaps = ("LEFT JOIN fresh_gaps f ON f.rid IS NULL AND f.id = s.id" if touched
                else "LEFT JOIN (SELECT NULL::BIGINT AS id, NULL::DOUBLE AS gap) f ON FALSE")
        cursor.execute(f"INSERT INTO heartbeats SELECT s.* EXCLUDE (gap), f.gap FROM staged s {gaps}")
        if staged == "view":
            cursor.execute("DROP VIEW staged")
            cursor.unregister("copy_batch")
        else:
            cursor.execute("DROP TABLE staged")
    if not touched:
        return
    cursor.execute("DROP TABLE fresh_gaps")
    cursor.unregister("touched")
    tails.update(last)
    orphaned = [user for user in touched if user not in last]
    if deleted and orphaned:
        # Deletions took these users' last rows (and everything after their touched time): the newest
        # remaining row becomes the last one.
        cursor.register("orphaned", {"user_id": np.array(orphaned, dtype=np.int32)})
        try:
            newest = dict(cursor.execute(f"""
                SELECT h.user_id, MAX(h.time) FROM heartbeats h
                WHERE h.user_id IN (SELECT user_id FROM orphaned) AND NOT ({excluded}) GROUP BY h.user_id
            """).fetchall())
            cursor.execute(f"""
                UPDATE heartbeats SET gap = NULL WHERE rowid IN (
                    SELECT arg_max(h.rowid, h.id) FROM heartbeats h
                    JOIN (SELECT UNNEST($users) AS user_id, UNNEST($times) AS time) n
                    ON h.user_id = n.user_id AND h.time = n.time WHERE NOT ({excluded}) GROUP BY h.user_id)""",
                           {"users": list(newest), "times": list(newest.values())})
        finally:
            cursor.unregister("orphaned")
        for user in orphaned:
            if user in newest:
                tails[user] = newest[user]
            else:
                tails.pop(user, None)


def last_heartbeat_times(cursor: duckdb.DuckDBPyConnection) -> dict[int, float]:
    """{user: time of the last heartbeat in the stream} — the rows whose stored gap is NULL."""
    return dict(cursor.execute(f"SELECT user_id, MAX(time) FROM heartbeats WHERE gap IS NULL AND NOT "
                               f"({excluded_sources_sql()}) GROUP BY user_id").fetchall())


class Replica:
    """The DuckDB analytics replica of one Store.

    Thread-safe: `sync()` may run from the scheduler while request threads read through `run()` /
    `reading()`; each read gets its own DuckDB cursor on the one connection.
    """

    def __init__(self, store: Store, settings: Settings, path: Path | None = None, *,
                 progress: ProgressCallback | None = None) -> None:
        """Open the replica file, rebuilding it first (reporting to `progress`) if it is missing or unusable."""
        self.store = store
        self.settings = settings
        self.path = Path(path) if path is not None else settings.paths.replica
        self._sync_lock = threading.RLock()
        self._swap = _ReadWriteLock()
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._file_id: tuple[int, int] | None = None
        self._marks = _Watermarks(0, 0, "")
        self._tails: dict[int, float] = {}
        self._sqlite: sqlite3.Connection | None = None
        self._closed = False
        self.last_sync_at: float | None = None
        self.last_sync_ms: float | None = None
        self.last_error: str | None = None
        self.rebuilds = 0
        with self._sync_lock:
            self._open_or_rebuild(progress)

    # -- public ---------------------------------------------------------------------------------
    def sync(self) -> SyncResult:
        """Bring the replica up to date with SQLite; costs one tiny SQLite query when nothing changed.

        Also notices a deleted, replaced or overwritten replica file and rebuilds (or reopens) it.
        """
        with self._sync_lock:
            self._ensure_open()
            started = time.perf_counter()
            rebuilt = False
            problem = self._file_problem()
            if problem is not None:
                log.warning("analytics replica %s; recovering", problem)
                rebuilt = self._recover()
            try:
                try:
                    result = self._sync_changes()
                except duckdb.Error as exc:
                    if not self._looks_broken(exc):
                        raise
                    log.warning("analytics replica failed during sync (%s); rebuilding", exc)
                    self._rebuild_locked(None)
                    result = SyncResult(rebuilt=True)
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"[:200]
                raise
            self.last_sync_at = time.time()
            self.last_sync_ms = (time.perf_counter() - started) * 1000
            self.last_error = None
            if rebuilt:
                return SyncResult(result.copied, result.deleted, result.users_refreshed, rebuilt=True)
            return result

    def rebuild(self, progress: ProgressCallback | None = None) -> int:
        """Rebuild the replica from SQLite into a new file and swap it in; returns the rows copied.

        Reads keep using the old file until the swap. `progress(done, total)` is called per batch.
        """
        with self._sync_lock:
            self._ensure_open()
            return self._rebuild_locked(progress)

    def run(self, fn: Callable[[duckdb.DuckDBPyConnection], T], *, sync: bool = True) -> T:
        """Call fn(cursor) on a fresh DuckDB cursor (after sync() unless sync=False).

        If DuckDB reports a broken file (I/O or internal error), the replica is rebuilt and fn runs once more.
        """
        if sync:
            self.sync()
        try:
            return self._run_once(fn)
        except duckdb.Error as exc:
            if not self._looks_broken(exc):
                raise
            log.warning("analytics replica read failed (%s); rebuilding", exc)
            with self._sync_lock:
                self._rebuild_locked(None)
            return self._run_once(fn)

    @contextlib.contextmanager
    def reading(self, *, sync: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB cursor for ad-hoc reads (no automatic rebuild-and-retry; prefer run())."""
        if sync:
            self.sync()
        with self._swap.shared():
            cursor = self._connection().cursor()
            try:
                yield cursor
            finally:
                cursor.close()

    def health(self) -> dict[str, object]:
        """For /api/health: does not sync, so it stays cheap under load."""
        if self._closed or self._conn is None:
            return {"status": "error", "error": "closed"}
        if self.last_error:
            return {"status": "error", "error": self.last_error}
        return {"status": "ok", "heartbeat_watermark": self._marks.heartbeat_id,
                "last_sync_ms": None if self.last_sync_ms is None else round(self.last_sync_ms, 2),
                "last_sync_age_s": None if self.last_sync_at is None else round(time.time() - self.last_sync_at, 1),
                "rebuilds": self.rebuilds}

    @property
    def heartbeat_watermark(self) -> int:
        return self._marks.heartbeat_id

    def heartbeat_rows(self) -> int:
        """How many heartbeats the replica holds (no sync)."""
        return self.run(lambda cursor: cursor.execute("SELECT COUNT(*) FROM heartbeats").fetchone()[0], sync=False)

    def close(self) -> None:
        with self._sync_lock, self._swap.exclusive():
            self._closed = True
            self._close_connection()
            if self._sqlite is not None:
                self._sqlite.close()
                self._sqlite = None

    def __enter__(self) -> Replica:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads ----------------------------------------------------------------------------------
    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            raise ReplicaError("the analytics replica is closed")
        return self._conn

    def _ensure_open(self) -> None:
        if self._closed:
            raise ReplicaError("the analytics replica is closed")

    def _run_once(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        with self._swap.shared():
            cursor = self._connection().cursor()
            try:
                return fn(cursor)
            finally:
                cursor.close()

    @staticmethod
    def _looks_broken(exc: duckdb.Error) -> bool:
        return isinstance(exc, duckdb.IOException | duckdb.InternalException | duckdb.FatalException
                          | duckdb.SerializationException)

    # -- sync -----------------------------------------------------------------------------------
    def _source_marks(self, conn: sqlite3.Connection) -> _Watermarks:
        max_id, max_seq, users_version = conn.execute(_CHANGES_SQL).fetchone()
        return _Watermarks(int(max_id or 0), int(max_seq or 0), str(users_version or ""))

    def _source(self) -> sqlite3.Connection:
        """The replica's own read-only SQLite connection (used under the sync lock only)."""
        if self._sqlite is None:
            self._sqlite = sqlite_connect(self.store.path, readonly=True)
            self._sqlite.execute(f"PRAGMA mmap_size = {_SQLITE_MMAP_BYTES}")
        return self._sqlite

    def _sync_changes(self) -> SyncResult:
        source = self._source()
        wanted = self._source_marks(source)
        have = self._marks
        if wanted == have:
            return SyncResult()
        if wanted.heartbeat_id < have.heartbeat_id or wanted.tombstone_seq < have.tombstone_seq:
            log.warning("analytics replica is ahead of the database (restored backup?); rebuilding")
            self._rebuild_locked(None)
            return SyncResult(rebuilt=True)
        with self._swap.shared():
            cursor = self._connection().cursor()
            try:
                cursor.execute("BEGIN TRANSACTION")
                try:
                    touched: dict[int, float] = {}
                    deleted = self._apply_tombstones(source, cursor, have.tombstone_seq, wanted.tombstone_seq,
                                                     touched)
                    copied, staged = stage_heartbeats(source, cursor, after_id=have.heartbeat_id,
                                                      up_to_id=wanted.heartbeat_id)
                    tails = dict(self._tails)
                    apply_changes(cursor, touched, tails, staged=staged, deleted=deleted > 0)
                    refresh = wanted.users_version != have.users_version
                    if refresh:
                        self._refresh_users(source, cursor)
                    self._write_marks(cursor, wanted)
                    cursor.execute("COMMIT")
                except BaseException:
                    cursor.execute("ROLLBACK")
                    raise
            finally:
                cursor.close()
        self._marks, self._tails = wanted, tails
        return SyncResult(copied=copied, deleted=deleted, users_refreshed=refresh)

    @staticmethod
    def _apply_tombstones(source: sqlite3.Connection, cursor: duckdb.DuckDBPyConnection, after: int,
                          up_to: int, touched: dict[int, float]) -> int:
        """Delete tombstoned rows; `touched` gets, per user, MAX_TIMEOUT before the first deleted one."""
        if up_to <= after:
            return 0
        ids = [row[0] for row in source.execute(
            "SELECT heartbeat_id FROM heartbeat_tombstones WHERE seq > ? AND seq <= ?", (after, up_to))]
        if not ids:
            return 0
        cursor.register("gone", {"id": np.array(ids, dtype=np.int64)})
        try:
            found = cursor.execute(f"SELECT rowid, user_id, time, {excluded_sources_sql()} FROM heartbeats "
                                   "WHERE id IN (SELECT id FROM gone)").fetchall()
        finally:
            cursor.unregister("gone")
        if not found:
            return 0
        cursor.register("gone_rows", {"rid": np.array([row[0] for row in found], dtype=np.int64)})
        try:
            cursor.execute("DELETE FROM heartbeats WHERE rowid IN (SELECT rid FROM gone_rows)")
        finally:
            cursor.unregister("gone_rows")
        for _, user_id, time_, excluded in found:
            if not excluded:
                since = time_ - MAX_TIMEOUT
                touched[user_id] = min(since, touched.get(user_id, since))
        return len(found)

    def _refresh_users(self, source: sqlite3.Connection, cursor: duckdb.DuckDBPyConnection) -> None:
        rows = source.execute(
            "SELECT id, username, timezone, timeout, duration_mode, trust_level, leaderboard_opt_out, is_disabled "
            "FROM users").fetchall()
        cursor.execute("DELETE FROM users")
        if not rows:
            return
        defaults = (self.settings.default_timeout, self.settings.default_mode)
        columns = list(zip(*rows, strict=True))
        cursor.register("user_rows", {
            "id": np.array(columns[0], dtype=np.int32),
            "username": np.array(columns[1], dtype=object),
            "timezone": np.array([tz or "UTC" for tz in columns[2]], dtype=object),
            "timeout": np.array([t if t is not None else defaults[0] for t in columns[3]], dtype=np.int32),
            "duration_mode": np.array([m or defaults[1] for m in columns[4]], dtype=object),
            "trust_level": np.array(columns[5], dtype=object),
            "leaderboard_opt_out": np.array([bool(v) for v in columns[6]], dtype=bool),
            "is_disabled": np.array([bool(v) for v in columns[7]], dtype=bool),
        })
        try:
            cursor.execute("INSERT INTO users SELECT * FROM user_rows")
        finally:
            cursor.unregister("user_rows")

    def _defaults_text(self) -> str:
        return f"{self.settings.default_timeout}/{self.settings.default_mode}"

    def _write_marks(self, cursor: duckdb.DuckDBPyConnection, marks: _Watermarks) -> None:
        rows = [*marks.meta_rows(), ("schema_version", str(SCHEMA_VERSION)), ("defaults", self._defaults_text())]
        cursor.execute("INSERT OR REPLACE INTO meta SELECT UNNEST($keys), UNNEST($values)",
                       {"keys": [k for k, _ in rows], "values": [v for _, v in rows]})

    # -- open / rebuild -------------------------------------------------------------------------
    def _open_or_rebuild(self, progress: ProgressCallback | None) -> None:
        reason = self._try_open()
        if reason is not None:
            log.warning("analytics replica %s: %s; rebuilding from the database", self.path, reason)
            self._rebuild_locked(progress)

    def _try_open(self) -> str | None:
        """Open the existing file; returns why it cannot be used (then nothing is left open), or None."""
        if not self.path.exists():
            return "missing"
        try:
            conn = duckdb.connect(str(self.path))
        except duckdb.Error as exc:
            if _is_lock_conflict(exc):
                raise ReplicaError(f"the analytics replica {self.path} is in use by another process") from exc
            return f"unreadable ({type(exc).__name__})"
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("schema_version") != str(SCHEMA_VERSION):
                raise ValueError(f"schema version {meta.get('schema_version')!r}, expected {SCHEMA_VERSION}")
            marks = _Watermarks(int(meta["heartbeat_id"]), int(meta["tombstone_seq"]), meta["users_version"])
            tails = last_heartbeat_times(conn)
        except (duckdb.Error, ValueError, KeyError) as exc:
            conn.close()
            return f"unusable ({exc})"
        if meta.get("defaults") != self._defaults_text():
            # Server defaults changed: users' effective timeout/mode must be recomputed.
            marks = _Watermarks(marks.heartbeat_id, marks.tombstone_seq, "")
        self._install(conn, marks, tails)
        return None

    def _install(self, conn: duckdb.DuckDBPyConnection, marks: _Watermarks,
                 tails: dict[int, float] | None = None) -> None:
        stat = self.path.stat()
        self._tails = last_heartbeat_times(conn) if tails is None else tails
        self._conn, self._marks, self._file_id = conn, marks, (stat.st_dev, stat.st_ino)

    def _close_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(duckdb.Error):
                self._conn.close()
            self._conn = None

    def _file_problem(self) -> str | None:
        """Why the open file can no longer be trusted: deleted, replaced, or overwritten with garbage."""
        try:
            stat = self.path.stat()
            with self.path.open("rb") as handle:
                head = handle.read(12)
        except FileNotFoundError:
            return "file is missing"
        if self._file_id != (stat.st_dev, stat.st_ino):
            return "file was replaced"
        if head[8:12] != _DUCKDB_MAGIC:
            return "file is corrupt"
        return None

    def _recover(self) -> bool:
        """Reopen a file replaced by another process's rebuild, else rebuild; True if rebuilt."""
        with self._swap.exclusive():
            self._close_connection()
        reason = self._try_open()
        if reason is None:
            return False
        log.warning("analytics replica %s; rebuilding", reason)
        self._rebuild_locked(None)
        return True

    def _rebuild_locked(self, progress: ProgressCallback | None) -> int:
        started = time.perf_counter()
        staging = self.path.with_name(f"{self.path.name}.rebuild-{os.getpid()}-{threading.get_ident()}")
        _remove_database_files(staging)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite_connect(self.store.path, readonly=True)
        source.execute(f"PRAGMA mmap_size = {_SQLITE_MMAP_BYTES}")
        try:
            marks = self._source_marks(source)
            total = 0
            if progress is not None:
                # Ids are never reused, so this over-counts only by deleted rows; COUNT(*) costs seconds at 10M.
                lowest = source.execute("SELECT MIN(id) FROM heartbeats").fetchone()[0] or 1
                total = max(0, marks.heartbeat_id - lowest + 1)
                progress(0, total)
            target = duckdb.connect(str(staging))
            try:
                copied = self._fill(source, target, marks, progress, total)
                target.execute("CHECKPOINT")
            finally:
                target.close()
        except BaseException:
            _remove_database_files(staging)
            raise
        finally:
            source.close()
        with self._swap.exclusive():
            self._close_connection()
            _remove_database_files(self.path)
            os.replace(staging, self.path)
            self._install(duckdb.connect(str(self.path)), marks)
        self.rebuilds += 1
        elapsed = time.perf_counter() - started
        log.info("analytics replica rebuilt: %d heartbeats in %.1f s", copied, elapsed)
        return copied

    def _fill(self, source: sqlite3.Connection, target: duckdb.DuckDBPyConnection, marks: _Watermarks,
              progress: ProgressCallback | None, total: int) -> int:
        for statement in _SCHEMA:
            target.execute(statement)
        unsorted = _SCHEMA[1].replace("CREATE TABLE heartbeats", "CREATE TEMP TABLE heartbeats_unsorted")
        target.execute(unsorted)
        done = 0

        def advance(rows: int) -> None:
            nonlocal done
            done += rows
            if progress is not None:
                progress(done, total)

        copied = copy_heartbeats(source, target, after_id=0, up_to_id=marks.heartbeat_id,
                                 table="heartbeats_unsorted", on_batch=advance)
        if progress is not None:
            progress(copied, copied)
        # Physically sorted by (user, time, id): per-user range reads touch few row groups.
        target.execute(f"INSERT INTO heartbeats SELECT * REPLACE ({stored_gap_sql()} AS gap) "
                       "FROM heartbeats_unsorted ORDER BY user_id, time, id")
        target.execute("DROP TABLE heartbeats_unsorted")
        self._refresh_users(source, target)
        self._write_marks(target, marks)
        return copied
