"""`hackatime-lite team create|invite|join|list|report`: teams in the terminal.

create / invite / join / list act on the data dir's store as a user (--user NAME, else the API key's owner,
else the only user), like `user` and `key`. `report` reads like every report: a running server's team API
(`/api/native/v1/teams/{team}/dashboard`) or the data dir with its analytics replica in this process; either
way a typed `TeamReport` arrives and one code path prints it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

import msgspec
import typer
from rich.table import Table

from hackatime_lite.cli.common import ConfigOption, DataDirOption, console, fail, print_json, settings_for
from hackatime_lite.cli.reports import JsonOption, KeyOption, ServerOption, Target, UserOption, opened
from hackatime_lite.text.formatting import human_text

team_app = typer.Typer(help="Teams: create, invite, join, list, and the team report.", no_args_is_help=True)
ActingUser = Annotated[str | None, typer.Option("--user", help="Act as this user (default: the API key's owner, "
                                                               "else the only user).")]


@contextlib.contextmanager
def _acting(user: str | None, key: str | None, data_dir: Any, config: Any) -> Iterator[tuple[Any, Any]]:
    """(store, user) of the data dir."""
    from hackatime_lite.cli.client import ClientError, find_api_key
    from hackatime_lite.cli.report_sources import SourceError, _local_user
    from hackatime_lite.store import open_store, store_exists

    settings = settings_for(data_dir, config)
    if not store_exists(settings):
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
        yield store, acting
    finally:
        store.close()


@team_app.command("create")
def team_create(name: str, user: ActingUser = None, key: KeyOption = None, data_dir: DataDirOption = None,
                config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Create a team (you are its owner)."""
    from hackatime_lite import teams

    with _acting(user, key, data_dir, config) as (store, acting):
        team = teams.create_team(store, acting, name)
    if as_json:
        print_json({"id": team.public_id, "name": team.name})
    else:
        console.print(f"created team [bold]{team.name}[/bold] (id {team.public_id})", highlight=False)


@team_app.command("invite")
def team_invite(
    team: Annotated[str, typer.Argument(help="The team's id (see `team list`).")],
    uses: Annotated[int, typer.Option("--uses", min=1, max=1000, help="How many may join with it.")] = 1,
    days: Annotated[int, typer.Option("--days", min=0, max=3650, help="Valid for this many days (0: no end).")] = 7,
    user: ActingUser = None, key: KeyOption = None, data_dir: DataDirOption = None, config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """A new invite code (owners and admins); it is shown only now."""
    from hackatime_lite import teams

    with _acting(user, key, data_dir, config) as (store, acting):
        found, invite, code = teams.create_invite(store, acting, team, max_uses=uses, valid_days=days or None)
    if as_json:
        print_json({"team": found.public_id, "code": code, "path": f"{teams.JOIN_PATH}?code={code}",
                    "max_uses": invite.max_uses, "expires_at": invite.expires_at})
        return
    console.print(f"invite to {found.name} ({uses} use(s)); code, shown only once:", highlight=False)
    typer.echo(code)
    console.print(f"join link: <server>{teams.JOIN_PATH}?code={code}", highlight=False)


@team_app.command("join")
def team_join(code: Annotated[str, typer.Argument(help="An invite code or join link.")], user: ActingUser = None,
              key: KeyOption = None, data_dir: DataDirOption = None, config: ConfigOption = None,
              as_json: JsonOption = False) -> None:
    """Join a team with an invite code or link."""
    from hackatime_lite import teams

    with _acting(user, key, data_dir, config) as (store, acting):
        team, member = teams.join(store, acting, code)
    if as_json:
        print_json({"id": team.public_id, "name": team.name, "role": member.role})
    else:
        console.print(f"{acting.username} joined [bold]{team.name}[/bold]", highlight=False)


@team_app.command("list")
def team_list(user: ActingUser = None, key: KeyOption = None, data_dir: DataDirOption = None,
              config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Your teams."""
    from hackatime_lite import teams

    with _acting(user, key, data_dir, config) as (store, acting):
        found = teams.user_teams(store, acting)
    if as_json:
        print_json([{"id": t.public_id, "name": t.name, "role": m.role, "members": n, "shares": m.shares}
                    for t, m, n in found])
        return
    table = Table("id", "name", "role", "members", "you share")
    for team, member, count in found:
        table.add_row(team.public_id, team.name, member.role, str(count), "yes" if member.shares else "")
    console.print(table)


@team_app.command("report")
def team_report(
    team: Annotated[str, typer.Argument(help="The team's id (see `team list`).")],
    range_name: Annotated[str, typer.Option("--range", help="today, last_7_days or last_30_days.")] = "last_7_days",
    server: ServerOption = None, key: KeyOption = None, user: UserOption = None, data_dir: DataDirOption = None,
    config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """The team dashboard: total, members, projects, languages and the team's boards."""
    from hackatime_lite.cli.report_sources import LocalSource, ServerSource, SourceError
    from hackatime_lite.teams.report import TeamReport
    from hackatime_lite.teams.report import team_report as local_report

    with opened(Target(data_dir, config, server, key, user, False)) as source:
        if isinstance(source, ServerSource):
            from hackatime_lite.cli.client import ApiError

            try:
                answer = source.client.get_json(f"/api/native/v1/teams/{team}/dashboard", {"range": range_name})
            except ApiError as exc:
                raise SourceError(str(exc)) from exc
            try:
                report = msgspec.convert(answer, TeamReport)
            except msgspec.ValidationError as exc:
                raise fail(f"the server answered a team report in an unexpected shape: {exc}") from exc
        else:
            assert isinstance(source, LocalSource)
            report = local_report(source.ctx, source.user, team, range_name)
    if as_json:
        print_json(report)
        return
    _print(report)


def _print(report: Any) -> None:
    hidden = f" ({report.hidden_members} counted in the total only)" if report.hidden_members else ""
    console.print(f"[bold]{report.name}[/bold] · {report.range} · {report.member_count} members{hidden}",
                  highlight=False)
    console.print(f"total: {human_text(report.total_seconds)}", highlight=False)
    table = Table("member", "role", "time", "projects", "languages")
    for member in report.members:
        table.add_row(member.username, member.role, human_text(member.total_seconds),
                      ", ".join(p.name for p in member.projects[:3]), ", ".join(lang.name for lang in member.languages[:3]))
    console.print(table)
    for name in ("today", "last_7_days", "last_30_days"):
        rows = ", ".join(f"#{e.rank} {e.username} {human_text(e.total_seconds)}" for e in report.boards.get(name, []))
        console.print(f"{name}: {rows or '-'}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(team_app, name="team")
