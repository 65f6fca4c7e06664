"""Heartbeat rows in SQLite: dedup-aware inserts, deletions, and the per-user reads outside analytics."""

from __future__ import annotations

import functools
import itertools
import sqlite3
from collections.abc import Iterable, Sequence

import sqlite_utils

from hackatime_lite.models import HEARTBEAT_COLUMNS
from hackatime_lite.store.origins import RELAYED_SOURCES
from hackatime_lite.store.records import STORED_COLUMNS, HeartbeatRow, InsertOutcome, UserAgentSeen
from hackatime_lite.store.sqlite import outbox

_COLUMN_LIST = ", ".join(HEARTBEAT_COLUMNS)
_STORED_LIST = ", ".join(STORED_COLUMNS)
_HASH_INDEX = HEARTBEAT_COLUMNS.index("dedup_hash")
_INSERT_SQL = (
    f"INSERT INTO heartbeats ({_COLUMN_LIST}) VALUES ({', '.join('?' for _ in HEARTBEAT_COLUMNS)}) "
    "ON CONFLICT(dedup_hash) DO NOTHING"
)
# Rows per multi-row INSERT: 30 columns x 300 rows stays far below SQLite's default limit of 32766 bound
# parameters (SQLITE_MAX_VARIABLE_NUMBER before 3.32 was 999, hence the check in _rows_per_statement).
_MAX_ROWS_PER_STATEMENT = 300


@functools.lru_cache(maxsize=_MAX_ROWS_PER_STATEMENT)
def _multi_insert_sql(count: int) -> str:
    one = f"({', '.join('?' for _ in HEARTBEAT_COLUMNS)})"
    return (f"INSERT INTO heartbeats ({_COLUMN_LIST}) VALUES {', '.join(itertools.repeat(one, count))} "
            "ON CONFLICT(dedup_hash) DO NOTHING")


