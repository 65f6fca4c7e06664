"""Typer CLI: a thin shell over the modules below it."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from hackatime_lite import __version__
from hackatime_lite.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from hackatime_lite.store import Store

app = typer.Typer(
    name="hackatime-lite",
    help="Self-hosted, WakaTime-compatible coding-time tracker.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
key_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(key_app, name="key")

console = Console()
err_console = Console(stderr=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (SQLite file, replica).",
        envvar="HACKATIME_DATA_DIR",
        show_envvar=True,
    ),
]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML config file.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


class CliState:
    overrides: ClassVar[dict[str, Any]] = {}
    config_file: Path | None = None


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def settings_for(data_dir: Path | None, config: Path | None, **flags: Any) -> Settings:
    overrides = {**CliState.overrides, **{k: v for k, v in flags.items() if v is not None}}
    if data_dir is not None:
        overrides["data_dir"] = str(data_dir)
    try:
        return load_settings(config_file=config or CliState.config_file, overrides=overrides)
    except ConfigError as exc:
        raise fail(str(exc), 2) from exc


def open_store(settings: Settings):  # type: ignore[no-untyped-def]
    from hackatime_lite.store import Store

    settings.paths.ensure()
    return Store(settings.paths.database)


@contextlib.contextmanager
def opened_store(settings: Settings, *errors: type[Exception]) -> Iterator[Store]:
    """The data dir's store, closed on the way out; any of `errors` raised inside becomes `fail(message)`."""
    store = open_store(settings)
    try:
        yield store
    except errors as exc:
        raise fail(str(exc)) from exc
    finally:
        store.close()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(msgspec.to_builtins(data), indent=2, default=str) + "\n")


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"hackatime-lite {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version_callback, is_eager=True)
    ] = None,
) -> None:
    """Global options apply to every command; each command also accepts --data-dir and --config."""
    CliState.overrides = {"data_dir": str(data_dir)} if data_dir else {}
    CliState.config_file = config


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
    from hackatime_lite.server import serve as run_server

    settings = settings_for(
        data_dir, config, host=host, port=port, log_level=log_level, access_log=access_log
    )
    if get is not None:
        from hackatime_lite.oneshot import answer_get

        status, body = answer_get(settings, get)
        sys.stdout.write(f"{status}\n{body}\n")
        raise typer.Exit(0 if status < 400 else 1)
    console.print(
        f"hackatime-lite {__version__} on http://{settings.host}:{settings.port} "
        f"(data: {settings.paths.root})",
        highlight=False,
    )
    run_server(settings, start_scheduler=not no_scheduler)


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
def migrate(data_dir: DataDirOption = None, config: ConfigOption = None) -> None:
    """Apply pending database migrations (the server also does this on start)."""
    store = open_store(settings_for(data_dir, config))
    store.close()
    console.print("database is up to date")


# -- users --------------------------------------------------------------------------------------
@user_app.command("create")
def user_create(
    name: str,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an administrator.")] = False,
    timezone: Annotated[str, typer.Option(help="IANA time zone, e.g. Europe/Berlin.")] = "UTC",
    password: Annotated[str | None, typer.Option(help="Password for the web login (else set later).")] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a user (the first user is always an administrator)."""
    from hackatime_lite.store.users import UserError, create_user

    with opened_store(settings_for(data_dir, config), UserError) as store:
        user = store.write(
            lambda db: create_user(db, name, is_admin=admin, timezone=timezone, password=password)
        )
    if as_json:
        print_json(user)
    else:
        console.print(
            f"created user [bold]{user.username}[/bold] (id {user.id}{', admin' if user.is_admin else ''})"
        )


@user_app.command("list")
def user_list(
    data_dir: DataDirOption = None, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """List users."""
    from hackatime_lite.store.users import list_users

    with opened_store(settings_for(data_dir, config)) as store:
        users = list_users(store.reader())
    if as_json:
        print_json(users)
        return
    table = Table("id", "username", "admin", "time zone", "disabled")
    for user in users:
        table.add_row(
            str(user.id),
            user.username,
            "yes" if user.is_admin else "",
            user.timezone,
            "yes" if user.is_disabled else "",
        )
    console.print(table)


@user_app.command("passwd")
def user_passwd(
    name: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Set a user's web login password."""
    from hackatime_lite.store.users import UserError, get_user_by_name, set_password

    with opened_store(settings_for(data_dir, config), UserError) as store:
        user = get_user_by_name(store.reader(), name)
        if user is None:
            raise fail(f"no user named {name!r}")
        store.write(lambda db: set_password(db, user.id, password))
    console.print(f"password set for {name}")


# -- keys ---------------------------------------------------------------------------------------
@key_app.command("create")
def key_create(
    user: str,
    name: Annotated[str, typer.Option("--name", help="A label for the key.")] = "default",
    read_only: Annotated[
        bool, typer.Option("--read-only", help="The key can read but not send heartbeats.")
    ] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key for USER and print it once (it is stored only as a hash)."""
    from hackatime_lite.store.users import UserError, create_api_key, find_user

    with opened_store(settings_for(data_dir, config), UserError) as store:
        owner = find_user(store.reader(), user)
        if owner is None:
            raise fail(f"no user {user!r}")
        key, plaintext = store.write(lambda db: create_api_key(db, owner.id, name=name, read_only=read_only))
    if as_json:
        print_json(
            {
                "id": key.id,
                "user": owner.username,
                "name": key.name,
                "read_only": key.read_only,
                "api_key": plaintext,
            }
        )
    else:
        err_console.print(f"API key {key.id} for {owner.username} (shown only once):")
        sys.stdout.write(plaintext + "\n")


@key_app.command("list")
def key_list(
    user: Annotated[str | None, typer.Argument(help="Only this user's keys.")] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List API keys (hints only; keys themselves are never stored)."""
    from hackatime_lite.store.users import find_user, list_api_keys, list_users

    with opened_store(settings_for(data_dir, config)) as store:
        conn = store.reader()
        owner = find_user(conn, user) if user else None
        if user and owner is None:
            raise fail(f"no user {user!r}")
        keys = list_api_keys(conn, owner.id if owner else None)
        names = {u.id: u.username for u in list_users(conn)}
    if as_json:
        print_json([{**msgspec.to_builtins(k), "user": names.get(k.user_id)} for k in keys])
        return
    table = Table("id", "user", "name", "hint", "read-only", "revoked")
    for key in keys:
        table.add_row(
            str(key.id),
            names.get(key.user_id, "?"),
            key.name,
            key.key_hint + "…",
            "yes" if key.read_only else "",
            "yes" if key.revoked_at else "",
        )
    console.print(table)


@key_app.command("revoke")
def key_revoke(key_id: int, data_dir: DataDirOption = None, config: ConfigOption = None) -> None:
    """Revoke an API key by id (see `key list`)."""
    from hackatime_lite.store.users import UserError, revoke_api_key

    with opened_store(settings_for(data_dir, config), UserError) as store:
        store.write(lambda db: revoke_api_key(db, key_id))
    console.print(f"revoked key {key_id}")


from hackatime_lite import cli_analytics  # noqa: E402 - it imports this module's helpers

cli_analytics.register(app)

from hackatime_lite import cli_setup  # noqa: E402

cli_setup.register(app)

from hackatime_lite import cli_reports  # noqa: E402

cli_reports.register(app)

from hackatime_lite import cli_jobs  # noqa: E402 - it imports this module's helpers

cli_jobs.register(app)

from hackatime_lite import cli_data  # noqa: E402 - it imports this module's helpers

cli_data.register(app, user_app)


def main() -> None:
    app()
