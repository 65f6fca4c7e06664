"""The kv table in SQLite: small named values. Here, the resumable imports' progress (JSON per user and
upstream account); the migrations keep the instance id and the users version there too."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

import sqlite_utils

_PROGRESS_PREFIX = "import_progress:"


def _progress_key(user_id: int, source: str) -> str:
    return f"{_PROGRESS_PREFIX}{user_id}:{source}"


def import_progress(conn: sqlite3.Connection, user_id: int, source: str) -> dict[str, Any]:
    """The saved progress, {} when there is none (or it is unreadable: the import then starts over)."""
    row = conn.execute("SELECT value FROM kv WHERE key = ?", (_progress_key(user_id, source),)).fetchone()
    try:
        return json.loads(row[0]) if row else {}
    except ValueError:
        return {}


def save_import_progress(db: sqlite_utils.Database, user_id: int, source: str, progress: dict[str, Any]) -> None:
    db.execute(
        "INSERT INTO kv(key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (_progress_key(user_id, source), json.dumps(progress), time.time()))


def delete_import_progress(db: sqlite_utils.Database, user_id: int) -> None:
    db.execute("DELETE FROM kv WHERE key LIKE ?", (_progress_key(user_id, "%"),))
