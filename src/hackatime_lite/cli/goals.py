"""`hackatime-lite goal add|list|rm` and `report goals`: coding-time goals in the terminal.

Like the reports, these talk to a running server (the one on the data dir, or --server) over the WakaTime goals
API, or, when no server holds the data dir, run the same use cases (hackatime_lite.goals) in this process.
Either way the goals arrive as typed `GoalView` objects and are printed by one code path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import msgspec
import typer

from hackatime_lite.cli.common import (
    ConfigOption,
    DataDirOption,
    console,
    fail,
    print_json,
    settings_for,
)
from hackatime_lite.cli.reports import (
    JsonOption,
    KeyOption,
    ServerOption,
    Target,
    UserOption,
    opened,
)

if TYPE_CHECKING:
    from hackatime_lite.goals import GoalView

goal_app = typer.Typer(help="Daily or weekly coding-time goals.", no_args_is_help=True)
ListOption = list[str] | None
STATUS_STYLE = {"success": "green", "fail": "red", "pending": "yellow", "ignored": "dim"}


# -- where goals live: a server's API, or the data dir in this process --------------------------------------
class GoalRow(NamedTuple):
    id: str
    title: str
    delta: str
    seconds: int
    is_inverse: bool
    is_enabled: bool


class GoalClient:
    """The goals of one user, over HTTP (`api`) or in process (`ctx`)."""

    def __init__(self, *, api: Any = None, user_ref: str = "current", ctx: Any = None, user: Any = None) -> None:
        self.api, self.user_ref, self.ctx, self.user = api, user_ref, ctx, user

    def _path(self, suffix: str = "") -> str:
        from hackatime_lite.cli.client import API_BASE

        return f"{API_BASE}/users/{self.user_ref}/goals{suffix}"

    def _call(self, method: str, suffix: str = "", body: Any = None) -> Any:
        from hackatime_lite.cli.client import error_message

        response = self.api.request(method, self._path(suffix), json=body)
        if response.status_code >= 400:
            raise fail(f"{response.status_code}: {error_message(response)}")
        return response.json()

    def progress(self) -> list[GoalView]:
        from hackatime_lite import goals

        if self.api is not None:
            answer = self._call("GET")
            return [_decode(item) for item in answer.get("data", [])]
        return goals.list_progress(self.ctx, self.user)

    def add(self, body: dict[str, Any]) -> tuple[str, str]:
        """(id, title) of the new goal."""
        from hackatime_lite import goals

        if self.api is not None:
            data = self._call("POST", body=body)["data"]
            return data["id"], data["title"]
        created = goals.create_goal(self.ctx, self.user, body)
        return created.id, goals.title_of(created.spec)

    def definitions(self) -> list[GoalRow]:
        """Every goal's definition; in process without computing progress (no analytics replica)."""
        from hackatime_lite import goals

        if self.api is not None:
            return [GoalRow(g.id, g.title, g.delta, g.seconds, g.is_inverse, g.is_enabled) for g in self.progress()]
        return [GoalRow(g.id, goals.title_of(g.spec), g.spec.delta, g.spec.seconds, g.spec.is_inverse,
                        g.spec.is_enabled) for g in goals.list_goals(self.ctx, self.user)]

    def remove(self, goal_id: str) -> None:
        from hackatime_lite import goals

        if self.api is not None:
            self._call("DELETE", f"/{goal_id}")
        else:
            goals.delete_goal(self.ctx, self.user, goal_id)


def _decode(item: Any) -> GoalView:
    from hackatime_lite.goals import GoalView

    try:
        return msgspec.convert(item, GoalView)
    except msgspec.ValidationError as exc:
        raise fail(f"the server answered a goal in an unexpected shape: {exc}") from exc


@contextlib.contextmanager
def _client(target: Target) -> Iterator[GoalClient]:
    """For add / list / rm: the server when there is one, else the data dir's store (no analytics replica needed)."""
    from hackatime_lite.cli.client import ApiClient
    from hackatime_lite.cli.report_sources import SourceError, api_or_store
    from hackatime_lite.context import AppContext

    settings = settings_for(target.data_dir, target.config)
    try:
        with api_or_store(settings, server=target.server, key=target.key, user=target.user) as where:
            if isinstance(where, ApiClient):
                yield GoalClient(api=where, user_ref=target.user or "current")
            else:
                yield GoalClient(ctx=AppContext(settings=settings, store=where.store), user=where.user)
    except SourceError as exc:
        raise fail(str(exc), 2 if exc.usage else 1) from exc


@contextlib.contextmanager
def read_client(target: Target) -> Iterator[GoalClient]:
    """For progress: the report source (a server's read API, or the data dir with its analytics replica)."""
    from hackatime_lite.cli.report_sources import LocalSource, ServerSource

    with opened(target) as source:
        if isinstance(source, ServerSource):
            yield GoalClient(api=source.client, user_ref=source.user)
        else:
            assert isinstance(source, LocalSource)
            yield GoalClient(ctx=source.ctx, user=source.user)


