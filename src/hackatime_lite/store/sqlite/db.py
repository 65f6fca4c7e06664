"""SQLite connection policy: one writer thread fed by a queue (group commit), read-only reader connections.

`submit`, `write` and `reader` are SQLite-only: the modules of this package run their statements through
them; everything outside store/ uses the StoreBackend methods of SQLiteStore instead.

A write that fails because of the storage rather than the statement (disk full, read-only data dir, I/O error,
the database busy or gone) fails with StoreUnavailable (HTTP 503), and is logged once per incident: one line
when writes start failing, one when they succeed again.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Self, TypeVar

import sqlite_utils

from hackatime_lite.store.interface import StoreClosed, StoreUnavailable
from hackatime_lite.store.sqlite.migrations import apply_migrations
from hackatime_lite.store.sqlite.wal import WalCheckpointer

log = logging.getLogger(__name__)
T = TypeVar("T")
WriteJob = Callable[[sqlite_utils.Database], T]

# Jobs drained into one transaction: enough to amortise the commit's fsync under load,
# small enough that one commit stays in the low milliseconds.
MAX_JOBS_PER_COMMIT = 64
# Group commit under load: when the last transaction held several jobs (concurrent writers), the next one
# waits up to GROUP_WAIT_SECONDS for GROUP_TARGET_JOBS jobs before it commits. A commit writes every page
# its rows touched (the dedup index puts each row on a page of its own), so fewer, larger commits cost
# less CPU per row; an idle server (one job at a time) never waits.
GROUP_WAIT_SECONDS = 0.002
GROUP_TARGET_JOBS = 8
_STOP = object()
# SQLite's primary result codes for faults of the storage, not of the statement: the same write can succeed
# once they clear, so the caller is told to retry. SQLITE_CORRUPT is not among them: it does not clear by itself.
_STORAGE_FAULTS = {
    sqlite3.SQLITE_FULL: "the disk is full",
    sqlite3.SQLITE_READONLY: "the data directory is read-only",
    sqlite3.SQLITE_IOERR: "the disk reported an I/O error",
    sqlite3.SQLITE_CANTOPEN: "the database file cannot be opened",
    # Another process (e.g. a CLI import) held the write lock for longer than busy_timeout.
    sqlite3.SQLITE_BUSY: "the database is busy",
}
# What a client is told to wait before retrying a write that failed on a storage fault.
RETRY_AFTER_SECONDS = 30


def storage_fault(exc: BaseException) -> str | None:
    """What is wrong with the storage if `exc` is a SQLite error that retrying later can cure, else None."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else _STORAGE_FAULTS.get(code & 0xFF)  # extended codes keep the primary in the low byte


def connect(path: Path, *, readonly: bool = False, autocheckpoint: bool = True) -> sqlite3.Connection:
    """A connection with the store's pragmas. `autocheckpoint=False`: this connection's commits never checkpoint
    the WAL (a store/sqlite/wal.WalCheckpointer must then run beside it, or the log grows without bound)."""
    if readonly:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode keeps every commit atomic and durable across application crashes;
        # only an OS crash can lose the last commits, which is the trade WakaTime servers make too.
        conn.execute("PRAGMA synchronous = NORMAL")
        # Fewer, larger automatic checkpoints keep small commits' tail latency low; none at all with a
        # checkpointer thread (wal.py explains why that is better still).
        conn.execute(f"PRAGMA wal_autocheckpoint = {4000 if autocheckpoint else 0}")
    # Page cache per connection, in KiB (negative). Issue 13's mixed load measured SQLite's heap (every
    # connection's cache) grow from 9 to 34 MB after warm-up at 32 MB each: the writer's inserts touch the dedup
    # index at random, so its cache fills whatever the bound. A miss costs a read from the OS page cache (a few
    # µs), so the writer keeps 8 MB; a reader's cache is dropped whenever another connection commits (WAL), so
    # under ingest it holds next to nothing worth keeping, and there is a reader per thread (up to 40).
    conn.execute(f"PRAGMA cache_size = {-2000 if readonly else -8000}")
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


P = TypeVar("P")
# A write that several queued requests can share: called with all their payloads (in queue order), it returns
# one result per payload.
ManyJob = Callable[[sqlite_utils.Database, list[P]], list[T]]


