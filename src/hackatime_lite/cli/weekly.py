"""`hackatime-lite report weekly [--week 2026-W48] [--json]`: one ISO week of coding (notify.weekly's report),
from a running server's API or from the data dir in this process — the same typed report either way, and the
same numbers as the weekly e-mail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import msgspec
import typer

from hackatime_lite.cli.common import console, print_json
from hackatime_lite.cli.reports import (
    ConfigOption,
    DataDirOption,
    JsonOption,
    KeyOption,
    ServerOption,
    Target,
    UserOption,
    VerboseOption,
    bar,
    opened,
    report_app,
)
from hackatime_lite.errors import InputError
from hackatime_lite.text.formatting import human_text

if TYPE_CHECKING:  # the report's module pulls in the analytics engine: imported when a report runs
    from hackatime_lite.notify.weekly import WeeklyReport

WEEKLY_API = "/api/native/v1/users/{user}/reports/weekly"
WeekOption = Annotated[
    str | None,
    typer.Option("--week", help="An ISO week, e.g. 2026-W48 (default: the last complete week)."),
]


def fetch_weekly(source: Any, week: str | None) -> WeeklyReport:
    """The report from either kind of source (cli.report_sources)."""
    from hackatime_lite.cli.client import ApiError
    from hackatime_lite.cli.report_sources import LocalSource, SourceError, _explain
    from hackatime_lite.notify.weekly import WeeklyReport, parse_week, weekly_report

    if isinstance(source, LocalSource):
        try:
            return weekly_report(source.ctx, source.user, parse_week(week) if week else None)
        except InputError as exc:
            raise SourceError(str(exc), usage=True) from exc
    if week:
        try:
            parse_week(week)  # the same message as locally, before asking the server
        except InputError as exc:
            raise SourceError(str(exc), usage=True) from exc
    path = WEEKLY_API.format(user=source.user)
    try:
        answer = source.client.get_json(path, {"week": week} if week else None)
    except ApiError as exc:
        raise SourceError(_explain(exc, source.client.root), usage=exc.status == 400) from exc
    try:
        return msgspec.convert(answer, WeeklyReport)
    except msgspec.ValidationError as exc:
        raise SourceError(f"{source.client.root} answered {path} in an unexpected shape: {exc}") from exc


def _change(report: WeeklyReport) -> str:
    if report.change_percent is None:
        return "no coding time the week before"
    return f"{report.change_percent:+.1f} % against the week before ({human_text(report.previous_total_seconds)})"


def print_weekly(report: WeeklyReport) -> None:
    from rich.table import Table

    console.print(f"[bold]week {report.week}[/bold] ({report.start} – {report.end}, {report.timezone}): "
                  f"[bold]{report.total_text}[/bold], {_change(report)}", highlight=False)
    best = f"; best day {report.best_day.date:%A} ({report.best_day.text})" if report.best_day else ""
    console.print(f"daily average {human_text(report.daily_average_seconds)} over {report.active_days} active "
                  f"day(s){best}", highlight=False)
    days = Table(title="per day", title_justify="left")
    for name, justify in (("day", "left"), ("time", "right"), ("", "left")):
        days.add_column(name, justify=justify)  # type: ignore[arg-type]
    largest = max((d.total_seconds for d in report.days), default=0.0)
    for day in report.days:
        days.add_row(f"{day.date:%a %Y-%m-%d}", day.text, bar(day.total_seconds / largest if largest else 0.0, 16))
    console.print(days)
    for title, entries in (("top projects", report.projects), ("top languages", report.languages)):
        table = Table(title=title, title_justify="left")
        for name, justify in (("name", "left"), ("time", "right"), ("%", "right")):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for entry in entries:
            table.add_row(entry.name, entry.text, f"{entry.percent:.1f}")
        console.print(table)
    focus = report.focus
    console.print(f"focus: {focus.sessions} deep-work session(s) of {focus.min_minutes}+ min, "
                  f"{human_text(focus.total_seconds)} ({focus.share * 100:.1f} % of the week), longest "
                  f"{human_text(focus.longest_seconds)}", highlight=False)
    if report.goals:
        met = sum(1 for goal in report.goals if goal.met)
        console.print(f"goals met: {met} of {len(report.goals)}", highlight=False)
        for goal in report.goals:
            mark = "[green]✔[/green]" if goal.met else "[red]✘[/red]"
            unit = "days" if goal.delta == "day" else "weeks"
            console.print(f"  {mark} {goal.title}: {human_text(goal.actual_seconds)} "
                          f"{'against a limit of' if goal.is_inverse else 'of'} {human_text(goal.goal_seconds)}, "
                          f"{goal.periods_met} of {goal.periods_counted} {unit} met", highlight=False)


@report_app.command("weekly")
def weekly(
    week: WeekOption = None,
    server: ServerOption = None,
    key: KeyOption = None,
    user: UserOption = None,
    verbose: VerboseOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """One ISO week: total and per day, top projects and languages, change against the week before, best
    day, focus (deep-work sessions) and goals met — the weekly e-mail's numbers."""
    from hackatime_lite.cli.report_sources import SourceError
    from hackatime_lite.cli.reports import fail

    with opened(Target(data_dir, config, server, key, user, verbose)) as source:
        try:
            found = fetch_weekly(source, week)
        except SourceError as exc:
            raise fail(str(exc), 2 if exc.usage else 1) from exc
    if as_json:
        print_json(found)
    else:
        print_weekly(found)
