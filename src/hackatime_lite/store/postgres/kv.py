"""The kv table in PostgreSQL: the resumable imports' progress (and the instance id, the users version)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from hackatime_lite.store.postgres.base import Connection, execute, one

_PROGRESS_PREFIX = "import_progress:"


def _progress_key(user_id: int, source: str) -> str:
    return f"{_PROGRESS_PREFIX}{user_id}:{source}"


def import_progress(conn: Connection, user_id: int, source: str) -> dict[str, Any]:
    row = one(conn, "SELECT value FROM kv WHERE key = %s", (_progress_key(user_id, source),))
    try:
        return json.loads(row[0]) if row else {}
    except ValueError:
        return {}


def save_import_progress(conn: Connection, user_id: int, source: str, progress: dict[str, Any]) -> None:
    execute(conn, "INSERT INTO kv(key, value, updated_at) VALUES (%s, %s, %s) "
                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (_progress_key(user_id, source), json.dumps(progress), time.time()))


def delete_import_progress(conn: Connection, user_id: int) -> None:
    # starts_with, not LIKE: a source name may hold '%' or '_'.
    execute(conn, "DELETE FROM kv WHERE starts_with(key, %s)", (_progress_key(user_id, ""),))


def instance_id(conn: Connection) -> str:
    row = one(conn, "SELECT value FROM kv WHERE key = 'instance_id'")
    if row is None:
        raise RuntimeError("this database has no instance id; run `hackatime-lite migrate`")
    return str(row[0])


# Background imports' published state (when several nodes share the database), one JSON record per job.
_JOB_PREFIX = "import_job:"
JOB_RECORD_DAYS = 7


def save_import_job(conn: Connection, job_id: str, user_id: int, record: Mapping[str, Any], now: float) -> None:
    execute(conn, "INSERT INTO kv(key, value, updated_at) VALUES (%s, %s, %s) "
                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (_JOB_PREFIX + job_id, json.dumps({**record, "user_id": user_id}), now))
    # A range on the primary key (not LIKE): the old records go by an index scan.
    execute(conn, "DELETE FROM kv WHERE key >= %s AND key < %s AND updated_at < %s",
            (_JOB_PREFIX, _JOB_PREFIX[:-1] + ";", now - JOB_RECORD_DAYS * 86400))


def import_job(conn: Connection, job_id: str, user_id: int) -> dict[str, Any] | None:
    row = one(conn, "SELECT value FROM kv WHERE key = %s", (_JOB_PREFIX + job_id,))
    if row is None:
        return None
    try:
        record = json.loads(row[0])
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("user_id") == user_id else None