class _Job:
    __slots__ = ("fn", "future", "many", "payload")

    def __init__(self, fn: WriteJob[Any] | None, many: ManyJob[Any, Any] | None = None,
                 payload: Any = None) -> None:
        self.fn = fn
        self.many = many
        self.payload = payload
        self.future: Future[Any] = Future()

    def run(self, db: sqlite_utils.Database) -> Any:
        if self.many is not None:
            return self.many(db, [self.payload])[0]
        assert self.fn is not None
        return self.fn(db)


class SQLiteDatabase:
    """Owns the SQLite file. Writes go through one thread; reads use per-thread read-only connections.

    A `readonly` database runs no migrations and starts no writer (tools reading a file a server owns).
    """

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._wal_checkpointer: WalCheckpointer | None = None
        # The storage fault failing writes now (None when writes succeed), since when, and how many writes
        # it has failed: kept by the writer thread, read by health().
        self.write_fault: str | None = None
        self.write_fault_since: float | None = None
        self.failed_writes = 0
        if readonly:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The writer's commits never checkpoint the WAL: a thread of its own does (wal.py: a checkpoint inside a
        # group commit held every write queued behind it).
        self._writer_conn = connect(self.path, autocheckpoint=False)
        apply_migrations(sqlite_utils.Database(self._writer_conn))
        self._thread = threading.Thread(target=self._run_writer, name="sqlite-writer", daemon=True)
        self._thread.start()
        self._wal_checkpointer = WalCheckpointer(self.path).start()

    # -- writes ---------------------------------------------------------------------------------
    def submit(self, fn: WriteJob[T]) -> Future[T]:
        """Run fn(db) in the writer thread inside a transaction; the future resolves after COMMIT."""
        return self._enqueue(_Job(fn))

    def submit_many(self, many: ManyJob[P, T], payload: P) -> Future[T]:
        """Like submit, for writes that combine: consecutive jobs of the same `many` in one group commit run
        as one call under one savepoint (e.g. one INSERT for the heartbeats of every request in the group).
        If that call fails, each job is run again on its own, under its own savepoint, so one bad job still
        fails alone. Each future resolves after COMMIT with its payload's result."""
        return self._enqueue(_Job(None, many, payload))

    def _enqueue(self, job: _Job) -> Future[Any]:
        if self._closed or self._thread is None:
            raise StoreClosed("the store is closed" if self._closed else "the store was opened read-only")
        self._queue.put(job)
        return job.future

    def write(self, fn: WriteJob[T]) -> T:
        return self.submit(fn).result()

    def _run_writer(self) -> None:
        db = sqlite_utils.Database(self._writer_conn)
        stopping = False
        busy = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            batch = [first]
            deadline = time.monotonic() + GROUP_WAIT_SECONDS if busy else 0.0
            while len(batch) < MAX_JOBS_PER_COMMIT:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    if len(batch) >= GROUP_TARGET_JOBS:
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    try:
                        nxt = self._queue.get(timeout=remaining)
                    except queue.Empty:
                        break
                if nxt is _STOP:
                    stopping = True
                    break
                batch.append(nxt)
            busy = len(batch) > 1
            self._commit_batch(db, batch)
        self._writer_conn.close()

    def _commit_batch(self, db: sqlite_utils.Database, batch: list[_Job]) -> None:
        conn = self._writer_conn
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        changes_before = conn.total_changes
        try:
            conn.execute("BEGIN IMMEDIATE")
            start = 0
            while start < len(batch):
                job = batch[start]
                end = start + 1
                if job.many is not None:
                    while end < len(batch) and batch[end].many is job.many:
                        end += 1
                    # Every statement gives up the GIL and waits to win it back from the event loop: one call
                    # for the run of combinable jobs rather than a savepoint, statements and a release each.
                    if end - start > 1 and self._run_combined(db, batch[start:end], outcomes):
                        start = end
                        continue
                for single in batch[start:end]:
                    self._run_single(db, single, outcomes)
                start = end
            conn.execute("COMMIT")
        except BaseException as exc:
            self._hook(self._rolled_back)
            failure = self._failure(exc)
            if failure is exc:
                log.exception("write transaction failed")
            if conn.in_transaction:
                # The writer thread must survive a rollback that fails too: every later write depends on it.
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(failure)
            return
        self._hook(self._committed)
        if self.write_fault is not None and conn.total_changes > changes_before \
                and not any(isinstance(failed, StoreUnavailable) for _, _, failed in outcomes):
            self._recovered()
        for job, result, error in outcomes:
            if error is None:
                job.future.set_result(result)
            else:
                job.future.set_exception(error)

    def _run_single(self, db: sqlite_utils.Database, job: _Job,
                    outcomes: list[tuple[_Job, Any, BaseException | None]]) -> None:
        conn = self._writer_conn
        # A savepoint per job: one failing job must not undo its neighbours in the group.
        conn.execute("SAVEPOINT job")
        try:
            result = job.run(db)
        except BaseException as exc:
            if not conn.in_transaction:
                # SQLite rolled the whole transaction back (disk full, I/O error): the jobs before this
                # one are undone too, and the ones after would run outside any transaction. The batch
                # fails as one.
                raise
            conn.execute("ROLLBACK TO job")
            conn.execute("RELEASE job")
            outcomes.append((job, None, self._failure(exc)))
        else:
            conn.execute("RELEASE job")
            outcomes.append((job, result, None))

    def _run_combined(self, db: sqlite_utils.Database, jobs: list[_Job],
                      outcomes: list[tuple[_Job, Any, BaseException | None]]) -> bool:
        """Run jobs of one `many` as one call under one savepoint; False (nothing done) if it failed, for the
        caller to run them one by one. A fault that ended the transaction is raised: the batch fails whole."""
        conn = self._writer_conn
        many = jobs[0].many
        assert many is not None
        conn.execute("SAVEPOINT jobs")
        try:
            results = many(db, [job.payload for job in jobs])
            if len(results) != len(jobs):
                raise RuntimeError(f"{len(results)} results for {len(jobs)} combined jobs")
        except BaseException:
            if not conn.in_transaction:
                raise
            conn.execute("ROLLBACK TO jobs")
            conn.execute("RELEASE jobs")
            self._hook(self._rolled_back)
            return False
        conn.execute("RELEASE jobs")
        outcomes.extend((job, result, None) for job, result in zip(jobs, results, strict=True))
        return True

    @staticmethod
    def _hook(hook: Callable[[], None]) -> None:
        # A hook that fails must not leave the jobs' futures unresolved (their callers would wait forever).
        try:
            hook()
        except Exception:
            log.exception("writer hook %s failed", getattr(hook, "__name__", hook))

    def _committed(self) -> None:
        """Called by the writer thread after each COMMIT, before the jobs' futures resolve (a subclass hook)."""

    def _rolled_back(self) -> None:
        """Called by the writer thread when work of the transaction under way was rolled back (a subclass
        hook: what it noted of that work is void)."""

    # -- storage faults -------------------------------------------------------------------------
    def _failure(self, exc: BaseException) -> BaseException:
        """What a job's caller gets for `exc`: StoreUnavailable for a storage fault (noted, logged once per
        incident), else `exc` itself."""
        fault = storage_fault(exc)
        if fault is None:
            return exc
        if fault != self.write_fault:
            # One line per incident, not a traceback per request: the fault is the server's, not a bug.
            log.warning("the database cannot store writes: %s (%s); writes answer 503 until it recovers", fault,
                        exc)
            self.write_fault, self.write_fault_since, self.failed_writes = fault, time.time(), 0
        self.failed_writes += 1
        unavailable = StoreUnavailable(f"the server cannot store data right now: {fault}; try again later",
                                       retry_after=RETRY_AFTER_SECONDS)
        unavailable.__cause__ = exc
        return unavailable

    def _recovered(self) -> None:
        log.info("the database stores writes again (%s; %d writes failed)", self.write_fault, self.failed_writes)
        self.write_fault, self.write_fault_since, self.failed_writes = None, None, 0

    # -- reads ----------------------------------------------------------------------------------
    def reader(self) -> sqlite3.Connection:
        """This thread's read-only connection (created on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, readonly=True)
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    # -- lifecycle ------------------------------------------------------------------------------
    def flush(self) -> None:
        """Return once every write submitted before has been committed (the queue is FIFO)."""
        if self._thread is not None:
            self.write(lambda db: None)

    def checkpoint(self) -> None:
        """Fold the WAL into the main file (after bulk loads, so the file stands alone)."""
        self.flush()
        conn = connect(self.path)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
        if self._wal_checkpointer is not None:
            self._wal_checkpointer.stop()  # the last connection's close checkpoints what is left
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
