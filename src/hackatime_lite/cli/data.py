"""CLI for moving data: `mirror …`, `import …`, `export`, `data delete`, `user delete`."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from hackatime_lite.cli.common import (
    ConfigOption,
    DataDirOption,
    JsonOption,
    console,
    err_console,
    fail,
    open_store,
    opened_store,
    print_json,
    settings_for,
)
from hackatime_lite.models import User

mirror_app = typer.Typer(help="Mirror heartbeats to upstream WakaTime-compatible servers.", no_args_is_help=True)
import_app = typer.Typer(help="Import heartbeats (WakaTime dump, our exports, another server).",
                         no_args_is_help=True)
data_app = typer.Typer(help="Manage a user's stored data.", no_args_is_help=True)

UserOption = Annotated[str | None, typer.Option("--user", "-u", help="Username (default: the only user).")]
FromOption = Annotated[str | None, typer.Option("--from", help="Start date YYYY-MM-DD (user's zone) or ISO time.")]
ToOption = Annotated[str | None, typer.Option("--to", help="End date YYYY-MM-DD, included, or ISO time.")]
YesOption = Annotated[bool, typer.Option("--yes", help="Confirm; nothing is deleted without it.")]


def _user(store: Any, ref: str | None) -> User:
    if ref:
        user = store.find_user(ref)
        if user is None:
            raise fail(f"no user {ref!r}")
        return user
    users = store.list_users()
    if len(users) != 1:
        raise fail("pass --user (there is not exactly one user)")
    return users[0]


def _when(value: float | None) -> str:
    return datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


# -- mirror -------------------------------------------------------------------------------------
@mirror_app.command("add")
def mirror_add(
    url: Annotated[str, typer.Argument(help="Upstream API base, e.g. https://wakatime.com/api/v1")],
    key: Annotated[str, typer.Option("--key", prompt="Upstream API key", hide_input=True,
                                     help="API key for the upstream (stored encrypted).")],
    user: UserOption = None,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Check URL and key first.")] = True,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Mirror USER's new heartbeats to an upstream (same URL again: replace its key and un-pause it)."""
    from hackatime_lite.mirror import targets

    settings = settings_for(data_dir, config)
    with opened_store(settings) as store:
        owner = _user(store, user)
        view = targets.add_target(store, settings, owner.id, url, key, verify=verify)
    console.print(f"mirror {view.id}: {owner.username} → {view.url} (key {view.key_hint}…)", highlight=False)


def _targets_table(views: list[Any], names: dict[int, str], status: bool) -> Table:
    columns = ["id", "user", "url", "state"]
    if status:
        columns += ["pending", "due", "delivered", "rejected", "last success", "last error"]
    table = Table(*columns)
    for v in views:
        state = f"paused: {v.pause_reason}" if v.paused else ("backing off" if v.retry_at else "active")
        row = [str(v.id), names.get(v.user_id, "?"), v.url, state]
        if status:
            row += [str(v.pending), str(v.due), str(v.delivered), str(v.rejected), _when(v.last_success_at),
                    v.last_error or ""]
        table.add_row(*row)
    return table


def _show_targets(user: str | None, data_dir: Path | None, config: Path | None, as_json: bool,
                  status: bool) -> None:
    from hackatime_lite.mirror import targets
    with opened_store(settings_for(data_dir, config)) as store:
        owner = _user(store, user) if user else None
        views = targets.list_targets(store, owner.id if owner else None, detail=status)
        names = {u.id: u.username for u in store.list_users()}
    if as_json:
        print_json([v.to_dict() for v in views])
    else:
        console.print(_targets_table(views, names, status))


@mirror_app.command("list")
def mirror_list(user: UserOption = None, data_dir: DataDirOption = None, config: ConfigOption = None,
                as_json: JsonOption = False) -> None:
    """List upstream targets (keys are never shown)."""
    _show_targets(user, data_dir, config, as_json, status=False)


@mirror_app.command("status")
def mirror_status(user: UserOption = None, data_dir: DataDirOption = None, config: ConfigOption = None,
                  as_json: JsonOption = False) -> None:
    """Delivery state per target: queue, delivered, rejected, pause reason, last error."""
    _show_targets(user, data_dir, config, as_json, status=True)


@mirror_app.command("remove")
def mirror_remove(target_id: int, data_dir: DataDirOption = None, config: ConfigOption = None) -> None:
    """Remove a target and everything still queued for it."""
    from hackatime_lite.mirror import targets

    with opened_store(settings_for(data_dir, config)) as store:
        targets.remove_target(store, target_id)
    console.print(f"removed mirror {target_id}")


