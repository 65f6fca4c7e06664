"""What the analytics replica follows in SQLite: the change marks, new heartbeats in bulk, tombstones."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence

import msgspec
import numpy as np

from hackatime_lite.store.records import STORED_COLUMNS, ChangeMarks, HeartbeatRow

# AUTOINCREMENT high-water marks (sqlite_sequence), not MAX(): deleting the newest row must not look like
# the database going back in time.
_CHANGES_SQL = ("SELECT (SELECT seq FROM sqlite_sequence WHERE name = 'heartbeats'), "
                "(SELECT seq FROM sqlite_sequence WHERE name = 'heartbeat_tombstones'), "
                "(SELECT value FROM kv WHERE key = 'users_version')")


def change_marks(conn: sqlite3.Connection) -> ChangeMarks:
    max_id, max_seq, users_version = conn.execute(_CHANGES_SQL).fetchone()
    return ChangeMarks(int(max_id or 0), int(max_seq or 0), str(users_version or ""))


def lowest_heartbeat_id(conn: sqlite3.Connection) -> int | None:
    return conn.execute("SELECT MIN(id) FROM heartbeats").fetchone()[0]


# A REAL column crosses JSON as two exact integers (SQLite prints doubles with 15 digits): its integral part
# and its fraction in units of 2**-52. A double of magnitude >= 1 has no bits below that, so both are integers
# and q + s / 2**52 is exactly the double again; the statement checks that for every row.
_FRACTION_UNITS = 4503599627370496.0  # 2**52
_REAL_COLUMNS = frozenset({"time", "created_at"})
# Columns JSON cannot carry at all: read row by row.
_BLOB_COLUMNS = frozenset({"dedup_hash"})


def _real_parts(name: str) -> tuple[str, str]:
    return f"CAST({name} AS INTEGER)", f"CAST(({name} - CAST({name} AS INTEGER)) * {_FRACTION_UNITS} AS INTEGER)"


def _json_batch_sql(names: list[str]) -> str:
    inner = ", ".join(dict.fromkeys(["id", *names]))
    parts: list[str] = []
    checks: list[str] = []
    for name in names:
        if name in _REAL_COLUMNS:
            whole, fraction = _real_parts(name)
            parts += [f"json_group_array({whole})", f"json_group_array({fraction})"]
            # NULL or NaN fails the comparison too: such a batch is read row by row.
            checks.append(f"SUM(CASE WHEN {name} = {whole} + {fraction} / {_FRACTION_UNITS} THEN 0 ELSE 1 END)")
        else:
            parts.append(f"json_group_array({name})")
    inexact = " + ".join(checks) if checks else "0"
    return (f"SELECT COUNT(*), MAX(id), {inexact}, {', '.join(parts)} FROM "
            f"(SELECT {inner} FROM heartbeats WHERE id > ? AND id <= ? ORDER BY id LIMIT ?)")


def heartbeat_batches(conn: sqlite3.Connection, columns: Sequence[str], *, after_id: int, up_to_id: int,
                      batch_rows: int) -> Iterator[list[HeartbeatRow]]:
    """`columns` of the heartbeats with after_id < id <= up_to_id in id order, `batch_rows` at a time.

    Each batch is one statement whose single result row holds every column as a JSON array (decoded in C),
    rather than a cursor stepped row by row: sqlite3 lets go of the GIL around every step and must win it
    back from the request threads each time, which made the replica's sync the heaviest GIL user under
    ingest. A batch the JSON route cannot carry exactly is read row by row instead.
    """
    unknown = set(columns) - set(STORED_COLUMNS)
    if unknown:
        raise ValueError(f"not heartbeat columns: {', '.join(sorted(unknown))}")
    names = list(columns)
    sql = None if not names or _BLOB_COLUMNS & set(names) else _json_batch_sql(names)
    after = after_id
    while after < up_to_id:
        rows: list[HeartbeatRow] | None = None
        if sql is not None:
            try:
                count, last_id, inexact, *arrays = conn.execute(sql, (after, up_to_id, batch_rows)).fetchone()
            except sqlite3.OperationalError:  # e.g. "JSON cannot hold BLOB values" (a BLOB in a text column)
                count, last_id, inexact, arrays = None, None, 1, []
            if count == 0:
                return
            if not inexact:
                rows = _rows_from_json(names, arrays, count)
        if rows is None:
            rows, last_id = _stepped_rows(conn, names, after, up_to_id, batch_rows)
            if not rows:
                return
        yield rows
        after = last_id


def _rows_from_json(names: list[str], arrays: list[str], count: int) -> list[HeartbeatRow] | None:
    """The rows from one JSON array per column (a REAL column as its two parts); None if they do not line up."""
    decoded = [msgspec.json.decode(array) for array in arrays]
    columns: list[list[object]] = []
    index = 0
    for name in names:
        if name in _REAL_COLUMNS:
            whole = np.array(decoded[index], dtype=np.float64)
            fraction = np.array(decoded[index + 1], dtype=np.float64)
            index += 2
            columns.append((whole + fraction / _FRACTION_UNITS).tolist())
        else:
            columns.append(decoded[index])
            index += 1
    if any(len(column) != count for column in columns):
        return None
    if "id" in names:
        ids = np.asarray(columns[names.index("id")], dtype=np.int64)
        if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            return None  # not in id order after all: read row by row
    return list(zip(*columns, strict=True))


def _stepped_rows(conn: sqlite3.Connection, names: list[str], after: int, up_to_id: int,
                  limit: int) -> tuple[list[HeartbeatRow], int]:
    """One batch read row by row; (rows, id of the last)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    try:
        fetched = cursor.execute(f"SELECT id, {', '.join(names)} FROM heartbeats WHERE id > ? AND id <= ? "
                                 "ORDER BY id LIMIT ?", (after, up_to_id, limit)).fetchall()
    finally:
        cursor.close()
    return [row[1:] for row in fetched], (fetched[-1][0] if fetched else after)


def deleted_heartbeat_ids(conn: sqlite3.Connection, after_seq: int, up_to_seq: int) -> list[int]:
    return [row[0] for row in conn.execute(
        "SELECT heartbeat_id FROM heartbeat_tombstones WHERE seq > ? AND seq <= ?", (after_seq, up_to_seq))]
