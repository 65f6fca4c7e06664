"""What the PostgreSQL modules share: the connection type and row helpers.

PostgreSQL text cannot hold NUL characters (SQLite's can): every bound string has them replaced by U+FFFD,
the same way on the way in and in lookups, so a value stored with one is still found by the same value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row

Connection = psycopg.Connection[Any]
Params = Sequence[Any] | dict[str, Any]
NUL_STAND_IN = "\ufffd"


def _safe_value(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", NUL_STAND_IN) if "\x00" in value else value
    if isinstance(value, list):
        return [_safe_value(v) for v in value]
    return value


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(isinstance(v, str) and "\x00" in v for v in value)
    return False


def safe(params: Params) -> Params:
    """`params` with NUL characters in strings replaced (a copy only when one is there)."""
    if isinstance(params, dict):
        if any(_has_nul(v) for v in params.values()):
            return {k: _safe_value(v) for k, v in params.items()}
        return params
    if any(_has_nul(v) for v in params):
        return [_safe_value(v) for v in params]
    return params


def dicts(conn: Connection, sql: str, params: Params = ()) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(sql, safe(params))
        return cursor.fetchall()


def rows(conn: Connection, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
    return conn.execute(sql, safe(params)).fetchall()


def one(conn: Connection, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
    return conn.execute(sql, safe(params)).fetchone()


def execute(conn: Connection, sql: str, params: Params = ()) -> int:
    """Run one statement; returns the rows it affected."""
    return conn.execute(sql, safe(params)).rowcount
