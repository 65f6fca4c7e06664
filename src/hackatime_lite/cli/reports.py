"""`hackatime-lite report …`: coding time in the terminal (table with bars, --json, --csv).

The numbers come from a running server's read API or, when no server holds the data dir, from the same
read use cases run in this process (report_sources); either way as typed report objects (DayReport, Span,
Streak, Board). This module only picks, sums per-day figures the source computed, and prints.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer

from hackatime_lite.cli.common import (
    ConfigOption,
    DataDirOption,
    console,
    err_console,
    fail,
    print_json,
    settings_for,
)
from hackatime_lite.models import DIMENSIONS, dimension_by_short

if TYPE_CHECKING:
    from hackatime_lite.models import DayReport

report_app = typer.Typer(
    invoke_without_command=True,
    rich_markup_mode="rich",
)

# --by value (models.Dimension.short) -> the plural key of a day's breakdown ("day" is the days themselves).
BREAKDOWNS = {d.short: d.plural for d in DIMENSIONS if d.summary != "never"} | {"day": "day"}
BAR_WIDTH = 24
_EIGHTHS = " ▏▎▍▌▋▊▉"

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server", help="URL of a hackatime-lite server (default: the one running on the data dir)."
    ),
]
KeyOption = Annotated[
    str | None,
    typer.Option("--key", help="API key (default: $HACKATIME_API_KEY, else api_key in ~/.wakatime.cfg)."),
]
UserOption = Annotated[str | None, typer.Option("--user", help="Another user's report (admins only).")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Say where the numbers come from.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV.")]
ByOption = Annotated[
    str,
    typer.Option("--by", help=f"Break down by {'|'.join(BREAKDOWNS)}|ai_model (AI-coding figures per model).",
                 case_sensitive=False),
]
ListOption = list[str] | None
ProjectFilter = Annotated[ListOption, typer.Option("--project", help="Only these projects (repeatable).")]
BranchFilter = Annotated[ListOption, typer.Option("--branch", help="Only these branches (repeatable).")]
LanguageFilter = Annotated[ListOption, typer.Option("--language", help="Only these languages (repeatable).")]
EditorFilter = Annotated[ListOption, typer.Option("--editor", help="Only these editors (repeatable).")]
OsFilter = Annotated[ListOption, typer.Option("--os", help="Only these operating systems (repeatable).")]
MachineFilter = Annotated[ListOption, typer.Option("--machine", help="Only these machines (repeatable).")]
CategoryFilter = Annotated[ListOption, typer.Option("--category", help="Only these categories (repeatable).")]
EntityFilter = Annotated[ListOption, typer.Option("--entity", help="Only these files (entities; repeatable).")]
RangeOption = Annotated[
    str | None,
    typer.Option(
        "--range", help="today, yesterday, week, month, last_7_days, last_30_days, YYYY, YYYY-MM, …"
    ),
]
FromOption = Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")]
ToOption = Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (included).")]


# -- plumbing ---------------------------------------------------------------------------------------------
class Target:
    """Where to read from, as the command line says."""

    def __init__(
        self,
        data_dir: Path | None,
        config: Path | None,
        server: str | None,
        key: str | None,
        user: str | None,
        verbose: bool,
    ) -> None:
        self.data_dir, self.config, self.server, self.key = data_dir, config, server, key
        self.user, self.verbose = user, verbose


@contextlib.contextmanager
def _rebuild_progress() -> Iterator[Callable[[int, int], None]]:
    """A progress callback that shows a bar (on stderr) only once opening the data dir starts a rebuild."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("rebuilding the analytics replica"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        transient=True,
    )
    task = None

    def report(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task("rebuild", total=None)
        bar.update(task, completed=done, total=total)

    try:
        yield report
    finally:
        if task is not None:
            bar.stop()


@contextlib.contextmanager
def opened(target: Target, *, for_user: bool = True) -> Iterator[Any]:
    """The report source; its errors become CLI messages (exit 1, or 2 for bad arguments)."""
    from hackatime_lite.cli.report_sources import SourceError, open_source

    settings = settings_for(target.data_dir, target.config)
    with _quiet_logs(not target.verbose):
        try:
            with _rebuild_progress() as progress:
                source = open_source(
                    settings,
                    server=target.server,
                    key=target.key,
                    user=target.user,
                    progress=progress,
                    for_user=for_user,
                )
        except SourceError as exc:
            raise fail(str(exc), 2 if exc.usage else 1) from exc
        if target.verbose:
            err_console.print(f"reading from {source.description}", highlight=False)
        try:
            yield source
        except SourceError as exc:
            raise fail(str(exc), 2 if exc.usage else 1) from exc
        finally:
            source.close()


@contextlib.contextmanager
def _quiet_logs(quiet: bool) -> Iterator[None]:
    """The replica logs its (re)builds as warnings; a report shows a progress bar instead (unless -v)."""
    logger = logging.getLogger("hackatime_lite")
    previous = logger.level
    if quiet:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _output_format(as_json: bool, as_csv: bool) -> str:
    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv")
    return "json" if as_json else "csv" if as_csv else "table"


def _write_csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar in eighths of a character cell."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _text(seconds: float) -> str:
    from hackatime_lite.text import formatting

    return formatting.human_text(seconds)


# -- summaries (today / week / month / --range / --from --to) --------------------------------------------
def summary_query(
    range_name: str | None, start: str | None, end: str | None, filters: dict[str, ListOption]
) -> dict[str, str]:
    """The read API's summaries parameters (the same for both sources)."""
    from hackatime_lite.cli.report_sources import FILTER_PARAMS

    if range_name and (start or end):
        raise typer.BadParameter("give --range or --from/--to, not both")
    query: dict[str, str] = {}
    if start or end:
        query["start"], query["end"] = start or end or "", end or start or ""
    else:
        query["range"] = range_name or "today"
    for option, values in filters.items():
        if values:
            query[FILTER_PARAMS[option]] = ",".join(values)
    return query


def breakdown(days: Sequence[DayReport], by: str) -> list[tuple[str, float]]:
    """(name, seconds) over the range, largest first: per-day figures from the source, added up."""
    if by == "day":
        return [(d.date.isoformat(), d.grand_total.total_seconds) for d in days]
    key = BREAKDOWNS[by]
    totals: dict[str, float] = {}
    for day in days:
        for entry in day.breakdowns.get(key, []):
            totals[entry.name] = totals.get(entry.name, 0.0) + entry.total_seconds
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


def summary_report(days: Sequence[DayReport], by: str, query: dict[str, str]) -> dict[str, Any]:
    total = sum(d.grand_total.total_seconds for d in days)
    rows = breakdown(days, by)
    return {
        "range": {
            "start": days[0].date.isoformat() if days else None,
            "end": days[-1].date.isoformat() if days else None,
            "timezone": days[0].timezone if days else None,
            "query": query,
        },
        "by": by,
        "total_seconds": total,
        "total_text": _text(total),
        "rows": [
            {
                "name": name,
                "total_seconds": seconds,
                "hours": hours(seconds),
                "percent": round(100 * seconds / total, 2) if total else 0.0,
                "text": _text(seconds),
            }
            for name, seconds in rows
        ],
    }


def print_summary(report: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        print_json(report)
        return
    if fmt == "csv":
        _write_csv(
            ("name", "total_seconds", "hours", "percent"),
            [(r["name"], round(r["total_seconds"], 3), r["hours"], r["percent"]) for r in report["rows"]],
        )
        return
    from rich.table import Table

    rng = report["range"]
    span = rng["start"] if rng["start"] == rng["end"] else f"{rng['start']} – {rng['end']}"
    table = Table(title=f"{span} ({rng['timezone']}) · total {report['total_text']}", title_justify="left")
    table.add_column(report["by"])
    table.add_column("time", justify="right")
    table.add_column("%", justify="right")
    table.add_column("", no_wrap=True, style="cyan")
    largest = max((r["total_seconds"] for r in report["rows"]), default=0.0)
    for row in report["rows"]:
        table.add_row(
            row["name"],
            row["text"],
            f"{row['percent']:.1f}",
            bar(row["total_seconds"] / largest if largest else 0.0),
        )
    if not report["rows"]:
        table.add_row("[dim]no coding time[/dim]", "", "", "")
    console.print(table)


def summary_filters(
    project: ListOption,
    branch: ListOption,
    language: ListOption,
    editor: ListOption,
    os_name: ListOption,
    machine: ListOption,
    category: ListOption,
    entity: ListOption = None,
) -> dict[str, ListOption]:
    """The filter options of `report` and its period commands, keyed as `summary_query` expects."""
    return {
        "project": project,
        "branch": branch,
        "language": language,
        "editor": editor,
        "os": os_name,
        "machine": machine,
        "category": category,
        "entity": entity,
    }


def run_summary(
    target: Target,
    fmt: str,
    by: str,
    range_name: str | None,
    start: str | None,
    end: str | None,
    filters: dict[str, ListOption],
) -> None:
    by = by.lower()
    if by == "ai_model":
        from hackatime_lite.cli.insights import run_ai_report  # AI figures are counts, not a time breakdown

        run_ai_report(target, fmt, "model", range_name, start, end, filters)
        return
    if by not in BREAKDOWNS:
        raise typer.BadParameter(f"--by must be one of {', '.join(BREAKDOWNS)}", param_hint="--by")
    chosen = dimension_by_short(by)
    if chosen is not None and chosen.summary == "with_project" and not filters.get("project"):
        raise typer.BadParameter(f"{BREAKDOWNS[by]} are per project: add --project NAME", param_hint=f"--by {by}")
    query = summary_query(range_name, start, end, filters)
    with opened(target) as source:
        summaries = source.summaries(query)
    print_summary(summary_report(summaries, by, query), fmt)


@report_app.callback()
def report_main(
    ctx: typer.Context,
    range_name: RangeOption = None,
    start: FromOption = None,
    end: ToOption = None,
    by: ByOption = "project",
    project: ProjectFilter = None,
    branch: BranchFilter = None,
    language: LanguageFilter = None,
    editor: EditorFilter = None,
    os_name: OsFilter = None,
    machine: MachineFilter = None,
    category: CategoryFilter = None,
    entity: EntityFilter = None,
    server: ServerOption = None,
    key: KeyOption = None,
    user: UserOption = None,
    verbose: VerboseOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Coding time for a range (default today), broken down --by project, language, …, or day.

    [bold]hackatime-lite report --range last_7_days --by language[/bold]
    [bold]hackatime-lite report --from 2026-05-01 --to 2026-05-31 --project api --by day --csv[/bold]
    """
    if ctx.invoked_subcommand is not None:
        return
    filters = summary_filters(project, branch, language, editor, os_name, machine, category, entity)
    target = Target(data_dir, config, server, key, user, verbose)
    run_summary(target, _output_format(as_json, as_csv), by, range_name, start, end, filters)


def _period_command(period: str, doc: str) -> Callable[..., None]:
    def command(
        by: ByOption = "project",
        project: ProjectFilter = None,
        branch: BranchFilter = None,
        language: LanguageFilter = None,
        editor: EditorFilter = None,
        os_name: OsFilter = None,
        machine: MachineFilter = None,
        category: CategoryFilter = None,
        entity: EntityFilter = None,
        server: ServerOption = None,
        key: KeyOption = None,
        user: UserOption = None,
        verbose: VerboseOption = False,
        data_dir: DataDirOption = None,
        config: ConfigOption = None,
        as_json: JsonOption = False,
        as_csv: CsvOption = False,
    ) -> None:
        filters = summary_filters(project, branch, language, editor, os_name, machine, category, entity)
        target = Target(data_dir, config, server, key, user, verbose)
        run_summary(target, _output_format(as_json, as_csv), by, period, None, None, filters)

    command.__doc__ = doc
    return command


report_app.command("today")(_period_command("today", "Today's coding time (your time zone)."))
report_app.command("week")(_period_command("week", "This week's coding time, Monday to today."))
report_app.command("month")(_period_command("month", "This month's coding time, the 1st to today."))


# -- invoice ------------------------------------------------------------------------------------------------
def invoice_report(summaries: Sequence[DayReport], projects: Sequence[str], rate: float | None) -> dict[str, Any]:
    """Per day, hours per project (as the source credited them) and the day's total; totals per project."""
    wanted = set(projects)
    days, per_project = [], dict.fromkeys(projects, 0.0)
    for day in summaries:
        seconds = {e.name: e.total_seconds for e in day.breakdowns.get("projects", []) if e.name in wanted}
        if not seconds:
            continue
        for name, value in seconds.items():
            per_project[name] += value
        day_total = sum(seconds.values())
        days.append(
            {
                "date": day.date.isoformat(),
                "seconds": seconds,
                "total_seconds": day_total,
                "hours": {name: hours(v) for name, v in seconds.items()},
                "total_hours": hours(day_total),
            }
        )
    total = sum(per_project.values())
    report: dict[str, Any] = {
        "projects": list(projects),
        "days": days,
        "project_seconds": per_project,
        "project_hours": {name: hours(v) for name, v in per_project.items()},
        "total_seconds": total,
        "total_hours": hours(total),
    }
    if rate is not None:
        report["rate"] = rate
        report["amount"] = round(total / 3600 * rate, 2)
    return report


def print_invoice(report: dict[str, Any], fmt: str) -> None:
    projects = report["projects"]
    if fmt == "json":
        print_json(report)
        return
    rows = [
        [d["date"], *(d["hours"].get(p, 0.0) for p in projects), d["total_hours"]] for d in report["days"]
    ]
    totals = ["total", *(report["project_hours"][p] for p in projects), report["total_hours"]]
    if fmt == "csv":
        _write_csv(("date", *projects, "total"), [*rows, totals])
        return
    from rich.table import Table

    table = Table(title="hours per project and day", title_justify="left", show_footer=True)
    table.add_column("date", footer="total")
    for project, value in zip(projects, totals[1:-1], strict=True):
        table.add_column(project, justify="right", footer=f"{value:.2f}")
    table.add_column("total", justify="right", footer=f"{report['total_hours']:.2f}", style="bold")
    for row in rows:
        table.add_row(row[0], *(f"{v:.2f}" if v else "" for v in row[1:]))
    console.print(table)
    if "amount" in report:
        console.print(
            f"{report['total_hours']:.2f} h × {report['rate']:g} = [bold]{report['amount']:.2f}[/bold]"
        )


@report_app.command("invoice")
def invoice(
    project: Annotated[list[str], typer.Option("--project", help="Project to bill (repeatable).")],
    start: FromOption = None,
    end: ToOption = None,
    range_name: RangeOption = None,
    rate: Annotated[float | None, typer.Option("--rate", min=0, help="Hourly rate: adds the amount.")] = None,
    server: ServerOption = None,
    key: KeyOption = None,
    user: UserOption = None,
    verbose: VerboseOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Hours per project and day for billing, with totals (default range: this month).

    [bold]hackatime-lite report invoice --project acme --from 2026-05-01 --to 2026-05-31 --rate 90[/bold]
    """
    fmt = _output_format(as_json, as_csv)
    query = summary_query(range_name or (None if start or end else "month"), start, end, {"project": project})
    wanted = list(dict.fromkeys(project))
    with opened(Target(data_dir, config, server, key, user, verbose)) as source:
        known = set(source.project_names())
        unknown = [name for name in wanted if name not in known]
        if unknown:
            raise fail(f"no project named {', '.join(map(repr, unknown))} (see `hackatime-lite report --by project`)")
        summaries = source.summaries(query)
    print_invoice(invoice_report(summaries, list(dict.fromkeys(project)), rate), fmt)


# -- spans ------------------------------------------------------------------------------------------------
def _clock(epoch: float, zone: ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(epoch, zone).strftime("%Y-%m-%d %H:%M:%S")


@report_app.command("spans")
def spans(
    date: Annotated[str | None, typer.Option("--date", help="One day, YYYY-MM-DD (default: today).")] = None,
    start: FromOption = None,
    end: ToOption = None,
    project: ProjectFilter = None,
    server: ServerOption = None,
    key: KeyOption = None,
    user: UserOption = None,
    verbose: VerboseOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Coding sessions (runs of continuous activity) of a day or a range, in the user's time zone."""
    fmt = _output_format(as_json, as_csv)
    if date and (start or end):
        raise typer.BadParameter("give --date or --from/--to, not both")
    with opened(Target(data_dir, config, server, key, user, verbose)) as source:
        tz = source.timezone()
        # Days are the user's days (as in every report), so "today" is today where the user is.
        first = start or date or dt.datetime.now(ZoneInfo(tz)).date().isoformat()
        query = {"start_date": first, "end_date": end or date or first}
        if project:
            query["project"] = ",".join(project)
        found = source.spans(query)
    zone = ZoneInfo(tz)
    if fmt == "json":
        print_json({"query": query, "timezone": tz, "spans": found, "total_seconds": sum(s.duration for s in found)})
        return
    if fmt == "csv":
        _write_csv(
            ("start_time", "end_time", "duration"),
            [(s.start_time, s.end_time, round(s.duration, 3)) for s in found],
        )
        return
    from rich.table import Table

    total = sum(s.duration for s in found)
    table = Table(title=f"{_count(len(found), 'session')} · {_text(total)} · times in {tz}", title_justify="left")
    table.add_column(f"start ({tz})")
    table.add_column("end")
    table.add_column("duration", justify="right")
    for span in found:
        table.add_row(_clock(span.start_time, zone), _clock(span.end_time, zone)[11:], _text(span.duration))
    console.print(table)


# -- streak -----------------------------------------------------------------------------------------------
@report_app.command("streak")
def streak(
    server: ServerOption = None,
    key: KeyOption = None,
    user: UserOption = None,
    verbose: VerboseOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Days in a row with coding (current and longest)."""
    fmt = _output_format(as_json, as_csv)
    with opened(Target(data_dir, config, server, key, user, verbose)) as source:
        found = source.streak()
    fields = ("current", "current_start", "current_end", "longest", "longest_start", "longest_end")
    if fmt == "json":
        # `streak_days` (Hackatime's name for `current`) as this command has always printed it.
        print_json({"streak_days": found.current, **{name: getattr(found, name) for name in fields}})
    elif fmt == "csv":
        _write_csv(fields, [[getattr(found, name) for name in fields]])
    else:

        def since(prefix: str) -> str:
            first, last = getattr(found, prefix + "_start"), getattr(found, prefix + "_end")
            return f" ({first} – {last})" if first else ""

        console.print(
            f"current streak: [bold]{_count(found.current, 'day')}[/bold]{since('current')}",
            highlight=False,
        )
        console.print(
            f"longest streak: [bold]{_count(found.longest, 'day')}[/bold]{since('longest')}",
            highlight=False,
        )


# -- leaderboard ------------------------------------------------------------------------------------------
@report_app.command("leaderboard")
def leaderboard(
    board: Annotated[
        str, typer.Option("--board", help="today, last_24_hours, last_7_days or last_30_days.")
    ] = "today",
    language: Annotated[str | None, typer.Option("--language", help="Only time in this language.")] = None,
    page: Annotated[int, typer.Option("--page", min=1)] = 1,
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="Entries per page.")] = 25,
    server: ServerOption = None,
    key: KeyOption = None,
    verbose: VerboseOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """The leaderboard (built by the server every minute; users who opted out are not listed)."""
    fmt = _output_format(as_json, as_csv)
    query = {"board": board, "page": str(page), "page_size": str(limit)}
    if language:
        query["language"] = language
    with opened(Target(data_dir, config, server, key, None, verbose), for_user=False) as source:
        found = source.leaderboard(query)
    if fmt == "json":
        print_json(found)
        return
    rows = [
        (
            e.rank,
            e.user.username,
            e.total_seconds,
            e.daily_average,
            e.streak,
            ", ".join(lang.name for lang in e.languages[:3]),
        )
        for e in found.entries
    ]
    if fmt == "csv":
        _write_csv(("rank", "user", "total_seconds", "daily_average", "streak", "languages"), rows)
        return
    from rich.table import Table

    table = Table(
        title=f"{found.title} · page {found.page}/{found.total_pages}",
        title_justify="left",
    )
    for name, justify in (
        ("#", "right"),
        ("user", "left"),
        ("time", "right"),
        ("", "left"),
        ("streak", "right"),
        ("languages", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]  # justify is a plain str here; rich wants its Literal
    largest = max((r[2] for r in rows), default=0.0)
    for rank, username, seconds, _, days, langs in rows:
        table.add_row(
            str(rank),
            username,
            _text(seconds),
            bar(seconds / largest if largest else 0.0, 16),
            str(days or ""),
            langs,
        )
    console.print(table)


# -- goals ------------------------------------------------------------------------------------------------
@report_app.command("goals")
def goals(
    server: ServerOption = None,
    key: KeyOption = None,
    user: UserOption = None,
    verbose: VerboseOption = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
) -> None:
    """Each goal's last 7 days or weeks: coded time, target and status (goals: `hackatime-lite goal`)."""
    from hackatime_lite.cli.goals import report_goals  # cli.goals builds on this module

    report_goals(data_dir, config, server, key, user, verbose, _output_format(as_json, as_csv))

def register(app: typer.Typer) -> None:
    from hackatime_lite.cli import insights, weekly  # noqa: F401  (register `report weekly|focus|ai`)

    app.add_typer(report_app, name="report")
