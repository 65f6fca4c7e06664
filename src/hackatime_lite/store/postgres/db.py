"""PostgreSQL connection policy: a connection pool, one group-committing writer thread for queued writes.

`submit` queues a write for the writer thread, which drains whatever is waiting into one transaction (should
one job fail, each job is run again on its own, so it does not undo its neighbours) and resolves each future
after COMMIT:
acknowledged means committed, and concurrent heartbeat requests share one commit. `write` runs a write in the
caller's thread in its own transaction, after every write queued before it has settled (the order SQLiteStore's
one FIFO writer gives); `read` runs statements on a pooled autocommit connection.

A fault of the database rather than of the statement (the server gone, the pool exhausted, a deadlock with
another node) fails with StoreUnavailable (HTTP 503 with Retry-After), logged once per incident.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from concurrent.futures import Future
from typing import Any, Self, TypeVar

import psycopg
import psycopg_pool

from hackatime_lite.config import mask_url_password
from hackatime_lite.store.interface import StoreClosed, StoreUnavailable
from hackatime_lite.store.postgres.migrations import apply_migrations

log = logging.getLogger(__name__)
T = TypeVar("T")
Connection = psycopg.Connection[Any]
WriteJob = Callable[[Connection], T]

MAX_JOBS_PER_COMMIT = 64
RETRY_AFTER_SECONDS = 5
# A group that deadlocked with another node's (or lost a serialization race) is run again this often.
_ROLLBACK_RETRIES = 3
_STOP = object()


def masked_url(url: str) -> str:
    """The URL without its password, for messages and `config`."""
    return mask_url_password(url)


def is_fault(exc: BaseException) -> bool:
    """Whether `exc` is the database's fault (retry later), not the statement's."""
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout))


class _JobFailed(Exception):
    """A job of a group failed on its statement: the group's transaction is rolled back."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class _Job:
    __slots__ = ("fn", "future")

    def __init__(self, fn: WriteJob[Any]) -> None:
        self.fn = fn
        self.future: Future[Any] = Future()


