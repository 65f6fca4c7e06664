"""What the analytics replica follows in SQLite: the change marks, new heartbeats in bulk, tombstones."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence

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


def heartbeat_batches(conn: sqlite3.Connection, columns: Sequence[str], *, after_id: int, up_to_id: int,
                      batch_rows: int) -> Iterator[list[HeartbeatRow]]:
    """`columns` of the heartbeats with after_id < id <= up_to_id in id order, `batch_rows` at a time."""
    unknown = set(columns) - set(STORED_COLUMNS)
    if unknown:
        raise ValueError(f"not heartbeat columns: {', '.join(sorted(unknown))}")
    cursor = conn.cursor()
    cursor.row_factory = None
    cursor.execute(f"SELECT {', '.join(columns)} FROM heartbeats WHERE id > ? AND id <= ? ORDER BY id",
                   (after_id, up_to_id))
    try:
        while rows := cursor.fetchmany(batch_rows):
            yield rows
    finally:
        cursor.close()


def deleted_heartbeat_ids(conn: sqlite3.Connection, after_seq: int, up_to_seq: int) -> list[int]:
    return [row[0] for row in conn.execute(
        "SELECT heartbeat_id FROM heartbeat_tombstones WHERE seq > ? AND seq <= ?", (after_seq, up_to_seq))]
