"""`user` and `key` commands: accounts and API keys in the data dir's store."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from hackatime_lite.cli.common import (
    ConfigOption,
    DataDirOption,
    JsonOption,
    console,
    err_console,
    fail,
    opened_store,
    print_json,
    settings_for,
)
from hackatime_lite.store.records import public_trust

user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
key_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)


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
    with opened_store(settings_for(data_dir, config)) as store:
        user = store.create_user(name, is_admin=admin, timezone=timezone, password=password)
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
    with opened_store(settings_for(data_dir, config)) as store:
        users = store.list_users()
        levels = store.admin_levels()
    if as_json:
        print_json(users)
        return
    table = Table("id", "username", "admin", "time zone", "disabled", "trust")
    for user in users:
        level = levels.get(user.id, "none")
        table.add_row(
            str(user.id),
            user.username,
            "" if level == "none" else level,
            user.timezone,
            "yes" if user.is_disabled else "",
            public_trust(user.trust_level),
        )
    console.print(table)


@user_app.command("passwd")
def user_passwd(
    name: str,
    password: Annotated[str | None, typer.Option(
        prompt=True, hide_input=True, confirmation_prompt=True,
        help="The new password; asked for (twice, hidden) when not given.")] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Set a user's web login password."""
    assert password is not None  # click prompts for it when the option is missing
    with opened_store(settings_for(data_dir, config)) as store:
        user = store.get_user_by_name(name)
        if user is None:
            raise fail(f"no user named {name!r}")
        store.set_password(user.id, password)
    console.print(f"password set for {name}")


# -- trust and admin levels (accounts/trust.py); the CLI is the operator, bound by no level ---------------
def _set_level(name: str, field: str, level: str, reason: str | None, data_dir: Path | None,
               config: Path | None, as_json: bool) -> None:
    from hackatime_lite.accounts.trust import change_level

    with opened_store(settings_for(data_dir, config)) as store:
        entry = change_level(store, None, name, field, level, reason=reason)
    if as_json:
        print_json(entry)
    elif entry is None:
        console.print(f"{name} already has {field.replace('_', ' ')} {level}")
    else:
        console.print(f"{entry.target_name}: {field.replace('_', ' ')} {entry.old_value} → {entry.new_value}")


ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why (kept in the audit log).")]


@user_app.command("trust")
def user_trust(
    name: str,
    level: Annotated[str, typer.Argument(help="unscored, trusted, suspected or convicted.")],
    reason: ReasonOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set a user's trust level (convicted users leave every leaderboard at its next build)."""
    _set_level(name, "trust_level", level, reason, data_dir, config, as_json)


@user_app.command("admin-level")
def user_admin_level(
    name: str,
    level: Annotated[str, typer.Argument(help="none, viewer (reads admin pages), admin or superadmin.")],
    reason: ReasonOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set a user's admin level."""
    _set_level(name, "admin_level", level, reason, data_dir, config, as_json)


@user_app.command("audit")
def user_audit(
    name: Annotated[str | None, typer.Argument(help="Only changes to this user.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest entries to show.")] = 50,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """The audit log of trust and admin level changes, newest first."""
    with opened_store(settings_for(data_dir, config)) as store:
        target = store.find_user(name) if name else None
        if name and target is None:
            raise fail(f"no user {name!r}")
        entries = store.audit_log(user_id=target.id if target else None, limit=limit)
    if as_json:
        print_json(entries)
        return
    table = Table("when (UTC)", "by", "user", "field", "change", "reason")
    for entry in entries:
        when = dt.datetime.fromtimestamp(entry.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M")
        table.add_row(when, entry.actor_name, entry.target_name, entry.field,
                      f"{entry.old_value} → {entry.new_value}", entry.reason or "")
    console.print(table)


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
    with opened_store(settings_for(data_dir, config)) as store:
        owner = store.find_user(user)
        if owner is None:
            raise fail(f"no user {user!r}")
        key, plaintext = store.create_api_key(owner.id, name=name, read_only=read_only)
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
    with opened_store(settings_for(data_dir, config)) as store:
        owner = store.find_user(user) if user else None
        if user and owner is None:
            raise fail(f"no user {user!r}")
        keys = store.list_api_keys(owner.id if owner else None)
        names = {u.id: u.username for u in store.list_users()}
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
    with opened_store(settings_for(data_dir, config)) as store:
        store.revoke_api_key(key_id)
    console.print(f"revoked key {key_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(key_app, name="key")
