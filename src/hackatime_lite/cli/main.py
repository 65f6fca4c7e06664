"""The Typer app: global options, `serve`, `config`, `migrate`, and every command group registered below."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hackatime_lite import __version__
from hackatime_lite.cli import aliases as cli_aliases
from hackatime_lite.cli import conformance as cli_conformance
from hackatime_lite.cli import data as cli_data
from hackatime_lite.cli import goals as cli_goals
from hackatime_lite.cli import jobs as cli_jobs
from hackatime_lite.cli import replica as cli_replica
from hackatime_lite.cli import reports as cli_reports
from hackatime_lite.cli import routes as cli_routes
from hackatime_lite.cli import setup as cli_setup
from hackatime_lite.cli import store as cli_store
from hackatime_lite.cli import teams as cli_teams
from hackatime_lite.cli import users as cli_users
from hackatime_lite.cli import webhooks as cli_webhooks
from hackatime_lite.cli.common import (
    ConfigOption,
    DataDirOption,
    GlobalOptions,
    InputErrorGroup,
    JsonOption,
    console,
    fail,
    open_store,
    print_json,
    settings_for,
)

app = typer.Typer(
    name="hackatime-lite",
    help="Self-hosted, WakaTime-compatible coding-time tracker.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    cls=InputErrorGroup,
)

def _version_callback(value: bool) -> None:
    if value:
        console.print(f"hackatime-lite {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version_callback, is_eager=True)
    ] = None,
) -> None:
    """Global options apply to every command; each command also accepts --data-dir and --config."""
    ctx.obj = GlobalOptions(data_dir=data_dir, config_file=config)


# -- server -------------------------------------------------------------------------------------
@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    log_level: Annotated[str | None, typer.Option(help="debug, info, warning or error.")] = None,
    access_log: Annotated[bool | None, typer.Option("--access-log/--no-access-log")] = None,
    no_scheduler: Annotated[bool, typer.Option("--no-scheduler", help="Do not run background jobs.")] = False,
    get: Annotated[
        str | None, typer.Option("--get", metavar="PATH", help="Answer one GET in-process, print it, exit.")
    ] = None,
) -> None:
    """Run the server (WakaTime-compatible API, native API, dashboard)."""
    from hackatime_lite.runtime import DataDirInUse
    from hackatime_lite.server import serve as run_server

    settings = settings_for(
        data_dir, config, host=host, port=port, log_level=log_level, access_log=access_log
    )
    if get is not None:
        from hackatime_lite.cli.oneshot import answer_get

        status, body = answer_get(settings, get)
        sys.stdout.write(f"{status}\n{body}\n")
        raise typer.Exit(0 if status < 400 else 1)
    console.print(
        f"hackatime-lite {__version__} on http://{settings.host}:{settings.port} "
        f"(data: {settings.paths.root})",
        highlight=False,
    )
    from hackatime_lite.data.backup import refuse_unbacked_upgrade

    refuse_unbacked_upgrade(settings)  # an InputError: the message, exit status 1
    try:
        run_server(settings, start_scheduler=not no_scheduler)
    except DataDirInUse as exc:
        raise fail(str(exc)) from exc


@app.command("config")
def show_config(
    data_dir: DataDirOption = None, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """Print the effective settings (defaults < TOML < HACKATIME_* env < flags), secrets masked."""
    view = settings_for(data_dir, config).public_view()
    if as_json:
        print_json(view)
        return
    table = Table("setting", "value", title="effective settings")
    for name, value in view.items():
        table.add_row(name, json.dumps(value) if not isinstance(value, str) else value)
    console.print(table)


@app.command()
def migrate(
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the pending migrations; change nothing.")] = False,
    yes: Annotated[bool, typer.Option(
        "--yes", help="PostgreSQL: migrate an existing schema without running pg_dump (you have a backup).")] = False,
    pg_dump: Annotated[bool, typer.Option(
        "--pg-dump", help="PostgreSQL: run pg_dump into <data dir>/backups before migrating.")] = False,
) -> None:
    """Apply pending database migrations, after a backup (the server also does this on start).

    SQLite is backed up automatically into <data dir>/backups first; an existing PostgreSQL schema is only
    migrated with --pg-dump (we run pg_dump) or --yes (you made a backup)."""
    import time

    from hackatime_lite.data.backup import list_upgrade_backups, plan_upgrade
    from hackatime_lite.store import open_store as open_configured_store

    settings = settings_for(data_dir, config)
    reader = open_configured_store(settings, readonly=True)
    try:
        status = reader.migration_status()
        location = reader.location
    finally:
        reader.close()
    where = f"{status.backend} store {location}"
    if dry_run:
        if not status.pending:
            console.print(f"{where}: up to date ({len(status.applied)} migrations applied), nothing pending",
                          highlight=False)
            return
        console.print(f"{where}: {len(status.applied)} applied, {len(status.pending)} pending "
                      "(would be applied, in this order):", highlight=False)
        for name in status.pending:
            console.print(f"  {name}", highlight=False)
        return
    if not status.pending:
        console.print(f"{where}: up to date ({len(status.applied)} migrations applied)", highlight=False)
        return
    backups = Path(location).parent / "backups" if status.backend == "sqlite" else settings.paths.backups
    before = set(list_upgrade_backups(backups))
    dump = plan_upgrade(status, settings.database_url, backups, now=time.time(), yes=yes, pg_dump=pg_dump)
    store = open_store(settings)
    try:
        after = store.migration_status()
    finally:
        store.close()
    applied = [name for name in status.pending if name not in after.pending]
    made = [p for p in list_upgrade_backups(backups) if p not in before]
    if dump is not None:
        made.append(dump)
    for path in made:
        console.print(f"backed up to {path}", highlight=False)
    for name in applied:
        console.print(f"applied {name}", highlight=False)
    console.print(f"{where}: {len(applied)} migration(s) applied, now at {len(after.applied)}", highlight=False)
    if after.pending:
        raise fail(f"still pending: {', '.join(after.pending)}")


cli_users.register(app)
cli_routes.register(app)
cli_replica.register(app)
cli_setup.register(app)
cli_reports.register(app)
cli_goals.register(app)
cli_aliases.register(app)
cli_teams.register(app)
cli_webhooks.register(app)
cli_jobs.register(app)
cli_data.register(app, cli_users.user_app)
cli_conformance.register(app)
cli_store.register(app)


def main() -> None:
    app()
