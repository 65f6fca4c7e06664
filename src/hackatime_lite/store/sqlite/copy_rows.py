"""Whole-table export and import for `store copy` (SQLite side): rows as column -> value, ids kept.

Table and column names in the SQL below come from interface.COPY_TABLES and the database's own schema
(PRAGMA table_info), never from the caller's data: names in `rows` are checked against that schema.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils

from hackatime_lite.store.interface import COPY_TABLES, MigrationStatus
from hackatime_lite.store.sqlite.migrations import applied_migrations, migration_names


def _table(table: str) -> tuple[str, ...]:
    try:
        return COPY_TABLES[table]
    except KeyError:
        raise ValueError(f"not a copied table: {table!r}") from None


def migration_status(path: Path, conn: sqlite3.Connection | None) -> MigrationStatus:
    """`conn` is None when the file does not exist yet: every migration is pending."""
    applied = applied_migrations(sqlite_utils.Database(conn)) if conn is not None else []
    return MigrationStatus("sqlite", applied, [name for name in migration_names() if name not in applied])


def table_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    _table(table)
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})").fetchall()]


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in COPY_TABLES}


def export_rows(conn: sqlite3.Connection, table: str, *, after: int | None, limit: int | None) -> list[dict[str, Any]]:
    key = _table(table)
    columns = table_columns(conn, table)
    sql = f"SELECT {', '.join(columns)} FROM {table}"
    params: list[Any] = []
    if after is not None:
        if key != ("id",):
            raise ValueError(f"{table} is not keyed by id")
        sql += " WHERE id > ?"
        params.append(after)
    sql += f" ORDER BY {', '.join(key)}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    cursor = conn.cursor()
    cursor.row_factory = None
    try:
        return [dict(zip(columns, row, strict=True)) for row in cursor.execute(sql, params)]
    finally:
        cursor.close()


def import_rows(db: sqlite_utils.Database, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
    if not rows:
        return 0
    key = _table(table)
    known = table_columns(db.conn, table)
    columns = [c for c in known if c in rows[0]]
    unknown = set(rows[0]) - set(known)
    if unknown:
        raise ValueError(f"{table} has no column(s) {', '.join(sorted(unknown))}")
    placeholders = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    if table == "heartbeats":
        # Inserted, never updated: a heartbeat does not change once stored, and a resumed copy starts
        # after the target's highest id.
        sql += " ON CONFLICT DO NOTHING"
    else:
        updates = [c for c in columns if c not in key]
        action = ("DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updates)) if updates else "DO NOTHING"
        sql += f" ON CONFLICT ({', '.join(key)}) {action}"
    # rowcount, not total_changes: the users triggers' kv writes are not rows of this table.
    return db.conn.executemany(sql, [tuple(row.get(c) for c in columns) for row in rows]).rowcount
