"""CLI commands for the analytics replica: `hackatime-lite rebuild`."""

from __future__ import annotations

import time

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hackatime_lite.cli.common import ConfigOption, DataDirOption, console, fail, open_store, settings_for


def rebuild(data_dir: DataDirOption = None, config: ConfigOption = None) -> None:
    """Rebuild the analytics replica (DuckDB) from the database. Stop the server first."""
    from hackatime_lite.analytics.replica import Replica, ReplicaError

    settings = settings_for(data_dir, config)
    store = open_store(settings)
    started = time.perf_counter()
    try:
        with Progress(TextColumn("copying heartbeats"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task("rebuild", total=None)

            def report(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            replica = Replica(store, settings, progress=report)
            try:
                rows = replica.rebuild(report) if replica.rebuilds == 0 else replica.heartbeat_rows()
            finally:
                replica.close()
    except ReplicaError as exc:
        raise fail(f"{exc} — stop the server first (or delete the file: a running server rebuilds it)") from exc
    finally:
        store.close()
    elapsed = time.perf_counter() - started
    console.print(f"replica rebuilt: {rows:,} heartbeats in {elapsed:.1f} s ({rows / max(elapsed, 1e-9):,.0f} rows/s)"
                  f" → {settings.paths.replica}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("rebuild")(rebuild)
