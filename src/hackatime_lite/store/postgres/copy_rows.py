"""Whole-table export and import for `store copy` (PostgreSQL side): rows as column -> value, ids kept.

Table and column names in the SQL come from interface.COPY_TABLES and the database's own catalogue, never
from the caller's data: names in `rows` are checked against the catalogue. Imported heartbeats still pass the
id-order and watermark triggers (migrations.py), so replicas see them; identity sequences are moved past the
ids written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hackatime_lite.store.interface import COPY_TABLES, MigrationStatus
from hackatime_lite.store.postgres.base import Connection, dicts, execute, one, rows, safe
from hackatime_lite.store.postgres.migrations import applied_migrations, migration_names


def _table(table: str) -> tuple[str, ...]:
    try:
        return COPY_TABLES[table]
    except KeyError:
        raise ValueError(f"not a copied table: {table!r}") from None


def migration_status(conn: Connection) -> MigrationStatus:
    applied = applied_migrations(conn)
    return MigrationStatus("postgresql", applied, [name for name in migration_names() if name not in applied])


def table_columns(conn: Connection, table: str) -> list[str]:
    _table(table)
    return [row[0] for row in rows(conn, "SELECT column_name FROM information_schema.columns "
                                         "WHERE table_schema = current_schema() AND table_name = %s "
                                         "ORDER BY ordinal_position", (table,))]


def table_counts(conn: Connection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in COPY_TABLES:
        row = one(conn, f"SELECT COUNT(*) FROM {table}")
        counts[table] = int(row[0]) if row else 0
    return counts


def export_rows(conn: Connection, table: str, *, after: int | None, limit: int | None) -> list[dict[str, Any]]:
    key = _table(table)
    columns = table_columns(conn, table)
    sql = f"SELECT {', '.join(columns)} FROM {table}"
    params: list[Any] = []
    if after is not None:
        if key != ("id",):
            raise ValueError(f"{table} is not keyed by id")
        sql += " WHERE id > %s"
        params.append(after)
    # Binary order of text keys, as SQLite sorts them.
    text = {row[0] for row in rows(conn, "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                         "current_schema() AND table_name = %s AND data_type = 'text'", (table,))}
    sql += " ORDER BY " + ", ".join(f'{k} COLLATE "C"' if k in text else k for k in key)
    if limit is not None:
        sql += " LIMIT %s"
        params.append(limit)
    return dicts(conn, sql, params)


def import_rows(conn: Connection, table: str, batch: Sequence[Mapping[str, Any]]) -> int:
    if not batch:
        return 0
    key = _table(table)
    known = table_columns(conn, table)
    unknown = set(batch[0]) - set(known)
    if unknown:
        raise ValueError(f"{table} has no column(s) {', '.join(sorted(unknown))}")
    columns = [c for c in known if c in batch[0]]
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('%s' for _ in columns)})"
    if table == "heartbeats":
        sql += " ON CONFLICT DO NOTHING"
    else:
        updates = [c for c in columns if c not in key]
        action = ("DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updates)) if updates else "DO NOTHING"
        sql += f" ON CONFLICT ({', '.join(key)}) {action}"
    with conn.cursor() as cursor:
        # executemany runs in pipeline mode (one round trip for the batch); rowcount adds up the rows written.
        cursor.executemany(sql, [safe([row.get(c) for c in columns]) for row in batch])
        written = max(cursor.rowcount, 0)
    if key == ("id",) and "id" in columns:
        top = one(conn, f"SELECT max(id) FROM {table}")
        if top and top[0] is not None:
            execute(conn, f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                          f"GREATEST(%s, (SELECT last_value FROM {table}_id_seq)))", (top[0],))
    return written
