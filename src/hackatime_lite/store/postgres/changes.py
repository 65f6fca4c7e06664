"""What the analytics replica follows in PostgreSQL: the watermarks, new heartbeats in pages, tombstones.

The watermarks (`replica_marks`) only ever rise and cover only committed ids; see migrations.py for why no
id below a watermark can still become visible."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial

from hackatime_lite.store.postgres.base import Connection, one, rows
from hackatime_lite.store.records import STORED_COLUMNS, ChangeMarks, HeartbeatRow

# One statement, so one snapshot for all three marks.
_CHANGES_SQL = ("SELECT (SELECT value FROM replica_marks WHERE name = 'heartbeat_id'), "
                "(SELECT value FROM replica_marks WHERE name = 'tombstone_seq'), "
                "(SELECT value FROM kv WHERE key = 'users_version')")


def change_marks(conn: Connection) -> ChangeMarks:
    max_id, max_seq, users_version = one(conn, _CHANGES_SQL)  # type: ignore[misc]  # a SELECT without FROM: one row
    return ChangeMarks(int(max_id or 0), int(max_seq or 0), str(users_version or ""))


def lowest_heartbeat_id(conn: Connection) -> int | None:
    row = one(conn, "SELECT MIN(id) FROM heartbeats")
    return None if row is None else row[0]


def heartbeat_page(conn: Connection, columns: Sequence[str], after_id: int, up_to_id: int,
                   limit: int) -> list[HeartbeatRow]:
    unknown = set(columns) - set(STORED_COLUMNS)
    if unknown:
        raise ValueError(f"not heartbeat columns: {', '.join(sorted(unknown))}")
    return rows(conn, f"SELECT {', '.join(columns)} FROM heartbeats WHERE id > %s AND id <= %s ORDER BY id LIMIT %s",
                (after_id, up_to_id, limit))


PageReader = Callable[[Callable[[Connection], list[HeartbeatRow]]], list[HeartbeatRow]]


def heartbeat_batches(read_page: PageReader, columns: Sequence[str], *, after_id: int, up_to_id: int,
                      batch_rows: int) -> Iterator[list[HeartbeatRow]]:
    """Pages by id (keyset): each page is one query on any pooled connection, so the iterator holds no
    connection between pages and may be consumed from any thread. `read_page(fn)` runs fn(conn)."""
    unknown = set(columns) - set(STORED_COLUMNS)
    if unknown:
        raise ValueError(f"not heartbeat columns: {', '.join(sorted(unknown))}")
    position = columns.index("id") if "id" in columns else None
    select = list(columns) if position is not None else ["id", *columns]
    cursor = after_id
    while cursor < up_to_id:
        page = read_page(partial(heartbeat_page, columns=select, after_id=cursor, up_to_id=up_to_id,
                                 limit=batch_rows))
        if not page:
            return
        cursor = page[-1][position if position is not None else 0]
        yield page if position is not None else [row[1:] for row in page]
        if len(page) < batch_rows:
            return


def deleted_heartbeat_ids(conn: Connection, after_seq: int, up_to_seq: int) -> list[int]:
    return [row[0] for row in rows(
        conn, "SELECT heartbeat_id FROM heartbeat_tombstones WHERE seq > %s AND seq <= %s", (after_seq, up_to_seq))]
