"""The DuckDB replica of the store: the object every analytics read goes through. It decides when to sync,
rebuild or reopen, and keeps reads and file swaps apart; the work itself is in replica_file (the file),
replica_copy (rows from the store) and replica_gaps (stored successor gaps).

The store stays the source of truth; the file is a cache that can be deleted at any time. It follows the
store by three watermarks (StoreBackend.change_marks) kept in the file's `meta` table, written in the same
DuckDB transaction as the rows: the newest copied heartbeat id (ids are never reused), the newest applied
tombstone seq (deletions), and the users version (any users change). A missing, unreadable or other-version
file is rebuilt from the store; so is one whose watermarks are ahead of the store (a restored database).

A damaged file heals itself: a file deleted, truncated or with its header overwritten is noticed by the next
sync (a stat and a 12-byte read), and any DuckDB error that means damage (a checksum mismatch, a block past the
end, an I/O or deserialization error; replica_file.looks_broken) during a read or a sync rebuilds the file and
runs that read once more. While a rebuild cannot be made (a full disk), reads raise ReplicaUnavailable (HTTP
503) and the rebuild is retried after a pause; health() says which of this is going on.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb

from hackatime_lite.analytics import (
    day_totals_memory,
    memory,
    replica_copy,
    replica_file,
    replica_gaps,
    replica_rollups,
)
from hackatime_lite.analytics.day_totals_memory import DayTotals, DayTotalsCache
from hackatime_lite.analytics.durations import excluded_sources_sql
from hackatime_lite.analytics.replica_file import ReplicaError, ReplicaUnavailable
from hackatime_lite.analytics.user_rows import (
    UserRows,
    UserRowsCache,
    Version,
    Window,
    change_windows,
    exact_or_coarse,
    load_user_rows,
    merged_windows,
)
from hackatime_lite.config import Settings
from hackatime_lite.store import StoreBackend
from hackatime_lite.store.records import ChangeMarks

__all__ = ["ProgressCallback", "Replica", "ReplicaError", "ReplicaUnavailable", "SyncResult"]

log = logging.getLogger(__name__)
T = TypeVar("T")
ProgressCallback = Callable[[int, int], None]
# Compaction (compact()) rewrites the tables in (user, time) order once syncs appended this many heartbeats, or
# a tenth of the table if that is more, or rewrote this many rollup rows: per-user reads then prune row groups
# again (a sync's rows land unsorted at the end, where every user's read must scan them).
COMPACT_MIN_ROWS = 50_000
COMPACT_MIN_ROLLUP_ROWS = 200_000
# Entries in the per-user read cache (Replica.cached_read: today's status bar, per user and filters).
READ_CACHE_ENTRIES = 2048
# While syncs write, the replica's maintenance thread gives glibc's free heap pages back at most this often
# (analytics/memory.trim; a few ms each).
TRIM_SECONDS = 5.0
# Per user, the windows of row times each of their last this many change counters touched (user_rows re-reads
# only those windows of an entry that many syncs behind; one further behind is read whole).
CHANGE_WINDOWS_KEPT = 64


@dataclass(frozen=True)
class SyncResult:
    copied: int = 0
    deleted: int = 0
    users_refreshed: bool = False
    rebuilt: bool = False
    rollups_written: int = 0


def _newer(held: Version, loaded: Version) -> bool:
    """Whether the entry held is of a later version of the same file and rules than the one just loaded (two
    loads of different versions can finish out of order)."""
    return ((held.generation, held.users_version) == (loaded.generation, loaded.users_version)
            and held.counter > loaded.counter)


class _Broken(Exception):
    """A read found the file damaged; `generation` tells which file it read (see Replica._heal)."""

    def __init__(self, error: duckdb.Error, generation: int) -> None:
        super().__init__(str(error))
        self.error, self.generation = error, generation


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


class Replica:
    """The DuckDB analytics replica of one store.

    Thread-safe: `sync()` may run from the scheduler while request threads read through `run()`; each read
    gets its own DuckDB cursor on the one connection.
    """

    def __init__(self, store: StoreBackend, settings: Settings, path: Path | None = None, *,
                 progress: ProgressCallback | None = None) -> None:
        """Open the replica file, rebuilding it first (reporting to `progress`) if it is missing or unusable."""
        self.store = store
        self.settings = settings
        self.path = Path(path) if path is not None else settings.paths.replica
        self._sync_lock = threading.RLock()
        # Syncs begun, and the number of the last one that succeeded (see sync(): coalescing).
        self._syncs_begun = 0
        self._synced_through = 0
        self._swap = _ReadWriteLock()
        self._conn: duckdb.DuckDBPyConnection | None = None
        # Each reading thread's cursor on the open file (_read_cursor).
        self._reading = threading.local()
        self._file_id: replica_file.FileIdentity | None = None
        self._marks = ChangeMarks(0, 0, "")
        self._tails: dict[int, float] = {}
        self._closed = False
        self.last_sync_at: float | None = None
        self.last_sync_ms: float | None = None
        self.last_error: str | None = None
        self.rebuilds = 0
        # Told, after a sync committed, which users' heartbeats it added or removed (the live dashboards learn
        # of other nodes' heartbeats this way). Runs under the sync lock: it must only signal, never read.
        self.on_change: Callable[[set[int]], None] | None = None
        # Bumped by every file installed: a failed read's file is told from one another thread rebuilt since.
        self._generation = 0
        # The file's size after our last write: a smaller file was truncated behind our back.
        self._file_size = 0
        # Damage a read or sync found that no rebuild has repaired yet (the file is dropped at close).
        self._damage: str | None = None
        self._rebuilding_since: float | None = None
        # Failed repairs in a row, and when the next may be tried: a full disk must not cost a full rebuild
        # attempt (and a log line) per read. `heal_pause` is the wait in seconds (tests shorten it).
        self.heal_pause: float = ReplicaUnavailable.retry_after
        self._heal_failures = 0
        self._next_heal_at = 0.0
        # Whole local days inside a query's range come from the rollups (False: every figure from raw rows; for
        # benchmarks and tests that compare both paths).
        self.use_rollups = True
        # Heartbeat rows appended, and rollup rows rewritten, since the file was last sorted (rebuild/compact).
        self._unsorted_rows = 0
        self._rollup_churn = 0
        self.limits = replica_file.connection_limits(settings.replica_memory_limit, settings.replica_threads)
        # The file is checkpointed once its write-ahead log passes this (checkpoint_if_due), by a thread of the
        # replica's own (_start_checkpoint) that a sync starts when the log has grown past it.
        self.checkpoint_wal_bytes = int(settings.replica_checkpoint_mb * 1024 * 1024)
        self._checkpointer: threading.Thread | None = None
        self.checkpoints = 0
        self._trimmed_at = time.monotonic()
        # Every process that serves reads holds a replica: its threads allocate from here on (analytics/memory.py).
        memory.limit_heaps(settings.malloc_arena_max)
        # {user: the zone their rollup days are in}, as of the last sync: where a query's whole days begin. A
        # read checks it against the users table in the same statement (rollup_reads), so a zone change
        # committed meanwhile is never half seen.
        self._user_zones: dict[int, str] = {}
        # {user: (zone, timeout, mode)} as the replica's users table holds them (None: the defaults).
        self._rules: dict[int, tuple[str, int, str]] = {}
        # Whether rollup_pending holds days a deferring sync left to recompute (see sync()), and since when.
        self._rollups_pending = False
        self._pending_since: float | None = None
        # The (user, day number) pairs this process noted in rollup_pending since they were last recomputed.
        self._noted_pending: set[tuple[int, int]] = set()
        # Read cache (cached_read): {key: (version, value)}, least recently used first. A version is (file
        # generation, users version, the user's change counter); a sync bumps the counter of every user whose
        # stream rows it added, removed or re-gapped, so an entry is never served after that user's write.
        self._user_changes: dict[int, int] = {}
        self._read_cache: OrderedDict[Hashable, tuple[tuple[int, str, int], object]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.cache_hits = 0
        # Per-user reads from memory (user_rows): users' counted rows as numpy columns, kept current by the
        # change counters above and {user: {counter: windows of the row times that sync changed}}. False: every read
        # through DuckDB (tests and benchmarks that compare both paths).
        self.use_memory = True
        self.user_memory = UserRowsCache()
        # {user: (version, its load under way)}: a thread that needs the version another is loading waits for it.
        self._loading: dict[int, tuple[Version, Future[UserRows | None]]] = {}
        self._change_windows: dict[int, dict[int, tuple[Window, ...]]] = {}
        # Every user's daily totals from memory (day_totals_memory), versioned by the count of write
        # transactions and files installed: any change to the day_totals table bumps it.
        self.day_totals_memory = DayTotalsCache()
        self._writes = 0
        # Syncs whose gaps were computed in numpy, in order or interleaved (replica_copy.append_new_rows; for tests).
        self.numpy_syncs = 0
        with self._sync_lock:
            self._open_or_rebuild(progress)

    # -- public ---------------------------------------------------------------------------------
    def sync(self, *, defer_rollups: bool = False) -> SyncResult:
        """Bring the replica up to date with the store; costs one tiny store query when nothing changed.

        Also notices a deleted, replaced or overwritten replica file and rebuilds (or reopens) it.
        `defer_rollups` (a per-user read from memory, which reads no rollups): the days whose rollups the new
        rows change are noted in the file's rollup_pending table instead of recomputed; the next sync without
        it, or any read through run(), recomputes them first — a rollup read never sees a stale day.
        """
        # Coalescing (issue 13, mixed load): the syncs begun so far, read before waiting for the lock. A sync
        # that began after this call did (it read the store's marks later) and succeeded while this call waited
        # has copied everything this call must see, so a read queued behind it does not sync again.
        ticket = self._syncs_begun
        with self._sync_lock:
            self._ensure_open()
            if self._synced_through > ticket and (defer_rollups or not self._rollups_pending):
                return SyncResult()
            self._syncs_begun += 1
            begun = self._syncs_begun
            started = time.perf_counter()
            rebuilt = False
            try:
                problem = "is not open" if self._conn is None else \
                    replica_file.file_problem(self.path, self._file_id, self._file_size)
                if problem is not None:
                    rebuilt = self._recover(problem)
                try:
                    # Compaction is the replica_compact job's, never a read's: a read must not wait for a rewrite.
                    result = self._sync_changes(defer_rollups=defer_rollups)
                except duckdb.Error as exc:
                    if not replica_file.looks_broken(exc):
                        raise
                    self._heal_locked(f"failed during sync ({exc})")
                    result = SyncResult(rebuilt=True)
            except Exception as exc:
                if not (isinstance(exc, ReplicaUnavailable) and self.last_error):  # keeps the repair's cause
                    self.last_error = f"{type(exc).__name__}: {exc}"[:200]
                raise
            self.last_sync_at = time.time()
            self.last_sync_ms = (time.perf_counter() - started) * 1000
            self.last_error = None
            self._synced_through = begun
            if result.copied or result.deleted or result.users_refreshed or result.rollups_written:
                self._start_checkpoint()  # a write may have taken the log past the threshold
            if rebuilt:
                return SyncResult(result.copied, result.deleted, result.users_refreshed, rebuilt=True)
            return result

    def rebuild(self, progress: ProgressCallback | None = None) -> int:
        """Rebuild the replica from the store into a new file and swap it in; returns the rows copied.

        Reads keep using the old file until the swap. `progress(done, total)` is called per batch.
        """
        with self._sync_lock:
            self._ensure_open()
            copied = self._rebuild_locked(progress)
            self._heal_failures, self.last_error = 0, None  # a repair is no longer pending
            return copied

    def run(self, fn: Callable[[duckdb.DuckDBPyConnection], T], *, sync: bool = True) -> T:
        """Call fn(cursor) on a fresh DuckDB cursor (after sync() unless sync=False; with sync=False, rollups a
        deferring sync left pending are still recomputed first, since fn may read them).

        If DuckDB reports a damaged file (replica_file.looks_broken), the replica is rebuilt and fn runs once
        more; ReplicaUnavailable when no usable file can be made just now.
        """
        if sync or self._rollups_pending:
            self.sync()
        return self._read(fn)

    def _read(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """fn(cursor) as run() without syncing or recomputing pending rollups (for reads that use neither)."""
        return self._healing(lambda: self._run_once(fn))

    def _healing(self, attempt: Callable[[], T]) -> T:
        """attempt(); if it finds the file damaged (_Broken), repair the file and attempt once more."""
        try:
            return attempt()
        except _Broken as broken:
            self._heal(broken)
        try:
            return attempt()
        except _Broken as broken:
            # The file just built fails as well: the disk is failing, not (only) the file. Counted as a failed
            # repair, so that the next reads wait for the pause instead of each rebuilding again.
            unavailable = ReplicaUnavailable("coding-time statistics cannot be read right now; try again later")
            with self._sync_lock:
                self._damage = f"read failed after a rebuild ({broken.error})"[:200]
                self._heal_failed(broken.error)
            raise unavailable from broken.error

    def health(self) -> dict[str, object]:
        """For /api/health, the truth now without syncing (so it stays cheap under load): "rebuilding" while a
        rebuild runs; "error" when the file is lost, truncated or damaged, a probe query on it fails, or the
        last sync or repair failed; else "ok"."""
        if self._closed:
            return {"status": "error", "error": "closed"}
        since = self._rebuilding_since
        if since is not None:
            return {"status": "rebuilding", "rebuilding_for_s": round(time.time() - since, 1),
                    "rebuilds": self.rebuilds}
        problem = self._probe() or self._damage or self.last_error
        if problem is not None:
            return {"status": "error", "error": problem[:200], "rebuilds": self.rebuilds}
        return {"status": "ok", "heartbeat_watermark": self._marks.heartbeat_id,
                "last_sync_ms": None if self.last_sync_ms is None else round(self.last_sync_ms, 2),
                "last_sync_age_s": None if self.last_sync_at is None else round(time.time() - self.last_sync_at, 1),
                "rebuilds": self.rebuilds}

    def _probe(self) -> str | None:
        """What is wrong with the open file right now: its identity, size and header, then a real query."""
        with self._swap.shared():
            if self._conn is None:
                return "not open (a repair is pending)"
            problem = replica_file.file_problem(self.path, self._file_id, self._file_size)
            if problem is not None:
                return problem
            try:
                cursor = replica_file.cursor(self._conn)
                try:
                    cursor.execute("SELECT COUNT(*) FROM meta").fetchone()
                finally:
                    cursor.close()
            except duckdb.Error as exc:
                return f"probe query failed ({type(exc).__name__}: {exc})"
        return None

    def heartbeat_rows(self) -> int:
        """How many heartbeats the replica holds (no sync)."""
        row = self.run(lambda cursor: cursor.execute("SELECT COUNT(*) FROM heartbeats").fetchone(), sync=False)
        return int(row[0]) if row is not None else 0  # an aggregate always has one row

    def close(self) -> None:
        checkpointer = self._checkpointer
        if checkpointer is not None:
            checkpointer.join(timeout=30)  # not under the sync lock: the checkpoint takes it
        with self._sync_lock, self._swap.exclusive():
            self._closed = True
            self.user_memory.clear()
            self.day_totals_memory.clear()
            damaged = self._damage is not None or (
                self._conn is not None
                and replica_file.file_problem(self.path, self._file_id, self._file_size) in replica_file.DAMAGED)
            self._close_connection()
            if damaged:
                # Found damaged and not yet repaired: removed, so that the next start rebuilds it at once rather
                # than on a read (closing checkpoints into the damaged file, which does not repair it).
                log.warning("analytics replica %s is damaged; removed, the next start rebuilds it", self.path)
                replica_file.remove_database_files(self.path)

    def __enter__(self) -> Replica:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads ----------------------------------------------------------------------------------
    def _ensure_open(self) -> None:
        if self._closed:
            raise ReplicaError("the analytics replica is closed")

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            if self._closed:
                raise ReplicaError("the analytics replica is closed")
            # Between a failed repair and the next attempt (e.g. while the disk is full).
            raise ReplicaUnavailable("coding-time statistics are being repaired; try again later")
        return self._conn

    def _run_once(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """fn(cursor) on the current file; _Broken if DuckDB says the file is damaged."""
        with self._swap.shared():
            generation = self._generation
            conn = self._connection()
            try:
                cursor = self._read_cursor(conn)
                try:
                    return fn(cursor)
                except BaseException:
                    self._drop_read_cursor()  # whatever state a failed read left, the next one starts afresh
                    raise
            except duckdb.Error as exc:
                if replica_file.looks_broken(exc):
                    raise _Broken(exc, generation) from exc
                raise

    def _read_cursor(self, conn: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        """This thread's cursor on `conn` for reads, made on its first read of that connection (a cursor is
        pointed at the file each time it is made: replica_file.cursor). Reads run in autocommit: each statement
        sees the latest commit. Closing `conn` (a swap, close) closes it too."""
        held = getattr(self._reading, "held", None)
        if held is not None and held[0] is conn:
            return held[1]
        self._drop_read_cursor()
        fresh = replica_file.cursor(conn)
        self._reading.held = (conn, fresh)
        return fresh

    def _drop_read_cursor(self) -> None:
        held = getattr(self._reading, "held", None)
        self._reading.held = None
        if held is not None:
            with contextlib.suppress(duckdb.Error):
                held[1].close()

    def _heal(self, broken: _Broken) -> None:
        """Rebuild after a read found the file damaged, unless another thread already replaced that file."""
        with self._sync_lock:
            self._ensure_open()
            if broken.generation == self._generation:
                self._damage = f"read failed ({broken.error})"[:200]
                self._heal_locked(self._damage)

    # -- sync -----------------------------------------------------------------------------------
    def _sync_changes(self, *, defer_rollups: bool = False) -> SyncResult:
        wanted = self.store.change_marks()
        have = self._marks
        if wanted == have:
            if self._rollups_pending and not defer_rollups:
                return self._recompute_pending()
            return SyncResult()
        if wanted.heartbeat_id < have.heartbeat_id or wanted.tombstone_seq < have.tombstone_seq:
            log.warning("analytics replica is ahead of the database (restored backup?); rebuilding")
            self._rebuild_locked(None)
            return SyncResult(rebuilt=True)
        with self._write_transaction() as cursor:
            # Rows whose intervals changed: new, deleted, and those whose stored gap changed.
            changed: list[tuple[int, float]] = []
            tails = dict(self._tails)
            appended = None
            if wanted.tombstone_seq == have.tombstone_seq and wanted.users_version == have.users_version:
                # The usual sync (new heartbeats, nothing deleted): gaps in numpy, no staging and no window.
                appended = replica_copy.append_new_rows(self.store, cursor, after_id=have.heartbeat_id,
                                                        up_to_id=wanted.heartbeat_id, tails=tails, changed=changed)
            if appended is not None:
                deleted, copied = 0, appended
                self.numpy_syncs += 1
            else:
                deleted, copied = self._copy_changes(cursor, have, wanted, tails, changed)
            refresh = wanted.users_version != have.users_version
            redo: list[int] = []
            zones = self._user_zones
            rules = self._rules
            if refresh:
                # self._rules is the users table as this file holds it (kept at install and every sync).
                replica_copy.replace_users(self.store, cursor, self.settings)
                rules = self._user_rules(cursor)
                zones = {user: rule[0] for user, rule in rules.items()}
                # A zone or rule change moves or resizes every day of the user: all recomputed.
                redo = [user for user in self._rules.keys() | rules.keys()
                        if self._rules.get(user) != rules.get(user)]
            # After the users refresh: days are counted in the zones this sync commits.
            changes = replica_rollups.affected_days((u for u, _ in changed), (t for _, t in changed), zones)
            if redo:
                for table in ("rollups", "day_totals"):
                    cursor.execute(f"DELETE FROM {table} WHERE list_contains($users, user_id)", {"users": redo})
                changes = replica_rollups.merge(changes, replica_rollups.user_data_days(cursor, redo))
            noting: replica_rollups.Changes | None = None
            if defer_rollups and not redo:
                written = 0
                # Under steady ingest the same few days are pending already: no statement for them again.
                noting = replica_rollups.not_noted(changes, self._noted_pending)
                pending = replica_rollups.note_pending(cursor, noting) or self._rollups_pending
            else:
                if self._rollups_pending:
                    changes = replica_rollups.merge(changes, replica_rollups.take_pending(cursor))
                written = replica_rollups.recompute(cursor, self.settings, changes, zones)
                pending = False
            unsorted = self._unsorted_rows + copied
            replica_file.write_marks(cursor, wanted, self._defaults(), unsorted_rows=unsorted)
        self._file_size = replica_file.file_size(self.path)  # a commit may checkpoint: the file grows
        self._marks, self._tails = wanted, tails
        self._user_zones, self._rules = zones, rules
        if not pending:
            self._pending_since = None
        elif not self._rollups_pending:
            self._pending_since = time.monotonic()
        self._rollups_pending = pending
        if not pending:
            self._noted_pending.clear()
        elif noting is not None:
            self._noted_pending.update(zip(noting[0].tolist(), noting[1].tolist(), strict=True))
        self._unsorted_rows = unsorted
        self._rollup_churn += written
        changed_times: dict[int, list[float]] = {}
        for user_id, time_ in changed:
            changed_times.setdefault(user_id, []).append(time_)
        changed_users = set(changed_times)
        for user_id, times in changed_times.items():
            counter = self._user_changes[user_id] = self._user_changes.get(user_id, 0) + 1
            kept = self._change_windows.setdefault(user_id, {})
            kept[counter] = change_windows(times)
            kept.pop(counter - CHANGE_WINDOWS_KEPT, None)
        if changed_users and self.on_change is not None:
            self.on_change(changed_users)
        return SyncResult(copied=copied, deleted=deleted, users_refreshed=refresh, rollups_written=written)

    @contextlib.contextmanager
    def _write_transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor in one DuckDB transaction on the current file: committed when the block ends, rolled back
        when it raises (the caller holds the sync lock)."""
        with self._swap.shared():
            cursor = replica_file.cursor(self._connection())
            try:
                cursor.execute("BEGIN TRANSACTION")
                try:
                    yield cursor
                    cursor.execute("COMMIT")
                except BaseException:
                    # A damaged file can fail the rollback as well: the first error is the one to act on.
                    with contextlib.suppress(duckdb.Error):
                        cursor.execute("ROLLBACK")
                    raise
            finally:
                cursor.close()
                self._writes += 1  # whether committed or not: a copy of the tables is read again, never kept stale

    def _copy_changes(self, cursor: duckdb.DuckDBPyConnection, have: ChangeMarks, wanted: ChangeMarks,
                      tails: dict[int, float], changed: list[tuple[int, float]]) -> tuple[int, int]:
        """Deletions and new rows of any kind (out of order, many batches): tombstoned rows deleted, new rows
        staged, and the gaps of every row they can reach recomputed (replica_gaps.apply_changes). Returns
        (rows deleted, rows copied)."""
        deleted, gone = replica_copy.delete_tombstoned(self.store, cursor, have.tombstone_seq, wanted.tombstone_seq)
        touched: dict[int, float] = {}
        for user_id, time_ in gone:
            replica_gaps.touch(touched, user_id, time_)
        changed += gone
        copied, staged = replica_copy.stage_heartbeats(self.store, cursor, after_id=have.heartbeat_id,
                                                       up_to_id=wanted.heartbeat_id)
        if staged is not None:
            excluded, params = excluded_sources_sql()
            changed += cursor.execute(f"SELECT user_id, time FROM staged WHERE NOT ({excluded})", params).fetchall()
        replica_gaps.apply_changes(cursor, touched, tails, staged=staged is not None, deleted=deleted > 0,
                                   changed=changed)
        replica_copy.unstage(cursor, staged)
        return deleted, copied

    def _recompute_pending(self) -> SyncResult:
        """Recompute the rollups a deferring sync left pending (the caller holds the sync lock)."""
        with self._write_transaction() as cursor:
            changes = replica_rollups.take_pending(cursor)
            written = replica_rollups.recompute(cursor, self.settings, changes, self._user_zones)
        self._file_size = replica_file.file_size(self.path)
        self._rollups_pending, self._pending_since = False, None
        self._noted_pending.clear()
        self._rollup_churn += written
        return SyncResult(rollups_written=written)

    @staticmethod
    def _user_rules(cursor: duckdb.DuckDBPyConnection) -> dict[int, tuple[str, int, str]]:
        """{user: (the zone their days are counted in, timeout, mode)} as the replica holds them."""
        return {user_id: (replica_rollups.zone_of(tz), timeout, mode) for user_id, tz, timeout, mode in
                cursor.execute("SELECT id, timezone, timeout, duration_mode FROM users").fetchall()}

    def cached_read(self, user_id: int, key: Hashable, compute: Callable[[], T]) -> T:
        """compute()'s value for `key` (a read of `user_id`'s default stream), reused until a sync changes that
        user's rows, any user's settings (users version) or the file. The caller has synced already (a read's
        own sync), so the version taken here is at least the one its sync saw: a heartbeat is counted by the
        very next read. compute() runs after the version is taken, so a value is never stored under a newer
        version than the rows it read."""
        version = (self._generation, self._marks.users_version, self._user_changes.get(user_id, 0))
        full_key = (user_id, key)
        with self._cache_lock:
            entry = self._read_cache.get(full_key)
            if entry is not None and entry[0] == version:
                self._read_cache.move_to_end(full_key)
                self.cache_hits += 1
                return entry[1]  # type: ignore[return-value]  # stored by this method for this key: a T
        value = compute()
        with self._cache_lock:
            self._read_cache[full_key] = (version, value)
            self._read_cache.move_to_end(full_key)
            while len(self._read_cache) > READ_CACHE_ENTRIES:
                self._read_cache.popitem(last=False)
        return value

    def rollups_overdue(self, max_age: float) -> bool:
        """Whether rollups a deferring sync left pending have waited longer than `max_age` seconds."""
        since = self._pending_since
        return self._rollups_pending and since is not None and time.monotonic() - since > max_age

    def day_totals(self) -> DayTotals | None:
        """The day_totals table in memory as the replica holds it now (the caller has synced; days a deferring
        sync left pending are recomputed first); None when memory reads are off or the table is larger than
        memory holds (the caller reads through DuckDB)."""
        if not self.use_memory:
            return None
        cache = self.day_totals_memory
        if not self._rollups_pending:
            entry = cache.get(self._writes)
            if entry is not None or cache.too_large_at == self._writes:
                return entry
        # Under the sync lock: no write commits between the version taken and the rows read.
        with self._sync_lock:
            self._ensure_open()
            if self._rollups_pending:
                self._recompute_pending()
            version = self._writes
            entry = cache.get(version)
            if entry is None:
                entry = self._read(lambda cursor: day_totals_memory.load(cursor, version, cache.max_rows))
                if self._writes != version:  # a repair swapped the file meanwhile
                    return None
                if entry is None:
                    cache.too_large_at = version
                    return None
                cache.put(entry)
            return entry

    def user_rows(self, user_id: int, *, sync: bool = True) -> UserRows | None:
        """The user's counted rows in memory as of the replica's current version (after sync() unless
        sync=False), loaded or brought forward as needed; None when memory reads are off or the user has more
        rows than memory holds (the caller reads through DuckDB)."""
        if not self.use_memory:
            return None
        if sync:
            self.sync(defer_rollups=True)
        entry = self.user_memory.peek(user_id)
        if entry is not None and entry.version == self._memory_version(user_id):
            return entry
        return self._healing(lambda: self._load_user_rows(user_id))

    def _load_user_rows(self, user_id: int) -> UserRows | None:
        """Load or bring forward the user's entry (user_rows). Only the version, the windows to re-read and a
        DuckDB snapshot are taken under the sync lock: the rows are read in that snapshot after the lock is
        released, so they are exactly the version's while syncs go on (issue 13: under mixed load a refresh
        held the lock for tens of ms, and every read's sync queued behind it). One thread loads a given
        (user, version); others asking for it meanwhile wait for its result. _Broken if the file is damaged."""
        stack = contextlib.ExitStack()
        with self._sync_lock:
            self._ensure_open()
            version = self._memory_version(user_id)
            entry = self.user_memory.peek(user_id)
            if entry is not None and entry.version == version:
                return entry
            loading = self._loading.get(user_id)
            if loading is not None and loading[0] == version:
                future = loading[1]
                owner = False
            else:
                future = Future()
                owner = True
                base: UserRows | None = None
                windows: tuple[Window, ...] = ()
                if (entry is not None and entry.version.counter < version.counter
                        and (entry.version.generation, entry.version.users_version)
                        == (version.generation, version.users_version)):
                    kept = self._change_windows.get(user_id, {})
                    needed = range(entry.version.counter + 1, version.counter + 1)
                    if all(counter in kept for counter in needed):
                        base = entry
                        windows = exact_or_coarse(
                            merged_windows(window for counter in needed for window in kept[counter]))
                _, timeout, mode = self._rules.get(user_id, ("UTC", None, None))
                rule_mode = mode or self.settings.default_mode
                rule_timeout = float(timeout if timeout is not None else self.settings.default_timeout)
                generation = self._generation
                # Held until the read is done: no file swap under it (swaps happen under the sync lock, which
                # is taken before this, so the order of the two locks is the usual one).
                stack.enter_context(self._swap.shared())
                try:
                    cursor = replica_file.cursor(self._connection())
                    stack.callback(cursor.close)
                    cursor.execute("BEGIN TRANSACTION")
                    # DuckDB begins a transaction's snapshot at its first read of the file: now, under the lock.
                    cursor.execute("SELECT 1 FROM meta LIMIT 0").fetchall()
                except duckdb.Error as exc:
                    stack.close()
                    if replica_file.looks_broken(exc):
                        raise _Broken(exc, generation) from exc
                    raise
                except BaseException:
                    stack.close()
                    raise
                self._loading[user_id] = (version, future)
        if not owner:
            return future.result()
        try:
            with stack:
                try:
                    fresh = load_user_rows(cursor, user_id, version, rule_mode, rule_timeout, base, windows)
                    cursor.execute("COMMIT")
                except duckdb.Error as exc:
                    if replica_file.looks_broken(exc):
                        raise _Broken(exc, generation) from exc
                    raise
            if base is None:
                self.user_memory.loads += 1
            else:
                self.user_memory.refreshes += 1
            current = self.user_memory.peek(user_id)
            if current is None or not _newer(current.version, version):  # never replace a newer entry
                self.user_memory.put(user_id, fresh)
            result = fresh if fresh.rows <= self.user_memory.max_rows else None
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            if self._loading.get(user_id, (None, None))[1] is future:
                del self._loading[user_id]
        future.set_result(result)
        return result

    def _memory_version(self, user_id: int) -> Version:
        return Version(self._generation, self._marks.users_version, self._user_changes.get(user_id, 0))

    def user_zone(self, user_id: int) -> str:
        """The zone the user's rollup days are counted in, as of the last sync (UTC for an unknown user)."""
        return self._user_zones.get(user_id, "UTC")

    def zones_in_use(self) -> list[str]:
        """Every zone some user's rollup days are counted in, and UTC, as of the last sync."""
        return sorted(set(self._user_zones.values()) | {"UTC"})

    def needs_compaction(self) -> bool:
        """Whether enough rows landed unsorted since the last sort for compact() to be worth its rewrite."""
        total = self._marks.heartbeat_id  # ids are never reused: an upper bound of the rows, without a scan
        return (self._unsorted_rows >= max(COMPACT_MIN_ROWS, total // 10)
                or self._rollup_churn >= COMPACT_MIN_ROLLUP_ROWS)

    def compact(self, *, force: bool = False) -> bool:
        """Sync, then rewrite heartbeats in (user, time, id) order and rollups in (user, day) order if syncs
        appended enough unsorted rows (or `force`); True if it did. The scheduler's replica_compact job calls
        it on every node."""
        with self._sync_lock:
            self.sync()
            if not (force or self.needs_compaction()):
                return False
            self._compact_locked()
            return True

    def _compact_locked(self) -> None:
        """The rewrite (the caller holds the sync lock; reads wait for it as for a sync, rarely: a tenth of
        the table must have arrived since the last sort)."""
        with self._sync_lock:
            started = time.perf_counter()
            with self._write_transaction() as cursor:
                replica_file.sort_tables(cursor)
                replica_file.write_marks(cursor, self._marks, self._defaults(), unsorted_rows=0)
            self._checkpoint_locked()
            self._unsorted_rows = self._rollup_churn = 0
            log.info("analytics replica compacted in %.1f s", time.perf_counter() - started)

    def checkpoint_if_due(self) -> bool:
        """Checkpoint the file if its write-ahead log has grown past `checkpoint_wal_bytes`; True if it did.

        A sync that wrote starts a thread that calls it (_start_checkpoint), and the replica_sync job calls it
        after its sync. Until a checkpoint DuckDB holds the rows syncs appended in memory (duckdb_memory()'s
        IN_MEMORY_TABLE: +26 MB in 60 s of the bench's mixed load without one), and the checkpoint pauses the
        syncs (its commit waits) for as long as it rewrites what they changed, so a small log keeps both small.
        DuckDB's own checkpoint, at its checkpoint_threshold, would run inside whichever sync's commit crossed it
        — usually a read's — so that threshold (replica_file.AUTO_CHECKPOINT_THRESHOLD) is far higher."""
        if not self._checkpoint_due():
            return False
        with self._sync_lock:
            self._ensure_open()
            if not self._checkpoint_due():  # another thread's checkpoint ran while this one waited
                return False
            self._checkpoint_locked()
        return True

    def _checkpoint_due(self) -> bool:
        try:
            return replica_file.wal_path(self.path).stat().st_size >= self.checkpoint_wal_bytes
        except FileNotFoundError:
            return False

    def _start_checkpoint(self) -> None:
        """Checkpoint in the background if the log is past the threshold, and trim the C heap if TRIM_SECONDS
        passed since the last trim, unless that thread is running already (the caller holds the sync lock,
        which a checkpoint then waits for: the sync that started it returns first)."""
        running = self._checkpointer
        if (running is not None and running.is_alive()) or self._closed:
            return
        checkpoint = self._checkpoint_due()
        if not checkpoint and time.monotonic() - self._trimmed_at < TRIM_SECONDS:
            return
        thread = threading.Thread(target=self._maintain, args=(checkpoint,), name="replica-checkpoint",
                                  daemon=True)
        self._checkpointer = thread
        thread.start()

    def _maintain(self, checkpoint: bool) -> None:
        try:
            if checkpoint:
                self.checkpoint_if_due()
        except Exception as exc:  # closed or being repaired meanwhile: the next sync's reads notice and heal
            log.debug("background checkpoint of the analytics replica skipped: %s", exc)
        # Syncs and reads free numpy columns and statement buffers from many threads: what glibc keeps free
        # inside its heaps stays resident until trimmed.
        memory.trim()
        self._trimmed_at = time.monotonic()

    def _checkpoint_locked(self) -> None:
        """CHECKPOINT the current file (the caller holds the sync lock: no write transaction is open)."""
        with self._swap.shared():
            cursor = replica_file.cursor(self._connection())
            try:
                cursor.execute("CHECKPOINT")
            finally:
                cursor.close()
        self._file_size = replica_file.file_size(self.path)
        self.checkpoints += 1

    def _defaults(self) -> str:
        """The server's default rule as recorded in `meta`: the users table was filled with it."""
        return f"{self.settings.default_timeout}/{self.settings.default_mode}"

    # -- open / rebuild -------------------------------------------------------------------------
    def _open_or_rebuild(self, progress: ProgressCallback | None) -> None:
        reason = self._try_open()
        if reason is not None:
            log.warning("analytics replica %s: %s; rebuilding from the database", self.path, reason)
            self._rebuild_locked(progress)

    def _try_open(self) -> str | None:
        """Open the existing file; returns why it cannot be used (then nothing is left open), or None."""
        opened = replica_file.try_open(self.path, self._defaults(), self.limits)
        if isinstance(opened, str):
            return opened
        conn, marks = opened
        try:
            tails = replica_gaps.last_heartbeat_times(conn)
            self._unsorted_rows = replica_file.unsorted_rows(conn)
            self._rollup_churn = 0
        except duckdb.Error as exc:
            conn.close()
            return f"unusable ({exc})"
        self._install(conn, marks, tails)
        return None

    def _install(self, conn: duckdb.DuckDBPyConnection, marks: ChangeMarks,
                 tails: dict[int, float] | None = None) -> None:
        replica_file.leave_checkpoints_to_the_job(conn)
        self._tails = replica_gaps.last_heartbeat_times(conn) if tails is None else tails
        self._rules = self._user_rules(conn)
        # fetchall, not fetchone: a result not read to its end keeps its transaction open (CHECKPOINT then fails).
        self._rollups_pending = bool(conn.execute("SELECT COUNT(*) FROM rollup_pending").fetchall()[0][0])
        self._noted_pending = set()  # a pair noted again is harmless (take_pending makes them unique)
        self._pending_since = time.monotonic() if self._rollups_pending else None
        self._user_zones = {user: rule[0] for user, rule in self._rules.items()}
        self._file_size = replica_file.file_size(self.path)
        self._conn, self._marks, self._file_id = conn, marks, replica_file.identity(self.path)
        self._generation += 1
        self._writes += 1

    def _close_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(duckdb.Error):
                self._conn.close()
            self._conn = None

    def _recover(self, problem: str) -> bool:
        """Rebuild a damaged file; reopen one replaced by another process's rebuild (or rebuild it if that
        fails); True if rebuilt."""
        if problem in replica_file.DAMAGED:
            self._damage = problem
            self._heal_locked(problem)
            return True
        if self._heal_failures == 0:
            log.warning("analytics replica %s; reopening", problem)
        with self._swap.exclusive():
            self._close_connection()
        reason = self._try_open()
        if reason is None:
            return False
        self._heal_locked(f"{problem}, then {reason}")
        return True

    def _heal_locked(self, why: str) -> None:
        """Rebuild a damaged or lost file (the caller holds _sync_lock). Raises ReplicaUnavailable while that
        fails, without trying again until `heal_pause` has passed: one log line per incident, not per read."""
        if self._heal_failures and time.monotonic() < self._next_heal_at:
            raise ReplicaUnavailable("coding-time statistics are being repaired; try again later")
        if self._heal_failures == 0:
            log.warning("analytics replica %s; rebuilding", why)
        try:
            self._rebuild_locked(None)
        except ReplicaUnavailable as exc:
            self._heal_failed(exc.__cause__ or exc)
            raise
        if self._heal_failures:
            log.info("analytics replica repaired after %d failed attempts", self._heal_failures)
        self._heal_failures = 0
        self.last_error = None

    def _heal_failed(self, cause: BaseException) -> None:
        if self._heal_failures == 0:
            log.warning("analytics replica could not be repaired (%s); reads answer 503, retrying every %g s",
                        cause, self.heal_pause)
        self._heal_failures += 1
        self._next_heal_at = time.monotonic() + self.heal_pause
        self.last_error = f"could not be repaired ({cause})"[:200]

    def _rebuild_locked(self, progress: ProgressCallback | None) -> int:
        """Build a new file and swap it in (the caller holds _sync_lock); ReplicaUnavailable if DuckDB or the
        file system fails (a full disk, a read-only data dir), with the old file still in place."""
        self._rebuilding_since = time.time()
        try:
            return self._build_and_swap(progress)
        except (duckdb.Error, OSError) as exc:
            raise ReplicaUnavailable("coding-time statistics are being repaired; try again later") from exc
        finally:
            self._rebuilding_since = None

    def _build_and_swap(self, progress: ProgressCallback | None) -> int:
        started = time.perf_counter()
        # No file and nothing open (a first start): nothing to keep serving meanwhile, so the file is built in
        # place and stays open (opening a DuckDB file costs ~30 ms of CPU: a new data dir pays it once, not twice).
        # A build cut short leaves a file without its marks, which the next open rebuilds.
        in_place = self._conn is None and not self.path.exists()
        staging = self.path if in_place else replica_file.staging_path(self.path)
        replica_file.remove_database_files(staging)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            marks = self.store.change_marks()
            total = 0
            if progress is not None:
                # Ids are never reused, so this over-counts only by deleted rows; COUNT(*) costs seconds at 10M.
                lowest = self.store.lowest_heartbeat_id() or 1
                total = max(0, marks.heartbeat_id - lowest + 1)
                progress(0, total)
            target = replica_file.connect(staging, self.limits)
            try:
                copied = self._fill(target, marks, progress, total)
                target.execute("CHECKPOINT")
            except BaseException:
                target.close()
                raise
            if not in_place:
                target.close()
        except BaseException:
            replica_file.remove_database_files(staging)
            raise
        with self._swap.exclusive():
            self._close_connection()
            self._install(target if in_place else replica_file.swap_in(staging, self.path, self.limits), marks)
            self._unsorted_rows = self._rollup_churn = 0
        self._damage = None
        self.rebuilds += 1
        elapsed = time.perf_counter() - started
        log.info("analytics replica rebuilt: %d heartbeats in %.1f s", copied, elapsed)
        return copied

    def _fill(self, target: duckdb.DuckDBPyConnection, marks: ChangeMarks, progress: ProgressCallback | None,
              total: int) -> int:
        """A complete replica in the empty DuckDB file `target`, as of `marks`; returns the rows copied."""
        replica_file.create_tables(target)
        done = 0

        def advance(rows: int) -> None:
            nonlocal done
            done += rows
            if progress is not None:
                progress(done, total)

        copied = replica_copy.copy_heartbeats(self.store, target, after_id=0, up_to_id=marks.heartbeat_id,
                                              table="heartbeats_unsorted", on_batch=advance)
        if progress is not None:
            progress(copied, copied)
        replica_gaps.sort_in(target)
        replica_copy.replace_users(self.store, target, self.settings)
        replica_rollups.rebuild_all(target, self.settings)
        replica_file.write_marks(target, marks, self._defaults())
        return copied