@mirror_app.command("resume")
def mirror_resume(target_id: int, data_dir: DataDirOption = None, config: ConfigOption = None) -> None:
    """Resume a paused target (after fixing the reason shown by `mirror status`)."""
    from hackatime_lite.mirror import targets

    with opened_store(settings_for(data_dir, config)) as store:
        targets.resume_target(store, target_id)
    console.print(f"resumed mirror {target_id}")


@mirror_app.command("backfill")
def mirror_backfill(
    target_id: int,
    start: Annotated[str, typer.Option("--from", help="First date (YYYY-MM-DD, owner's zone) to send.")],
    end: ToOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Queue stored heartbeats (imported ones too) from a date on for one target."""
    from hackatime_lite.mirror import targets
    from hackatime_lite.text.date_bounds import parse_range

    with opened_store(settings_for(data_dir, config)) as store:
        target = targets.get_target(store, target_id)
        owner = store.get_user(target.user_id)
        low, high = parse_range(start, end, owner.timezone if owner else "UTC")
        queued = targets.backfill(store, target_id, low or 0.0, high)
    console.print(f"queued {queued:,} heartbeats for mirror {target_id}")


@mirror_app.command("deliver")
def mirror_deliver(data_dir: DataDirOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Run one delivery round now (a running server does this on its own every mirror_interval)."""
    from hackatime_lite.context import AppContext
    from hackatime_lite.mirror import delivery

    settings = settings_for(data_dir, config)
    with opened_store(settings) as store:
        report = delivery.deliver_due(AppContext(settings=settings, store=store))
    if as_json:
        print_json(report.__dict__)
    else:
        console.print(f"delivered {report.delivered}, rejected {report.rejected}, retrying {report.retried}, "
                      f"paused {len(report.paused)} ({report.requests} requests)")


# -- import -------------------------------------------------------------------------------------
def _report_import(stats: Any, as_json: bool) -> None:
    if as_json:
        print_json(stats.to_dict())
        return
    console.print(f"read {stats.read:,}: {stats.inserted:,} new, {stats.duplicates:,} already stored, "
                  f"{stats.rejected:,} invalid", highlight=False)
    for sample in stats.error_samples[:5]:
        err_console.print(f"  skipped {sample}", highlight=False)


def _import_file(path: Path, user: str | None, fmt: str | None, data_dir: Path | None, config: Path | None,
                 as_json: bool) -> None:
    from hackatime_lite.data.importers import ImportFailed, import_file

    store = open_store(settings_for(data_dir, config))
    try:
        owner = _user(store, user)
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                      console=err_console, transient=True, disable=as_json) as bar:
            task = bar.add_task("checking", total=path.stat().st_size if path.is_file() else None)

            def report(progress: Any) -> None:
                bar.update(task, description=progress.phase, completed=progress.done, total=progress.total)

            stats = import_file(store, owner, path, fmt, on_progress=report)
    except ImportFailed as exc:
        raise fail(f"nothing imported: {exc}") from exc
    finally:
        store.close()
    _report_import(stats, as_json)


