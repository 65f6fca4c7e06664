"""Heartbeat rows in PostgreSQL: dedup-aware inserts (UNIQUE hash, ON CONFLICT DO NOTHING), deletions, and the
per-user reads outside analytics. Ids are allocated in commit order by the schema's triggers (migrations.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from hackatime_lite.models import HEARTBEAT_COLUMNS
from hackatime_lite.store.postgres.base import Connection, execute, one, rows
from hackatime_lite.store.records import STORED_COLUMNS, HeartbeatRow, InsertOutcome, UserAgentSeen

_COLUMN_LIST = ", ".join(HEARTBEAT_COLUMNS)
_STORED_LIST = ", ".join(STORED_COLUMNS)
_HASH_INDEX = HEARTBEAT_COLUMNS.index("dedup_hash")
# Rows go in as one array per column (unnest): a short statement whatever the batch size, so psycopg caches
# its parsing and the server its plan (a VALUES list of 25 rows × 30 columns cost ~20 ms a batch in the
# client's query parser alone).
_BIGINT = {"user_id", "lines", "lineno", "cursorpos", "project_root_count", "line_additions", "line_deletions",
           "ai_line_changes", "human_line_changes", "ai_input_tokens", "ai_output_tokens", "ai_prompt_length"}
_TYPES = {name: "bigint" if name in _BIGINT else "float8" if name in ("time", "created_at")
          else "smallint" if name == "is_write" else "bytea" if name == "dedup_hash" else "text"
          for name in HEARTBEAT_COLUMNS}
_UNNEST = ", ".join(f"%s::{_TYPES[name]}[]" for name in HEARTBEAT_COLUMNS)
# Rows per statement: bounded so one statement stays a modest message.
_CHUNK = 5000


def _insert_sql(returning: bool) -> str:
    sql = (f"INSERT INTO heartbeats ({_COLUMN_LIST}) SELECT * FROM unnest({_UNNEST}) "
           "ON CONFLICT (dedup_hash) DO NOTHING")
    return sql + " RETURNING dedup_hash, id" if returning else sql


def _columns(chunk: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    return [list(column) for column in zip(*chunk, strict=True)]


def insert_rows(conn: Connection, batch: Sequence[HeartbeatRow]) -> list[InsertOutcome]:
    """Insert rows (HEARTBEAT_COLUMNS order); returns (id, newly_inserted) per row. Duplicates keep the old id.

    A row another node inserted meanwhile is skipped by ON CONFLICT and found by the lookup that follows
    (it waited for that node's transaction, so the row is committed by then)."""
    hashes = [bytes(row[_HASH_INDEX]) for row in batch]
    fresh: dict[bytes, tuple[Any, ...]] = {}
    for row_hash, row in zip(hashes, batch, strict=True):
        fresh.setdefault(row_hash, tuple(row))
    inserted: dict[bytes, int] = {}
    values = list(fresh.values())
    for start in range(0, len(values), _CHUNK):
        chunk = values[start:start + _CHUNK]
        inserted.update((bytes(h), i) for h, i in rows(conn, _insert_sql(True), _columns(chunk)))
    missing = [h for h in fresh if h not in inserted]
    existing: dict[bytes, int] = {}
    if missing:
        existing = {bytes(h): i for h, i in rows(
            conn, "SELECT dedup_hash, id FROM heartbeats WHERE dedup_hash = ANY(%s)", (missing,))}
    results: list[InsertOutcome] = []
    claimed: set[bytes] = set()
    for row_hash in hashes:
        if row_hash in inserted and row_hash not in claimed:
            claimed.add(row_hash)
            results.append((inserted[row_hash], True))
        else:
            results.append((inserted.get(row_hash) or existing[row_hash], False))
    return results


def insert_rows_fast(conn: Connection, batch: Sequence[HeartbeatRow]) -> int:
    """Bulk insert for imports; returns how many rows were new."""
    new = 0
    values = [tuple(row) for row in batch]
    for start in range(0, len(values), _CHUNK):
        chunk = values[start:start + _CHUNK]
        new += execute(conn, _insert_sql(False), _columns(chunk))
    return new


def latest_heartbeat_fields(conn: Connection, user_id: int) -> dict[str, str | None]:
    row = one(conn, "SELECT project, language, branch FROM heartbeats WHERE user_id = %s "
                    "ORDER BY time DESC, id DESC LIMIT 1", (user_id,))
    if row is None:
        return {"project": None, "language": None, "branch": None}
    return {"project": row[0], "language": row[1], "branch": row[2]}


def delete_heartbeats(conn: Connection, user_id: int, *, start: float | None = None, end: float | None = None,
                      ids: Sequence[int] | None = None) -> int:
    """Delete in [start, end) and/or by id; the statement trigger leaves the tombstones."""
    clauses: list[str] = ["user_id = %s"]
    params: list[Any] = [user_id]
    if start is not None:
        clauses.append("time >= %s")
        params.append(start)
    if end is not None:
        clauses.append("time < %s")
        params.append(end)
    if ids is not None:
        clauses.append("id = ANY(%s::bigint[])")
        params.append(list(ids))
    return execute(conn, f"DELETE FROM heartbeats WHERE {' AND '.join(clauses)}", params)


# -- reads --------------------------------------------------------------------------------------
def heartbeat_rows(conn: Connection, user_id: int, start: float | None, end: float | None, *,
                   after: tuple[float, int] | None = None, limit: int | None = None) -> list[HeartbeatRow]:
    low = float("-inf") if start is None else start
    high = float("inf") if end is None else end
    if after is None:
        sql = f"SELECT {_STORED_LIST} FROM heartbeats WHERE user_id = %s AND time >= %s AND time < %s"
        params: list[Any] = [user_id, low, high]
    else:
        sql = (f"SELECT {_STORED_LIST} FROM heartbeats WHERE user_id = %s AND time < %s "
               "AND (time > %s OR (time = %s AND id > %s))")
        params = [user_id, high, after[0], after[0], after[1]]
    sql += " ORDER BY time, id"
    if limit is not None:
        sql += " LIMIT %s"
        params.append(limit)
    return rows(conn, sql, params)


def newest_heartbeat(conn: Connection, user_id: int, *, editor: str | None = None) -> HeartbeatRow | None:
    sql = f"SELECT {_STORED_LIST} FROM heartbeats WHERE user_id = %s AND source != 'test'"
    params: list[Any] = [user_id]
    if editor:
        sql += " AND lower(editor) = lower(%s)"
        params.append(editor)
    return one(conn, sql + " ORDER BY time DESC, id DESC LIMIT 1", params)


def heartbeat_ids(conn: Connection, user_id: int, start: float | None, end: float | None, *, limit: int,
                  after_id: int | None = None) -> list[int]:
    sql = "SELECT id FROM heartbeats WHERE user_id = %s AND time >= %s AND time < %s"
    params: list[Any] = [user_id, float("-inf") if start is None else start, float("inf") if end is None else end]
    if after_id is not None:
        sql += " AND id > %s ORDER BY id"
        params.append(after_id)
    return [row[0] for row in rows(conn, sql + " LIMIT %s", [*params, limit])]


def has_project(conn: Connection, user_id: int, project: str) -> bool:
    return one(conn, "SELECT 1 FROM heartbeats WHERE user_id = %s AND project = %s LIMIT 1",
               (user_id, project)) is not None


def last_heartbeat_times(conn: Connection, user_ids: Iterable[int]) -> dict[int, float | None]:
    wanted = list(user_ids)
    found = dict(rows(conn, "SELECT u, (SELECT max(time) FROM heartbeats WHERE user_id = u) "
                            "FROM unnest(%s::bigint[]) AS u", (wanted,)))
    return {uid: found.get(uid) for uid in wanted}


def user_agents(conn: Connection, user_id: int) -> list[UserAgentSeen]:
    found = rows(conn, "SELECT user_agent, MAX(editor), MAX(operating_system), MIN(created_at), MAX(time) "
                       "FROM heartbeats WHERE user_id = %s AND user_agent IS NOT NULL AND user_agent != '' "
                       "GROUP BY user_agent ORDER BY 5 DESC, user_agent COLLATE \"C\"", (user_id,))
    return [UserAgentSeen(*row) for row in found]
