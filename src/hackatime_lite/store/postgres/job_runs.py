"""The scheduler's job records in PostgreSQL, readable by `hackatime-lite jobs` from any node."""

from __future__ import annotations

from hackatime_lite.store.postgres.base import Connection, execute, rows
from hackatime_lite.store.records import JobRun, JobRunUpdate

_UPSERT_RUN = """
INSERT INTO job_runs AS j (name, last_started_at, last_finished_at, last_duration_ms, last_error, last_result,
                           last_success_at, next_due_at, run_count, error_count, updated_at)
VALUES (%(name)s, %(started)s, %(finished)s, %(duration)s, %(error)s, %(result)s, %(success)s, %(due)s,
        %(runs)s, %(errors)s, %(updated)s)
ON CONFLICT (name) DO UPDATE SET
    last_started_at = excluded.last_started_at, last_finished_at = excluded.last_finished_at,
    last_duration_ms = excluded.last_duration_ms, last_error = excluded.last_error,
    last_result = excluded.last_result, last_success_at = COALESCE(excluded.last_success_at, j.last_success_at),
    next_due_at = excluded.next_due_at, run_count = j.run_count + excluded.run_count,
    error_count = j.error_count + excluded.error_count, updated_at = excluded.updated_at,
    requested_at = CASE WHEN %(answered)s::float8 IS NOT NULL AND j.requested_at = %(answered)s::float8
                        THEN NULL ELSE j.requested_at END
"""


def record_run(conn: Connection, update: JobRunUpdate) -> None:
    execute(conn, _UPSERT_RUN, {
        "name": update.name, "started": update.last_started_at, "finished": update.last_finished_at,
        "duration": update.last_duration_ms, "error": update.last_error, "result": update.last_result,
        "success": update.last_success_at, "due": update.next_due_at, "runs": update.runs,
        "errors": update.errors, "updated": update.updated_at, "answered": update.answered_request,
    })


def job_runs(conn: Connection) -> list[JobRun]:
    found = rows(conn, "SELECT name, last_started_at, last_finished_at, last_duration_ms, last_error, last_result, "
                       "last_success_at, next_due_at, run_count, error_count, requested_at FROM job_runs "
                       "ORDER BY name COLLATE \"C\"")
    return [JobRun(*row) for row in found]


def request_run(conn: Connection, name: str, requested_at: float) -> None:
    execute(conn, "INSERT INTO job_runs (name, requested_at, updated_at) VALUES (%s, %s, %s) "
                  "ON CONFLICT (name) DO UPDATE SET requested_at = excluded.requested_at",
            (name, requested_at, requested_at))
