"""Heartbeat rows in SQLite: dedup-aware inserts and the reads ingest needs."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import msgspec
import sqlite_utils

from hackatime_lite.models import HEARTBEAT_COLUMNS, Heartbeat

_COLUMN_LIST = ", ".join(HEARTBEAT_COLUMNS)
_HASH_INDEX = HEARTBEAT_COLUMNS.index("dedup_hash")
_PLAIN_INSERT_SQL = f"INSERT INTO heartbeats ({_COLUMN_LIST}) VALUES ({', '.join('?' for _ in HEARTBEAT_COLUMNS)})"
_INSERT_SQL = (
    f"INSERT INTO heartbeats ({_COLUMN_LIST}) VALUES ({', '.join('?' for _ in HEARTBEAT_COLUMNS)}) "
    "ON CONFLICT(dedup_hash) DO NOTHING"
)


def heartbeat_row(hb: Heartbeat, dedup_hash: bytes, created_at: float) -> tuple[object, ...]:
    """A Heartbeat as a tuple in HEARTBEAT_COLUMNS order."""
    return (
        hb.user_id,
        hb.time,
        hb.entity,
        hb.type,
        hb.category,
        hb.project,
        hb.branch,
        hb.language,
        msgspec.json.encode(hb.dependencies).decode() if hb.dependencies else None,
        hb.lines,
        hb.lineno,
        hb.cursorpos,
        None if hb.is_write is None else int(hb.is_write),
        hb.project_root_count,
        hb.line_additions,
        hb.line_deletions,
        hb.ai_line_changes,
        hb.human_line_changes,
        hb.ai_session,
        hb.ai_model,
        hb.ai_input_tokens,
        hb.ai_output_tokens,
        hb.ai_prompt_length,
        hb.user_agent,
        hb.editor,
        hb.operating_system,
        hb.machine,
        hb.source,
        dedup_hash,
        created_at,
    )


def insert_rows(db: sqlite_utils.Database, rows: Sequence[tuple[object, ...]]) -> list[tuple[int, bool]]:
    """Insert rows (HEARTBEAT_COLUMNS order); returns (id, newly_inserted) per row. Duplicates keep the old id.

    Runs in the single writer thread inside its transaction, so nothing else inserts meanwhile: ids of the
    new rows are consecutive, and one lookup of the batch's hashes tells duplicates apart.
    """
    conn = db.conn
    hashes = [row[_HASH_INDEX] for row in rows]
    existing: dict[object, int] = {}
    for chunk_start in range(0, len(hashes), 500):
        chunk = hashes[chunk_start : chunk_start + 500]
        query = f"SELECT dedup_hash, id FROM heartbeats WHERE dedup_hash IN ({', '.join('?' * len(chunk))})"
        existing.update(conn.execute(query, chunk).fetchall())
    fresh: list[tuple[object, ...]] = []
    fresh_positions: dict[object, int] = {}
    for row in rows:
        row_hash = row[_HASH_INDEX]
        if row_hash not in existing and row_hash not in fresh_positions:
            fresh_positions[row_hash] = len(fresh)
            fresh.append(row)
    first_id = 0
    if fresh:
        conn.executemany(_PLAIN_INSERT_SQL, fresh)
        first_id = conn.execute("SELECT last_insert_rowid()").fetchone()[0] - len(fresh) + 1
    results: list[tuple[int, bool]] = []
    claimed: set[object] = set()
    for row_hash in hashes:
        if row_hash in existing:
            results.append((existing[row_hash], False))
        else:
            results.append((first_id + fresh_positions[row_hash], row_hash not in claimed))
            claimed.add(row_hash)
    return results


def insert_rows_fast(db: sqlite_utils.Database, rows: Sequence[tuple[object, ...]]) -> int:
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
    clauses, params = ["user_id = ?"], [user_id]
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
