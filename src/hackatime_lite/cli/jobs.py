"""CLI for the background jobs: `hackatime-lite jobs` (list, last runs) and `hackatime-lite jobs run NAME`."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from typing import Annotated, Any

import msgspec
import typer
from rich.table import Table

from hackatime_lite.cli.common import (
    ConfigOption,
    DataDirOption,
    JsonOption,
    console,
    fail,
    open_store,
    print_json,
    settings_for,
)
from hackatime_lite.config import Settings

jobs_app = typer.Typer(help="Background jobs: list them with their last runs, or run one now.",
                       invoke_without_command=True)


def _server_running(settings: Settings) -> bool:
    from hackatime_lite.runtime import read_server_file

    return read_server_file(settings.paths.server_file) is not None


def _persisted(settings: Settings) -> dict[str, Any]:
    """Job records from the database, read-only (works while a server runs); {} if there are none yet."""
    from hackatime_lite.jobs.scheduler import read_job_runs
    from hackatime_lite.store import open_store, store_exists

    if not store_exists(settings):
        return {}
    with contextlib.closing(open_store(settings, readonly=True)) as store:
        return {status.name: status for status in read_job_runs(store)}


def job_statuses(settings: Settings) -> list[Any]:
    """Every job in JOBS with its configured interval and its last persisted run."""
    from hackatime_lite.jobs.registry import JOBS
    from hackatime_lite.jobs.scheduler import JobStatus

    persisted = _persisted(settings)
    statuses = []
    for job in JOBS:
        interval = job.interval_for(settings)
        base = persisted.get(job.name) or JobStatus(name=job.name, description="", interval_seconds=0, enabled=False)
        statuses.append(msgspec.structs.replace(base, description=job.description, interval_seconds=interval,
                                                enabled=interval > 0))
    return statuses


def _when(epoch: float | None, now: float) -> str:
    if epoch is None:
        return "never"
    ago = now - epoch
    if 0 <= ago < 86400:
        return f"{_span(ago)} ago"
    return dt.datetime.fromtimestamp(epoch).astimezone().strftime("%Y-%m-%d %H:%M")


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s" if seconds >= 10 or seconds == int(seconds) else f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


@jobs_app.callback()
def jobs(
    context: typer.Context,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the background jobs: interval, last run, duration, error (reads the database read-only)."""
    if context.invoked_subcommand is not None:
        return
    settings = settings_for(data_dir, config)
    statuses = job_statuses(settings)
    running = _server_running(settings)
    if as_json:
        print_json({"server_running": running, "jobs": statuses})
        return
    now = time.time()
    table = Table("job", "every", "last run", "duration", "status", "runs", "errors",
                  title="background jobs" + ("" if running else " (no server running)"))
    for status in statuses:
        if not status.enabled:
            state = "[dim]off[/dim]"
        elif status.last_error:
            state = f"[red]error[/red]: {status.last_error}"
        elif status.last_started_at is None:
            state = "not run yet"
        else:
            state = "[green]ok[/green]"
        table.add_row(
            status.name,
            _span(status.interval_seconds) if status.enabled else "off",
            _when(status.last_started_at, now),
            "" if status.last_duration_ms is None else f"{status.last_duration_ms:,.1f} ms",
            state, str(status.run_count), str(status.error_count),
        )
    console.print(table)


def _wait_for_server(store: Any, name: str, requested_at: float, timeout: float) -> Any:
    from hackatime_lite.jobs.scheduler import read_job_runs

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for status in read_job_runs(store):
            if status.name == name and status.requested_at != requested_at:
                return status
        time.sleep(0.2)
    return None


def _run_here(settings: Settings, name: str) -> Any:
    from hackatime_lite.analytics.replica import Replica, ReplicaError
    from hackatime_lite.context import AppContext
    from hackatime_lite.jobs.registry import JOBS, job_named
    from hackatime_lite.jobs.scheduler import Scheduler

    job = job_named(name)
    store = open_store(settings)
    replica = None
    try:
        ctx = AppContext(settings=settings, store=store)
        if job.needs_replica:
            try:
                replica = Replica(store, settings)
            except ReplicaError as exc:
                raise fail(str(exc)) from exc
            ctx.replica = replica
        return Scheduler(ctx, JOBS).run_now(name)
    finally:
        if replica is not None:
            replica.close()
        store.close()


@jobs_app.command("run")
def run_job(
    name: Annotated[str, typer.Argument(help="The job to run (see `hackatime-lite jobs`).")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for a running server to run it.")] = 120.0,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run one job now: in the running server (asked through the database), else in this process."""
    from hackatime_lite.jobs.registry import job_named
    from hackatime_lite.jobs.scheduler import JobError

    settings = settings_for(data_dir, config)
    try:
        job_named(name)
    except JobError as exc:
        raise fail(str(exc), 2) from exc
    if _server_running(settings):
        requested_at = time.time()
        store = open_store(settings)
        try:
            store.request_job_run(name, requested_at)
            status = _wait_for_server(store, name, requested_at, timeout)
        finally:
            store.close()
        if status is None:
            raise fail(f"the server did not run {name} within {timeout:g} s (started with --no-scheduler?)")
        where = "server"
    else:
        status = _run_here(settings, name)
        where = "here"
    if as_json:
        print_json({"ran_in": where, **msgspec.to_builtins(status)})
    elif status.last_error is None:
        result = json.dumps(status.last_result) if status.last_result else "done"
        console.print(f"{name}: ok in {status.last_duration_ms:,.1f} ms ({where}): {result}", highlight=False)
    if status.last_error is not None:
        raise fail(f"{name} failed: {status.last_error}")


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")