@import_app.command("wakatime-dump")
def import_wakatime_dump(file: Path, user: UserOption = None, data_dir: DataDirOption = None,
                         config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Import a WakaTime data dump (the heartbeats export: days[].heartbeats[]; also `export --format wakatime`),
    streamed. A summaries-only dump has no heartbeats to import and is refused."""
    _import_file(file, user, "wakatime-dump", data_dir, config, as_json)


@import_app.command("file")
def import_export_file(
    file: Path,
    user: UserOption = None,
    fmt: Annotated[str | None, typer.Option("--format", help="json, csv or wakatime-dump (default: detect).")] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import heartbeats from a hackatime-lite export (JSON or CSV)."""
    _import_file(file, user, fmt, data_dir, config, as_json)


@import_app.command("server")
def import_server(
    url: Annotated[str, typer.Argument(help="Upstream API base, e.g. https://wakapi.dev/api/compat/wakatime/v1")],
    key: Annotated[str, typer.Option("--key", prompt="Upstream API key", hide_input=True)],
    user: UserOption = None,
    start: FromOption = None,
    end: ToOption = None,
    rate: Annotated[float, typer.Option(help="Requests per second at most.")] = 4.0,
    restart: Annotated[bool, typer.Option("--restart", help="Ignore saved progress and start over.")] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pull a user's history from a WakaTime-compatible server, day by day (resumes where it stopped)."""
    from hackatime_lite.data.importers import ImportFailed, pull_from_server
    from hackatime_lite.text.date_bounds import BoundError, parse_day

    settings = settings_for(data_dir, config)
    store = open_store(settings)
    try:
        first, last = parse_day(start), parse_day(end)
        owner = _user(store, user)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console, transient=True, disable=as_json) as bar:
            task = bar.add_task("days", total=None)

            def report(progress: Any) -> None:
                bar.update(task, completed=progress.done, total=progress.total)

            stats = pull_from_server(store, settings, owner, url, key, start=first, end=last, rate=rate,
                                     restart=restart, on_progress=report)
    except (ImportFailed, BoundError) as exc:
        raise fail(f"import stopped: {exc}") from exc
    finally:
        store.close()
    _report_import(stats, as_json)


# -- export -------------------------------------------------------------------------------------
@contextmanager
def _replica_context(settings: Any, store: Any) -> Iterator[Any]:
    """An AppContext with the data dir's replica; while a server runs on the data dir, a temporary replica
    built from the database: the server's file is its own (it syncs it), and DuckDB allows one process."""
    from hackatime_lite.analytics.replica import Replica, ReplicaError
    from hackatime_lite.context import AppContext
    from hackatime_lite.runtime import read_server_file

    with ExitStack() as stack:
        replica = None
        if read_server_file(settings.paths.server_file) is None:
            with suppress(ReplicaError):
                replica = Replica(store, settings)
        if replica is None:
            err_console.print("a server is using this data dir: building a temporary analytics replica from the "
                              "database for the export", highlight=False)
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hackatime-export-")))
            replica = Replica(store, settings, path=scratch / "replica.duckdb")
        stack.callback(replica.close)
        yield AppContext(settings=settings, store=store, replica=replica)


def export(
    fmt: Annotated[str, typer.Option("--format", help="json or csv (heartbeat rows, every column), or wakatime "
                                     "(WakaTime's data-dump layout: days with their figures and heartbeats).")
                   ] = "json",
    start: FromOption = None,
    end: ToOption = None,
    user: UserOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Export a user's heartbeats (every column, full time precision) as JSON or CSV, or as a WakaTime data dump."""
    from hackatime_lite.context import AppContext
    from hackatime_lite.data.exporters import export_stream
    from hackatime_lite.text.date_bounds import parse_range

    settings = settings_for(data_dir, config)
    with opened_store(settings) as store, ExitStack() as stack:
        owner = _user(store, user)
        low, high = parse_range(start, end, owner.timezone)
        # Only the wakatime format reads figures (the replica); heartbeat rows come from the database alone.
        ctx = stack.enter_context(_replica_context(settings, store)) if fmt == "wakatime" else \
            AppContext(settings=settings, store=store)
        chunks = export_stream(ctx, owner, fmt, low, high)
        target = output.open("wb") if output else sys.stdout.buffer
        try:
            for chunk in chunks:
                target.write(chunk)
        finally:
            if output:
                target.close()
            else:
                target.flush()
    if output:
        err_console.print(f"exported {owner.username}'s heartbeats to {output}", highlight=False)


# -- deletion -----------------------------------------------------------------------------------
@data_app.command("delete")
def data_delete(user: UserOption = None, start: FromOption = None, end: ToOption = None, yes: YesOption = False,
                data_dir: DataDirOption = None, config: ConfigOption = None) -> None:
    """Delete a user's heartbeats in a range (all of them without --from/--to)."""
    from hackatime_lite.accounts.deletion import delete_heartbeats_in_range
    from hackatime_lite.text.date_bounds import parse_range

    with opened_store(settings_for(data_dir, config)) as store:
        owner = _user(store, user)
        low, high = parse_range(start, end, owner.timezone)
        if not yes:
            raise fail("add --yes to confirm the deletion", 2)
        deleted = delete_heartbeats_in_range(store, owner.id, low, high)
    console.print(f"deleted {deleted:,} heartbeats of {owner.username}", highlight=False)


def user_delete(name: str, yes: YesOption = False, data_dir: DataDirOption = None,
                config: ConfigOption = None) -> None:
    """Delete a user with all their data (keys, heartbeats, mirrors)."""
    from hackatime_lite.accounts.deletion import delete_account

    with opened_store(settings_for(data_dir, config)) as store:
        owner = _user(store, name)
        if not yes:
            raise fail(f"add --yes to delete {owner.username} and all their data", 2)
        deleted = delete_account(store, owner.id)
    console.print(f"deleted user {owner.username} and {deleted:,} heartbeats", highlight=False)


def register(app: typer.Typer, user_app: typer.Typer) -> None:
    app.add_typer(mirror_app, name="mirror")
    app.add_typer(import_app, name="import")
    app.add_typer(data_app, name="data")
    app.command("export")(export)
    user_app.command("delete")(user_delete)