def _rows_per_statement(conn: sqlite3.Connection) -> int:
    return max(1, min(_MAX_ROWS_PER_STATEMENT, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
                      // len(HEARTBEAT_COLUMNS)))


def _insert_chunk(conn: sqlite3.Connection, rows: Sequence[HeartbeatRow]) -> tuple[int, int]:
    """One multi-row INSERT that skips rows whose hash is stored; (rows inserted, id of the last inserted).

    One statement rather than executemany: executemany lets go of the GIL around every row's step and then
    waits for it again, behind the event loop thread, for every row; one statement binds all its rows in one
    C call and steps once.
    """
    cursor = conn.execute(_multi_insert_sql(len(rows)), list(itertools.chain.from_iterable(rows)))
    return cursor.rowcount, cursor.lastrowid or 0


def insert_rows(db: sqlite_utils.Database, rows: Sequence[HeartbeatRow]) -> list[InsertOutcome]:
    """Insert rows (HEARTBEAT_COLUMNS order); returns (id, newly_inserted) per row. Duplicates keep the old id.

    Runs in the single writer thread inside its transaction, so nothing else inserts meanwhile: the rows of a
    statement that skipped none got consecutive ids, in order, ending at its last insert rowid. So the usual
    batch (no duplicates) costs one statement and no lookup; a chunk with duplicates (of stored rows or of
    each other) looks its hashes up afterwards.
    """
    conn = db.conn
    per_statement = _rows_per_statement(conn)
    results: list[InsertOutcome] = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        inserted, last_id = _insert_chunk(conn, chunk)
        if inserted == len(chunk):
            first_id = last_id - inserted + 1
            results.extend((first_id + offset, True) for offset in range(inserted))
            continue
        hashes = [row[_HASH_INDEX] for row in chunk]
        ids: dict[object, int] = dict(conn.execute(
            f"SELECT dedup_hash, id FROM heartbeats WHERE dedup_hash IN ({', '.join('?' * len(hashes))})",
            hashes).fetchall())
        # A skipped row may use up an id, so the new ones need not be consecutive here; but AUTOINCREMENT
        # gives every new row an id above all earlier ones, so the new rows are the `inserted` highest ids.
        new_ids = set(sorted(set(ids.values()))[len(ids) - inserted:]) if inserted else set()
        claimed: set[object] = set()
        for row_hash in hashes:
            row_id = ids[row_hash]
            results.append((row_id, row_id in new_ids and row_hash not in claimed))
            claimed.add(row_hash)
    return results


class InsertRequest:
    """One request's rows for insert_requests, and what its mirror outbox rows need."""

    __slots__ = ("origins", "rows", "source", "user_id", "when")

    def __init__(self, rows: Sequence[HeartbeatRow], user_id: int, source: str, origins: tuple[str, ...],
                 when: float) -> None:
        self.rows, self.user_id, self.source, self.origins, self.when = rows, user_id, source, origins, when


def insert_requests(db: sqlite_utils.Database, requests: list[InsertRequest]) -> list[list[InsertOutcome]]:
    """The rows of several requests (queued together in one group commit) inserted as one, each request's new
    rows queued for its user's mirrors; one outcome list per request.

    The same as inserting request by request: rows are inserted in queue order, so a heartbeat sent twice is
    new in the earlier request and a duplicate in the later one, and the outbox rows come in the same order.
    """
    if len(requests) == 1:
        rows: Sequence[HeartbeatRow] = requests[0].rows
    else:
        rows = [row for request in requests for row in request.rows]
    outcomes = insert_rows(db, rows) if rows else []
    per_request: list[list[InsertOutcome]] = []
    start = 0
    for request in requests:
        per_request.append(outcomes[start:start + len(request.rows)])
        start += len(request.rows)
    relayed = [(request, got) for request, got in zip(requests, per_request, strict=True)
               if request.source in RELAYED_SOURCES and any(created for _, created in got)]
    if relayed:
        mirrored = outbox.users_with_targets(db, (request.user_id for request, _ in relayed))
        for request, got in relayed:
            if request.user_id in mirrored:
                outbox.enqueue_new_heartbeats(db, request.user_id, [i for i, created in got if created],
                                              source=request.source, origins=request.origins, now=request.when)
    return per_request


def insert_rows_fast(db: sqlite_utils.Database, rows: Sequence[HeartbeatRow]) -> int:
    """Bulk insert for imports; returns how many rows were new."""
    conn = db.conn
    before = conn.total_changes
    conn.executemany(_INSERT_SQL, rows)
    return conn.total_changes - before


def latest_heartbeat_fields(conn: sqlite3.Connection, user_id: int) -> dict[str, str | None]:
    """project / language / branch of the user's newest heartbeat, to fill <<LAST_*>> placeholders."""
    row = conn.execute(
        "SELECT project, language, branch FROM heartbeats WHERE user_id = ? ORDER BY time DESC, id DESC LIMIT 1",
        (user_id,),
    ).fetchone()
    if row is None:
        return {"project": None, "language": None, "branch": None}
    return {"project": row[0], "language": row[1], "branch": row[2]}


def delete_heartbeats(
    db: sqlite_utils.Database,
    user_id: int,
    *,
    start: float | None = None,
    end: float | None = None,
    ids: Sequence[int] | None = None,
) -> int:
    """Delete a user's heartbeats in [start, end) and/or by id; the trigger leaves tombstones for the replica."""
    clauses: list[str] = ["user_id = ?"]
    params: list[float] = [user_id]
    if start is not None:
        clauses.append("time >= ?")
        params.append(start)
    if end is not None:
        clauses.append("time < ?")
        params.append(end)
    if ids is not None:
        clauses.append(f"id IN ({', '.join('?' for _ in ids)})")
        params.extend(ids)
    cursor = db.conn.execute(f"DELETE FROM heartbeats WHERE {' AND '.join(clauses)}", params)
    return cursor.rowcount


# -- reads --------------------------------------------------------------------------------------
def heartbeat_rows(conn: sqlite3.Connection, user_id: int, start: float | None, end: float | None, *,
                   after: tuple[float, int] | None = None, limit: int | None = None) -> list[HeartbeatRow]:
    """STORED_COLUMNS rows with start <= time < end, ordered by (time, id), optionally after a (time, id)
    key (keyset pagination: each page is one query, so a stream may be pulled from any thread)."""
    low = float("-inf") if start is None else start
    high = float("inf") if end is None else end
    if after is None:
        sql = f"SELECT {_STORED_LIST} FROM heartbeats WHERE user_id = ? AND time >= ? AND time < ?"
        params: list[object] = [user_id, low, high]
    else:
        sql = (f"SELECT {_STORED_LIST} FROM heartbeats WHERE user_id = ? AND time < ? "
               "AND (time > ? OR (time = ? AND id > ?))")
        params = [user_id, high, after[0], after[0], after[1]]
    sql += " ORDER BY time, id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    cursor = conn.execute(sql, params)
    cursor.row_factory = None
    return cursor.fetchall()


def newest_heartbeat(conn: sqlite3.Connection, user_id: int, *, editor: str | None = None) -> HeartbeatRow | None:
    """The user's newest heartbeat of any source but `test` (optionally from one editor, any case)."""
    sql = f"SELECT {_STORED_LIST} FROM heartbeats WHERE user_id = ? AND source != 'test'"
    params: list[object] = [user_id]
    if editor:
        sql += " AND lower(editor) = lower(?)"
        params.append(editor)
    cursor = conn.execute(sql + " ORDER BY time DESC, id DESC LIMIT 1", params)
    cursor.row_factory = None
    return cursor.fetchone()


def heartbeat_ids(conn: sqlite3.Connection, user_id: int, start: float | None, end: float | None, *, limit: int,
                  after_id: int | None = None) -> list[int]:
    """Up to `limit` ids of the user's heartbeats with start <= time < end.

    Without `after_id` they come in no particular order, which lets SQLite stop at the first `limit` rows of
    the (user, time) index: for deleting in chunks. With it, ids above `after_id` in id order: for paging.
    """
    sql = "SELECT id FROM heartbeats WHERE user_id = ? AND time >= ? AND time < ?"
    params: list[object] = [user_id, float("-inf") if start is None else start,
                            float("inf") if end is None else end]
    if after_id is not None:
        sql += " AND id > ? ORDER BY id"
        params.append(after_id)
    return [row[0] for row in conn.execute(sql + " LIMIT ?", (*params, limit)).fetchall()]


def has_project(conn: sqlite3.Connection, user_id: int, project: str) -> bool:
    """One lookup on the (user, project, time) index."""
    found = conn.execute("SELECT 1 FROM heartbeats WHERE user_id = ? AND project = ? LIMIT 1", (user_id, project))
    return found.fetchone() is not None


def last_heartbeat_times(conn: sqlite3.Connection, user_ids: Iterable[int]) -> dict[int, float | None]:
    """Newest heartbeat time per user: one lookup on the (user_id, time) index each, cheap with millions of rows."""
    return {
        uid: conn.execute("SELECT MAX(time) FROM heartbeats WHERE user_id = ?", (uid,)).fetchone()[0]
        for uid in user_ids
    }


def user_agents(conn: sqlite3.Connection, user_id: int) -> list[UserAgentSeen]:
    """Each user agent the user sent, most recently seen first."""
    rows = conn.execute(
        "SELECT user_agent, MAX(editor), MAX(operating_system), MIN(created_at), MAX(time) FROM heartbeats "
        "WHERE user_id = ? AND user_agent IS NOT NULL AND user_agent != '' GROUP BY user_agent "
        "ORDER BY 5 DESC, 1", (user_id,)).fetchall()
    return [UserAgentSeen(*row) for row in rows]
