"""The scheduler's job records in SQLite, readable by `hackatime-lite jobs` from another process."""

from __future__ import annotations

import sqlite3

import sqlite_utils

from hackatime_lite.store.records import JobRun, JobRunUpdate

# run_count/error_count are cumulative across restarts; a request is cleared only by the run that answered it
# (the command line may have asked again meanwhile).
_UPSERT_RUN = """
INSERT INTO job_runs (name, last_started_at, last_finished_at, last_duration_ms, last_error, last_result,
                      last_success_at, next_due_at, run_count, error_count, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
ON CONFLICT(name) DO UPDATE SET
    last_started_at = excluded.last_started_at, last_finished_at = excluded.last_finished_at,
    last_duration_ms = excluded.last_duration_ms, last_error = excluded.last_error,
    last_result = excluded.last_result, last_success_at = COALESCE(excluded.last_success_at, last_success_at),
    next_due_at = excluded.next_due_at, run_count = run_count + excluded.run_count,
    error_count = error_count + excluded.error_count, updated_at = excluded.updated_at,
    requested_at = CASE WHEN ?12 IS NOT NULL AND requested_at = ?12 THEN NULL ELSE requested_at END
"""


def record_run(db: sqlite_utils.Database, update: JobRunUpdate) -> None:
    db.execute(_UPSERT_RUN, (
        update.name, update.last_started_at, update.last_finished_at, update.last_duration_ms, update.last_error,
        update.last_result, update.last_success_at, update.next_due_at, update.runs, update.errors,
        update.updated_at, update.answered_request,
    ))


def job_runs(conn: sqlite3.Connection) -> list[JobRun]:
    """Every persisted record by name; none yet in a database no server has migrated (a read-only open)."""
    try:
        rows = conn.execute(
            "SELECT name, last_started_at, last_finished_at, last_duration_ms, last_error, last_result, "
            "last_success_at, next_due_at, run_count, error_count, requested_at FROM job_runs ORDER BY name"
        ).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    return [JobRun(*row) for row in rows]


def request_run(db: sqlite_utils.Database, name: str, requested_at: float) -> None:
    """Ask a running server's scheduler to run `name` now (it polls for requests)."""
    db.execute(
        "INSERT INTO job_runs (name, requested_at, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET requested_at = excluded.requested_at",
        (name, requested_at, requested_at),
    )
