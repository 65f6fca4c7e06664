"""Copying from the store into the replica: heartbeat rows in numpy batches (the one copy route), a sync's new
rows staged, tombstoned rows deleted, and the users table replaced.

Rows come only through the store interface (StoreBackend.heartbeat_batches, deleted_heartbeat_ids,
list_users): DuckDB cannot read the store's database here, and `executemany` into DuckDB is ~1,000× slower
than registering numpy arrays and inserting from them.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from typing import Any, Literal, TypeVar

import duckdb
import numpy as np

from hackatime_lite.analytics import replica_gaps
from hackatime_lite.analytics.durations import excluded_sources_sql
from hackatime_lite.config import Settings
from hackatime_lite.store import StoreBackend

T = TypeVar("T")
# Rows per store batch → DuckDB insert: large enough to amortise the per-insert overhead.
COPY_BATCH_ROWS = 50_000
# Store columns copied, in replica column order; dependencies stay JSON text until DuckDB parses them.
_SOURCE_COLUMNS = ("id", "user_id", "time", "entity", "type", "category", "project", "branch", "language",
                   "dependencies", "editor", "operating_system", "machine", "source", "is_write")
# A registered numpy batch as replica rows (gap still unknown).
_BATCH_SELECT = (
    "SELECT id, user_id, time, entity, \"type\", category, project, branch, language, "
    "TRY(from_json(dependencies::VARCHAR, '[\"VARCHAR\"]')) AS dependencies, editor, operating_system, machine, "
    "source, is_write::BOOLEAN AS is_write, NULL::DOUBLE AS gap FROM copy_batch"
)
# The same with each row's gap given beside it (append_new_rows).
_BATCH_WITH_GAPS_SELECT = _BATCH_SELECT.replace("NULL::DOUBLE AS gap", "CASE WHEN has_gap THEN gap END AS gap")
# The tables rows are copied into: a rebuild's unsorted table, or a large sync's staging table.
_INSERT_INTO: dict[str, str] = {
    "heartbeats_unsorted": f"INSERT INTO heartbeats_unsorted {_BATCH_SELECT}",
    "staged": f"INSERT INTO staged {_BATCH_SELECT}",
}
CopyTable = Literal["heartbeats_unsorted", "staged"]
# How a sync's new rows are readable as `staged`: a temporary table, or not at all (no new rows).
Staged = Literal["table"] | None


def _as_batch(rows: list[tuple[Any, ...]]) -> dict[str, np.ndarray]:
    # One 2-D object array built in C, then contiguous columns: ~3× faster than transposing in Python.
    # Object columns keep None as NULL; DuckDB scans them without a per-row Python call.
    table = np.array(rows, dtype=object)
    batch: dict[str, np.ndarray] = {
        "id": table[:, 0].astype(np.int64),
        "user_id": table[:, 1].astype(np.int32),
        "time": table[:, 2].astype(np.float64),
    }
    for index, name in enumerate(_SOURCE_COLUMNS[3:], start=3):
        batch[name] = np.ascontiguousarray(table[:, index])
    return batch


def fetch_batches(store: StoreBackend, *, after_id: int,
                  up_to_id: int) -> Generator[dict[str, np.ndarray], None, None]:
    """The store's heartbeats with after_id < id <= up_to_id, as numpy column batches of ≤ COPY_BATCH_ROWS rows."""
    batches = store.heartbeat_batches(_SOURCE_COLUMNS, after_id=after_id, up_to_id=up_to_id,
                                      batch_rows=COPY_BATCH_ROWS)
    try:
        for rows in batches:
            yield _as_batch(rows)
    finally:
        # Release the store's cursor now, not when the iterator is collected.
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def _prefetched(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield from `items` while a background thread already produces the next ones: the store's fetch then
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


def copy_heartbeats(store: StoreBackend, target: duckdb.DuckDBPyConnection, *, after_id: int, up_to_id: int,
                    table: CopyTable, on_batch: Callable[[int], None] | None = None) -> int:
    """Copy the store's heartbeats with after_id < id <= up_to_id into the DuckDB `table`; returns rows copied.

    The one copy route: the store's row batches → numpy arrays → INSERT … SELECT from the registered arrays.
    """
    insert = _INSERT_INTO[table]
    copied = 0
    for batch in _prefetched(fetch_batches(store, after_id=after_id, up_to_id=up_to_id)):
        target.register("copy_batch", batch)
        try:
            target.execute(insert)
        finally:
            target.unregister("copy_batch")
        rows = len(batch["id"])
        copied += rows
        if on_batch is not None:
            on_batch(rows)
    return copied


def stage_heartbeats(store: StoreBackend, target: duckdb.DuckDBPyConnection, *, after_id: int,
                     up_to_id: int) -> tuple[int, Staged]:
    """Make new heartbeats readable as `staged`; returns (rows, how). Undo with unstage().

    The usual sync has one batch: it is copied into the temporary table straight from the registered
    arrays; more rows go through copy_heartbeats. A table rather than a view over the arrays: a sync reads
    `staged` four or five times, and every read of a view would convert the Python strings again, holding
    the GIL the request threads need.
    """
    batches = fetch_batches(store, after_id=after_id, up_to_id=up_to_id)
    first = next(batches, None)
    if first is None:
        return 0, None
    second = next(batches, None)
    if second is None:
        target.register("copy_batch", first)
        try:
            target.execute(f"CREATE TEMP TABLE staged AS {_BATCH_SELECT}")
        finally:
            target.unregister("copy_batch")
        return len(first["id"]), "table"
    batches.close()
    target.execute("CREATE TEMP TABLE staged AS FROM heartbeats LIMIT 0")
    return copy_heartbeats(store, target, after_id=after_id, up_to_id=up_to_id, table="staged"), "table"


def append_new_rows(store: StoreBackend, cursor: duckdb.DuckDBPyConnection, *, after_id: int, up_to_id: int,
                    tails: dict[int, float], changed: list[tuple[int, float]]) -> int | None:
    """The usual sync without staging or a window: new heartbeats (one batch) get their gaps computed in numpy —
    from the users' last rows alone when they all come at or after them (replica_gaps.appended_gaps), else from
    their stored neighbours (interleaved_gaps) — the stored rows whose gaps change get theirs, and the rows are
    inserted. Returns the rows copied, or None with nothing done when the rows do not qualify (more than one
    batch, or a NULL source: stage_heartbeats and apply_changes do it).
    `tails` and `changed` are updated as apply_changes updates them."""
    batches = fetch_batches(store, after_id=after_id, up_to_id=up_to_id)
    try:
        batch = next(batches, None)
        if batch is None:
            return 0
        if next(batches, None) is not None:
            return None
    finally:
        batches.close()
    planned = replica_gaps.appended_gaps(batch, tails)
    if planned is None:  # some rows fall between stored ones: their neighbours are read, still no window
        planned = replica_gaps.interleaved_gaps(cursor, batch, tails)
        if planned is None:
            return None
    replica_gaps.write_updates(cursor, planned)
    replica_gaps.close_tails(cursor, planned.closing)
    cursor.register("copy_batch", {**batch, "gap": planned.gap, "has_gap": planned.has_gap})
    try:
        cursor.execute(f"INSERT INTO heartbeats {_BATCH_WITH_GAPS_SELECT}")
    finally:
        cursor.unregister("copy_batch")
    # Rows whose intervals changed: the new stream rows and the users' previous last rows.
    changed.extend((user, time) for user, time, _ in planned.closing)
    changed.extend(planned.updated)
    changed.extend(zip(batch["user_id"][planned.stream].tolist(), batch["time"][planned.stream].tolist(), strict=True))
    tails.update(planned.last)
    return len(batch["id"])


def unstage(target: duckdb.DuckDBPyConnection, staged: Staged) -> None:
    """Drop what stage_heartbeats made (once its rows are in `heartbeats`)."""
    if staged == "table":
        target.execute("DROP TABLE staged")


def delete_tombstoned(store: StoreBackend, cursor: duckdb.DuckDBPyConnection, after: int,
                      up_to: int) -> tuple[int, list[tuple[int, float]]]:
    """Delete the rows whose tombstones have after < seq <= up_to; returns (rows deleted, (user_id, time) of
    each deleted row that was part of a stream, i.e. not from an excluded source)."""
    if up_to <= after:
        return 0, []
    ids = store.deleted_heartbeat_ids(after, up_to)
    if not ids:
        return 0, []
    excluded, params = excluded_sources_sql()
    cursor.register("gone", {"id": np.array(ids, dtype=np.int64)})
    try:
        found = cursor.execute(f"SELECT rowid, user_id, time, {excluded} FROM heartbeats "
                               "WHERE id IN (SELECT id FROM gone)", params).fetchall()
    finally:
        cursor.unregister("gone")
    if not found:
        return 0, []
    cursor.register("gone_rows", {"rid": np.array([row[0] for row in found], dtype=np.int64)})
    try:
        cursor.execute("DELETE FROM heartbeats WHERE rowid IN (SELECT rid FROM gone_rows)")
    finally:
        cursor.unregister("gone_rows")
    return len(found), [(user_id, time_) for _, user_id, time_, is_excluded in found if not is_excluded]


def replace_users(store: StoreBackend, cursor: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Replace the users table with the store's users, their rule resolved against the server defaults (so
    queries read one effective timeout and mode per user)."""
    rows = [(u.id, u.username, u.timezone, u.timeout, u.duration_mode, u.trust_level, u.leaderboard_opt_out,
             u.is_disabled) for u in store.list_users()]
    cursor.execute("DELETE FROM users")
    if not rows:
        return
    columns = list(zip(*rows, strict=True))
    cursor.register("user_rows", {
        "id": np.array(columns[0], dtype=np.int32),
        "username": np.array(columns[1], dtype=object),
        "timezone": np.array([tz or "UTC" for tz in columns[2]], dtype=object),
        "timeout": np.array([t if t is not None else settings.default_timeout for t in columns[3]], dtype=np.int32),
        "duration_mode": np.array([m or settings.default_mode for m in columns[4]], dtype=object),
        "trust_level": np.array(columns[5], dtype=object),
        "leaderboard_opt_out": np.array([bool(v) for v in columns[6]], dtype=bool),
        "is_disabled": np.array([bool(v) for v in columns[7]], dtype=bool),
    })
    try:
        cursor.execute("INSERT INTO users SELECT * FROM user_rows")
    finally:
        cursor.unregister("user_rows")
