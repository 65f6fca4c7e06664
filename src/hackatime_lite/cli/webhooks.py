"""`hackatime-lite webhook add|list|rm|test`: outgoing webhooks in the terminal.

They act on the data dir's store as a user (--user NAME, else the API key's owner, else the only user), like
`team` and `goal`; `--team TEAM` manages a team's webhooks instead (owners and admins). The secret that signs
deliveries is printed once, by `add`. A running server's `webhook_delivery` job sends what is queued.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.table import Table

from hackatime_lite.cli.common import ConfigOption, DataDirOption, console, fail, print_json, settings_for
from hackatime_lite.cli.reports import JsonOption, KeyOption

webhook_app = typer.Typer(help="Outgoing webhooks: add, list, remove, send a test event.", no_args_is_help=True)
ActingUser = Annotated[str | None, typer.Option("--user", help="Act as this user (default: the API key's owner, "
                                                               "else the only user).")]
TeamOption = Annotated[str | None, typer.Option("--team", help="A team's webhooks instead of your own (its id; "
                                                               "owners and admins).")]
WebhookId = Annotated[int, typer.Argument(help="The webhook's id (see `webhook list`).")]


@contextlib.contextmanager
def _acting(user: str | None, key: str | None, data_dir: Any, config: Any) -> Iterator[tuple[Any, Any, Any]]:
    """(settings, store, user) of the data dir."""
    from hackatime_lite.cli.client import ClientError, find_api_key
    from hackatime_lite.cli.report_sources import SourceError, _local_user
    from hackatime_lite.store import open_store

    settings = settings_for(data_dir, config)
    if not settings.paths.database.exists() and not settings.database_url:
        raise fail(f"no database in {settings.paths.root} (pass --data-dir)")
    try:
        found_key = find_api_key(key)
    except ClientError as exc:
        raise fail(str(exc), 2) from exc
    store = open_store(settings)
    try:
        try:
            acting = _local_user(store, user, found_key)
        except SourceError as exc:
            raise fail(str(exc), 2 if exc.usage else 1) from exc
        yield settings, store, acting
    finally:
        store.close()


@webhook_app.command("add")
def webhook_add(
    url: Annotated[str, typer.Argument(help="Where to POST the events (http:// or https://).")],
    event: Annotated[list[str] | None, typer.Option("--event", help="An event to send (repeatable; default: all): "
                                                    "goal_reached, goal_missed, daily_summary, "
                                                    "first_heartbeat_of_day, mirror_paused.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json, or slack (Slack incoming-webhook messages).")] = "json",
    team: TeamOption = None, user: ActingUser = None, key: KeyOption = None, data_dir: DataDirOption = None,
    config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Add a webhook; its signing secret is printed only now."""
    from hackatime_lite.webhooks import config as hooks

    with _acting(user, key, data_dir, config) as (settings, store, acting):
        if team:
            _, hook, secret = hooks.add_team_webhook(store, settings, acting, team, url, events=event, fmt=fmt)
        else:
            hook, secret = hooks.add_user_webhook(store, settings, acting, url, events=event, fmt=fmt)
    if as_json:
        print_json({**hooks.view(hook), "secret": secret})
        return
    console.print(f"added webhook {hook.id} → {hook.url} ({', '.join(hook.events)}; {hook.format})", highlight=False)
    console.print("signing secret, shown only once:", highlight=False)
    typer.echo(secret)


@webhook_app.command("list")
def webhook_list(team: TeamOption = None, user: ActingUser = None, key: KeyOption = None,
                 data_dir: DataDirOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Your webhooks (or a team's), with their last delivery."""
    from hackatime_lite.webhooks import config as hooks

    with _acting(user, key, data_dir, config) as (_, store, acting):
        found = hooks.team_webhooks(store, acting, team)[1] if team else hooks.user_webhooks(store, acting)
        views = [hooks.view(h, store) for h in found]
    if as_json:
        print_json(views)
        return
    table = Table("id", "url", "events", "format", "last success", "last error")
    for v in views:
        table.add_row(str(v["id"]), v["url"], ", ".join(v["events"]), v["format"], v["last_success_at"] or "",
                      v["last_error"] or "")
    console.print(table)


@webhook_app.command("rm")
def webhook_rm(webhook_id: WebhookId, team: TeamOption = None, user: ActingUser = None, key: KeyOption = None,
               data_dir: DataDirOption = None, config: ConfigOption = None) -> None:
    """Remove a webhook (and what it still had queued)."""
    from hackatime_lite.webhooks import config as hooks

    with _acting(user, key, data_dir, config) as (_, store, acting):
        if team:
            hooks.remove_team_webhook(store, acting, team, webhook_id)
        else:
            hooks.remove_user_webhook(store, acting, webhook_id)
    console.print(f"deleted webhook {webhook_id}", highlight=False)


@webhook_app.command("test")
def webhook_test(webhook_id: WebhookId, team: TeamOption = None, user: ActingUser = None, key: KeyOption = None,
                 data_dir: DataDirOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Send a signed `test` event now; exits 1 unless the receiver answered 2xx."""
    from hackatime_lite.webhooks import config as hooks

    with _acting(user, key, data_dir, config) as (settings, store, acting):
        hook = hooks.team_webhook(store, acting, team, webhook_id)[1] if team else \
            hooks.user_webhook(store, acting, webhook_id)
        result = hooks.send_test(store, settings, acting, hook)
    if as_json:
        print_json({"delivered": result.delivered, "status": result.status, "error": result.error})
    elif result.delivered:
        console.print(f"delivered (the receiver answered {result.status})", highlight=False)
    if not result.delivered:
        raise fail(f"not delivered: {result.error}")


def register(app: typer.Typer) -> None:
    app.add_typer(webhook_app, name="webhook")