def _status(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


# -- commands -------------------------------------------------------------------------------------------------
@goal_app.command("add")
def goal_add(
    per: Annotated[str, typer.Option("--per", help="day or week.")] = "day",
    hours: Annotated[float, typer.Option("--hours", min=0, max=168, help="Target hours.")] = 0.0,
    minutes: Annotated[float, typer.Option("--minutes", min=0, max=10080, help="Target minutes (added).")] = 0.0,
    at_most: Annotated[bool, typer.Option("--at-most", help="A limit: fail once exceeded.")] = False,
    language: Annotated[ListOption, typer.Option("--language", help="Count only this language (repeatable).")] = None,
    project: Annotated[ListOption, typer.Option("--project", help="Count only this project (repeatable).")] = None,
    editor: Annotated[ListOption, typer.Option("--editor", help="Count only this editor (repeatable).")] = None,
    category: Annotated[ListOption, typer.Option("--category", help="Count only this category (repeatable).")] = None,
    ignore_day: Annotated[ListOption, typer.Option("--ignore-day", help="A weekday to ignore (repeatable).")] = None,
    ignore_zero_days: Annotated[bool, typer.Option("--ignore-zero-days", help="Days without coding are ignored.")]
    = False,
    title: Annotated[str | None, typer.Option("--title", help="Own title (default: generated).")] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
    server: ServerOption = None,
    key: KeyOption = None,
    user: UserOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a goal: [bold]hackatime-lite goal add --per day --hours 2 --language Python[/bold]"""
    body = {"delta": per, "seconds": round(hours * 3600 + minutes * 60), "is_inverse": at_most,
            "languages": language or [], "projects": project or [], "editors": editor or [],
            "categories": category or [], "ignore_days": ignore_day or [], "ignore_zero_days": ignore_zero_days,
            "is_enabled": not disabled, "title": title}
    with _client(Target(data_dir, config, server, key, user, False)) as goals:
        goal_id, goal_title = goals.add(body)
    if as_json:
        print_json({"id": goal_id, "title": goal_title})
    else:
        console.print(f"added goal [bold]{goal_title}[/bold] ({goal_id})", highlight=False)


@goal_app.command("list")
def goal_list(
    server: ServerOption = None,
    key: KeyOption = None,
    user: UserOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Your goals (how they are going: `hackatime-lite report goals`)."""
    with _client(Target(data_dir, config, server, key, user, False)) as goals:
        found = goals.definitions()
    if as_json:
        print_json([row._asdict() for row in found])
        return
    from rich.table import Table

    from hackatime_lite.text.formatting import human_text

    table = Table(title=f"{len(found)} goal{'' if len(found) == 1 else 's'}", title_justify="left")
    table.add_column("id", no_wrap=True, min_width=36)  # whole: `goal rm` takes it
    for column in ("goal", "per", "target", "enabled"):
        table.add_column(column)
    for row in found:
        table.add_row(row.id, row.title, row.delta, ("at most " if row.is_inverse else "") + human_text(row.seconds),
                      "yes" if row.is_enabled else "no")
    if not found:
        table.add_row("[dim]no goals (add one with `hackatime-lite goal add`)[/dim]", "", "", "", "")
    console.print(table)


@goal_app.command("rm")
def goal_rm(
    goal_id: Annotated[str, typer.Argument(help="The goal's id (or a unique start of it).")],
    server: ServerOption = None,
    key: KeyOption = None,
    user: UserOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Delete a goal."""
    wanted = goal_id.strip().lower()
    with _client(Target(data_dir, config, server, key, user, False)) as goals:
        known = [(row.id, row.title) for row in goals.definitions()]
        matches = [(i, t) for i, t in known if i == wanted] or \
            [(i, t) for i, t in known if len(wanted) >= 4 and i.startswith(wanted)]
        if len(matches) != 1:
            raise fail(f"no goal {goal_id!r} (see `hackatime-lite goal list`)" if not matches
                       else f"{goal_id!r} matches {len(matches)} goals: give more of the id")
        goals.remove(matches[0][0])
    console.print(f"deleted goal [bold]{matches[0][1]}[/bold] ({matches[0][0]})", highlight=False)


# -- report goals ----------------------------------------------------------------------------------------------
def goals_report(found: list[GoalView]) -> list[dict[str, Any]]:
    """Per goal its periods (oldest first) as the source computed them."""
    return [{"id": g.id, "title": g.title, "delta": g.delta, "seconds": g.seconds, "is_inverse": g.is_inverse,
             "status": g.status, "average_status": g.average_status, "cumulative_status": g.cumulative_status,
             "periods": [{"date": item.range.date.isoformat(), "text": item.range.text,
                          "actual_seconds": item.actual_seconds, "goal_seconds": item.goal_seconds,
                          "status": item.range_status, "reason": item.range_status_reason}
                         for item in g.chart_data]}
            for g in found]


def report_goals(data_dir: Path | None, config: Path | None, server: str | None, key: str | None, user: str | None,
                 verbose: bool, fmt: str) -> None:
    """`report goals`: every goal's last 7 days or weeks."""
    with read_client(Target(data_dir, config, server, key, user, verbose)) as goals:
        report = goals_report(goals.progress())
    if fmt == "json":
        print_json(report)
        return
    if fmt == "csv":
        from hackatime_lite.cli.reports import _write_csv

        _write_csv(("goal_id", "goal", "date", "actual_seconds", "goal_seconds", "status"),
                   [(g["id"], g["title"], p["date"], round(p["actual_seconds"], 3), p["goal_seconds"], p["status"])
                    for g in report for p in g["periods"]])
        return
    from rich.table import Table

    from hackatime_lite.cli.reports import bar
    from hackatime_lite.text.formatting import human_text

    if not report:
        console.print("no goals (add one with `hackatime-lite goal add`)")
    for g in report:
        table = Table(title=f"{g['title']} · {_status(g['status'])} · average {_status(g['average_status'])}",
                      title_justify="left")
        for column in ("period", "coded", "", "status"):
            table.add_column(column, justify="right" if column == "coded" else "left")
        for p in g["periods"]:
            table.add_row(f"{p['text']} ({p['date']})", human_text(p["actual_seconds"]),
                          bar(min(1.0, p["actual_seconds"] / p["goal_seconds"]), 16), _status(p["status"]))
        console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(goal_app, name="goal")