class PostgresDatabase:
    """Owns the pool. `readonly` runs no migrations and starts no writer."""

    def __init__(self, url: str, *, readonly: bool = False, pool_size: int = 8, open_timeout: float = 15.0) -> None:
        self.url = url
        self._closed = False
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        # The future of the newest queued write (set together with the put, under the lock, so it only moves
        # forward): `write` waits for it, so a synchronous write is ordered after every write queued before it.
        self._last_queued: Future[Any] | None = None
        self._submit_lock = threading.Lock()
        self.write_fault: str | None = None
        self.write_fault_since: float | None = None
        self.failed_writes = 0
        # Autocommit: a read is one statement with its own snapshot; writes open transactions explicitly.
        self.pool = psycopg_pool.ConnectionPool(url, min_size=1, max_size=pool_size, open=False, timeout=10,
                                                kwargs={"autocommit": True}, name="hackatime-lite")
        try:
            self.pool.open(wait=True, timeout=open_timeout)
        except psycopg_pool.PoolTimeout as exc:
            self.pool.close()
            raise StoreUnavailable(f"cannot connect to PostgreSQL at {masked_url(url)}",
                                   retry_after=RETRY_AFTER_SECONDS) from exc
        if readonly:
            return
        try:
            with self.pool.connection() as conn:
                apply_migrations(conn)
        except BaseException:
            self.pool.close()
            raise
        self._thread = threading.Thread(target=self._run_writer, name="postgres-writer", daemon=True)
        self._thread.start()

    # -- errors ---------------------------------------------------------------------------------
    def _failure(self, exc: BaseException) -> BaseException:
        if not is_fault(exc):
            return exc
        fault = type(exc).__name__
        if fault != self.write_fault:
            log.warning("PostgreSQL cannot serve requests: %s (%s); answering 503 until it recovers", fault,
                        str(exc).splitlines()[0] if str(exc) else "")
            self.write_fault, self.write_fault_since, self.failed_writes = fault, time.time(), 0
        self.failed_writes += 1
        unavailable = StoreUnavailable("the server cannot reach its database right now; try again later",
                                       retry_after=RETRY_AFTER_SECONDS)
        unavailable.__cause__ = exc
        return unavailable

    def _recovered(self) -> None:
        if self.write_fault is not None:
            log.info("PostgreSQL answers again (%s; %d requests failed)", self.write_fault, self.failed_writes)
            self.write_fault, self.write_fault_since, self.failed_writes = None, None, 0

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """A pooled autocommit connection; database faults become StoreUnavailable."""
        if self._closed:
            raise StoreClosed("the store is closed")
        try:
            with self.pool.connection() as conn:
                yield conn
        except BaseException as exc:
            failure = self._failure(exc)
            if failure is exc:
                raise
            raise failure from exc

    def read(self, fn: Callable[[Connection], T]) -> T:
        with self.connection() as conn:
            return fn(conn)

    # -- writes ---------------------------------------------------------------------------------
    def write(self, fn: WriteJob[T]) -> T:
        """Run fn(conn) in one transaction in this thread (retried when it deadlocks with another node)."""
        if self._closed or self._thread is None:
            raise StoreClosed("the store is closed" if self._closed else "the store was opened read-only")
        self._after_queued_writes()
        for attempt in range(_ROLLBACK_RETRIES + 1):
            try:
                with self.connection() as conn, conn.transaction():
                    return fn(conn)
            except StoreUnavailable as exc:
                if attempt < _ROLLBACK_RETRIES and isinstance(exc.__cause__, psycopg.errors.TransactionRollback):
                    continue
                raise
        raise AssertionError("unreachable")

    def submit(self, fn: WriteJob[T]) -> Future[T]:
        """Queue fn(conn) for the writer thread; the future resolves after its group's COMMIT."""
        if self._closed or self._thread is None:
            raise StoreClosed("the store is closed" if self._closed else "the store was opened read-only")
        job = _Job(fn)
        with self._submit_lock:
            self._queue.put(job)
            self._last_queued = job.future
        return job.future

    def _after_queued_writes(self) -> None:
        """Wait until every write queued so far is settled, as SQLite's single FIFO writer orders them: without
        this a synchronous write overtook a queued one (an ingest observer's webhook event, queued and not
        awaited, committed after a later `update_team_member` and so went to a team the member joined after).
        Not in the writer thread itself (a future's callback may write): that would wait for its own queue."""
        last = self._last_queued
        if last is not None and not last.done() and threading.current_thread() is not self._thread:
            futures.wait([last])

    def _run_writer(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            batch = [first]
            while len(batch) < MAX_JOBS_PER_COMMIT:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                batch.append(nxt)
            self._commit_batch(batch)

    def _commit_batch(self, batch: list[_Job]) -> None:
        """Run the group in one transaction, no savepoints (each costs two round trips). When a job fails on
        its statement the group is rolled back and each job runs again in a transaction of its own, so one bad
        job never fails its neighbours; a group that lost a deadlock with another node runs again."""
        for attempt in range(_ROLLBACK_RETRIES + 1):
            results: list[Any] = []
            try:
                with self.pool.connection() as conn, conn.transaction():
                    for job in batch:
                        try:
                            results.append(job.fn(conn))
                        except Exception as exc:
                            if is_fault(exc):
                                raise  # the transaction is gone; handled below
                            raise _JobFailed(exc) from exc
            except _JobFailed as failed:
                if len(batch) > 1:
                    for job in batch:
                        self._commit_batch([job])
                else:
                    batch[0].future.set_exception(failed.error)
                return
            except BaseException as exc:
                if attempt < _ROLLBACK_RETRIES and isinstance(exc, psycopg.errors.TransactionRollback):
                    continue
                failure = self._failure(exc)
                if failure is exc:
                    log.exception("write transaction failed")
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(failure)
                return
            self._recovered()
            for job, result in zip(batch, results, strict=True):
                job.future.set_result(result)
            return

    # -- lifecycle ------------------------------------------------------------------------------
    def start_writer_process(self) -> bool:
        """Nothing to gain here: PostgreSQL's server is the other process, and its commits do not hold this
        process's GIL."""
        return False

    def flush(self) -> None:
        if self._thread is not None and not self._closed:
            self.submit(lambda conn: None).result()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True  # no new writes; the writer still commits what was queued before
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=30)
        self.pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
