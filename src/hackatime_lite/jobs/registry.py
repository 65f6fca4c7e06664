"""The background jobs: plain functions `fn(ctx) -> dict | None` and the one JOBS list the scheduler runs."""

from __future__ import annotations

import threading
import time
from typing import Any

from hackatime_lite import aliases
from hackatime_lite.analytics import aliases_sql
from hackatime_lite.analytics.leaderboards import compute_boards
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.analytics.streaks import compute_streak_details
from hackatime_lite.context import AppContext, ServiceUnavailable
from hackatime_lite.data.backup import create_backup
from hackatime_lite.jobs.scheduler import Job, JobError, Scheduler, install_scheduler
from hackatime_lite.mirror.delivery import mirror_delivery_job
from hackatime_lite.notify import job as weekly_report_job
from hackatime_lite.webhooks.delivery import webhook_delivery_job
from hackatime_lite.webhooks.produce import EVENTS_INTERVAL as WEBHOOK_EVENTS_INTERVAL
from hackatime_lite.webhooks.produce import emit_scheduled_events

# Heartbeats deleted per write transaction by the retention job, so ingest never waits long behind it.
RETENTION_BATCH = 5000
RETENTION_INTERVAL = 3600.0
# A fresh data dir's first backup waits this long, so short-lived servers (tests, trials) do not take one.
FIRST_BACKUP_DELAY = 600.0


def replica_of(ctx: AppContext) -> Replica:
    """The replica (waiting for it while it opens behind a starting server), or JobError."""
    try:
        return ctx.require_replica()
    except ServiceUnavailable as exc:
        raise JobError(str(exc)) from exc


def _cancel_event(ctx: AppContext) -> threading.Event | None:
    return ctx.scheduler.stopping if ctx.scheduler is not None else None


# The sync job leaves rollup recomputes pending (a recompute rebuilds whole touched days: under steady ingest
# each second's sync would redo the same busy day) and recomputes them once they are this old; any read of
# the rollups recomputes them first anyway (Replica.sync).
ROLLUP_RECOMPUTE_SECONDS = 60.0


def sync_replica(ctx: AppContext) -> dict[str, Any] | None:
    replica = replica_of(ctx)
    result = replica.sync(defer_rollups=not replica.rollups_overdue(ROLLUP_RECOMPUTE_SECONDS))
    checkpointed = replica.checkpoint_if_due()
    if not (result.copied or result.deleted or result.users_refreshed or result.rebuilt or checkpointed):
        return None
    return {"copied": result.copied, "deleted": result.deleted, "users_refreshed": result.users_refreshed,
            "rebuilt": result.rebuilt, "checkpointed": checkpointed}


def compact_replica(ctx: AppContext) -> dict[str, Any] | None:
    started = time.perf_counter()
    if not replica_of(ctx).compact():
        return None
    return {"seconds": round(time.perf_counter() - started, 3)}


def refresh_streaks(ctx: AppContext) -> dict[str, Any]:
    now = ctx.clock()
    streaks = compute_streak_details(replica_of(ctx), now, ctx.settings)
    written = ctx.store.replace_streaks(streaks, now)
    return {"users": written, "active": sum(1 for s in streaks.values() if s.current)}


def build_leaderboards(ctx: AppContext) -> dict[str, Any]:
    """Compute every board from the replica and store each board (with its language boards) in one transaction."""
    now = ctx.clock()
    summary: dict[str, Any] = {}
    replica = replica_of(ctx)
    # Projects users excluded from their totals stay out of the boards too (hackatime_lite.aliases).
    excluded = aliases.excluded_by_user(ctx.store, lambda user_id, dim: aliases_sql.distinct_values(
        replica, user_id, dim))
    for built in compute_boards(replica, now, ctx.settings, excluded=excluded):
        ctx.store.replace_leaderboard(built, now)
        summary[built.board] = {"entries": len(built.overall), "languages": len(built.per_language)}
    return summary


def delete_expired_heartbeats(ctx: AppContext) -> dict[str, Any] | None:
    """Retention: heartbeats older than retention_days go, in small batches; tombstones reach the replica."""
    days = ctx.settings.retention_days
    if days <= 0:
        return None
    cutoff = ctx.clock() - days * 86400.0
    deleted = 0
    cancel = _cancel_event(ctx)
    for user in ctx.store.list_users():
        while cancel is None or not cancel.is_set():
            ids = ctx.store.heartbeat_ids(user.id, None, cutoff, limit=RETENTION_BATCH)
            if not ids:
                break
            deleted += ctx.store.delete_heartbeats(user.id, end=cutoff, ids=ids)
    return {"deleted": deleted, "cutoff": cutoff}


def backup_database(ctx: AppContext) -> dict[str, Any]:
    result = create_backup(ctx.store, ctx.settings.paths.backups, now=ctx.clock(), keep=ctx.settings.backup_keep,
                           cancel=_cancel_event(ctx))
    return {"path": result.path.name, "size_bytes": result.size_bytes, "removed": [p.name for p in result.removed]}


JOBS: list[Job] = [
    Job("replica_sync", sync_replica, lambda s: s.replica_sync_interval,
        "Copy new heartbeats and deletions from the store into the DuckDB replica", needs_replica=True,
        singleton=False),  # every node has its own replica; all other jobs are cluster-wide singletons
    Job("replica_compact", compact_replica, lambda s: s.replica_compact_interval,
        "Rewrite the replica in (user, time) order once enough unsorted rows arrived (per-user reads then "
        "skip most row groups)", needs_replica=True, singleton=False),
    Job("streaks", refresh_streaks, lambda s: s.leaderboard_interval,
        "Recompute every user's current and longest coding streak", needs_replica=True),
    Job("leaderboards", build_leaderboards, lambda s: s.leaderboard_interval,
        "Rebuild the leaderboards (today, last 24 hours, 7 and 30 days, per language)", needs_replica=True),
    Job("retention", delete_expired_heartbeats,
        lambda s: RETENTION_INTERVAL if s.retention_days > 0 else 0.0,
        "Delete heartbeats older than retention_days (off when 0)"),
    Job("backup", backup_database, lambda s: s.backup_interval_hours * 3600.0,
        "Online SQLite backup into <data dir>/backups, keeping the newest backup_keep",
        first_delay=FIRST_BACKUP_DELAY),
    Job("mirror_delivery", mirror_delivery_job, lambda s: s.mirror_interval,
        "Send queued heartbeats to the users' upstream mirrors (retries with backoff)"),
    Job("weekly_report", weekly_report_job.send_weekly_reports, weekly_report_job.job_interval,
        "E-mail last week's report to the users who opted in (once per week; off without smtp_host)",
        needs_replica=True),
    Job("webhook_events", emit_scheduled_events, lambda s: WEBHOOK_EVENTS_INTERVAL,
        "Queue goal reached/missed and daily-summary webhook events (each once per user, goal and day)",
        needs_replica=True),
    Job("webhook_delivery", webhook_delivery_job, lambda s: s.mirror_interval,
        "Send queued webhook events, signed (retries with capped backoff, then marked failed)"),
]


def job_named(name: str) -> Job:
    for job in JOBS:
        if job.name == name:
            return job
    raise JobError(f"unknown job {name!r} (jobs: {', '.join(j.name for j in JOBS)})")


def start_jobs(ctx: AppContext) -> Scheduler:
    """The app's startup hook: run JOBS in the background until shutdown."""
    return install_scheduler(ctx, JOBS)
