"""`hackatime-lite report focus` (deep-work sessions), `report ai` and `report --by ai_model` (AI-coding figures):
from a running server's native API or from the data dir in this process — the same typed reports
(insights.focus.FocusReport, insights.ai.AiReport) and numbers either way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import msgspec
import typer

from hackatime_lite.cli.common import console, print_json
from hackatime_lite.cli.reports import (
    BranchFilter,
    CategoryFilter,
    ConfigOption,
    CsvOption,
    DataDirOption,
    EditorFilter,
    EntityFilter,
    FromOption,
    JsonOption,
    KeyOption,
    LanguageFilter,
    ListOption,
    MachineFilter,
    OsFilter,
    ProjectFilter,
    RangeOption,
    ServerOption,
    Target,
    ToOption,
    UserOption,
    VerboseOption,
    _output_format,
    _write_csv,
    bar,
    fail,
    opened,
    report_app,
    summary_filters,
    summary_query,
)
from hackatime_lite.errors import InputError
from hackatime_lite.text.formatting import human_text

if TYPE_CHECKING:  # these modules pull in the analytics engine: imported when a report runs
    from hackatime_lite.insights.ai import AiFigures, AiReport
    from hackatime_lite.insights.focus import FocusReport

T = TypeVar("T")
FOCUS_API = "/api/native/v1/users/{user}/focus"
AI_API = "/api/native/v1/users/{user}/ai"
AI_GROUPS = {"model": "models", "project": "projects", "day": "days"}
DEFAULT_RANGE = "last_7_days"
MinMinutesOption = Annotated[
    int | None, typer.Option("--min-minutes", help="Shortest session that counts as focus (default 25).")
]


def _query(range_name: str | None, start: str | None, end: str | None,
           filters: dict[str, ListOption], default_range: str) -> dict[str, str]:
    """The native API's query: `range` or `start`/`end`, and the filter parameters (as summaries take them)."""
    if not (range_name or start or end):
        range_name = default_range
    return summary_query(range_name, start, end, filters)


def _local_range(source: Any, query: Mapping[str, str]) -> Any:
    from hackatime_lite import reports
    from hackatime_lite.analytics.ranges import explicit_range

    tz = reports.timezone_of(source.user, query.get("timezone"))
    if query.get("range"):
        return reports.resolve_named_range(source.ctx, source.user, query["range"], tz)
    return explicit_range(query["start"], query["end"], tz=tz)


def _fetch(source: Any, api: str, query: Mapping[str, str], local: Callable[[], T], shape: type[T]) -> T:
    """The report from either kind of source (cli.report_sources)."""
    from hackatime_lite.cli.client import ApiError
    from hackatime_lite.cli.report_sources import LocalSource, SourceError, _explain

    if isinstance(source, LocalSource):
        try:
            return local()
        except InputError as exc:
            raise SourceError(str(exc), usage=True) from exc
    path = api.format(user=source.user)
    try:
        answer = source.client.get_json(path, query)
    except ApiError as exc:
        raise SourceError(_explain(exc, source.client.root), usage=exc.status == 400) from exc
    try:
        return msgspec.convert(answer, shape)
    except msgspec.ValidationError as exc:
        raise SourceError(f"{source.client.root} answered {path} in an unexpected shape: {exc}") from exc


def fetch_focus(source: Any, query: Mapping[str, str]) -> FocusReport:
    from hackatime_lite.cli.report_sources import _filters
    from hackatime_lite.insights.focus import FocusReport, check_min_minutes, focus_report

    def local() -> FocusReport:
        return focus_report(source.ctx, source.user, _local_range(source, query),
                            min_minutes=check_min_minutes(query.get("min_minutes")), filters=_filters(query))

    return _fetch(source, FOCUS_API, query, local, FocusReport)


def fetch_ai(source: Any, query: Mapping[str, str]) -> AiReport:
    from hackatime_lite.insights.ai import AiReport, ai_report

    def local() -> AiReport:
        projects = [p.strip() for p in query.get("project", "").split(",") if p.strip()]
        return ai_report(source.ctx, source.user, _local_range(source, query), projects=projects or None)

    return _fetch(source, AI_API, query, local, AiReport)


def _opened_report(target: Target, fetch: Callable[[Any], T]) -> T:
    from hackatime_lite.cli.report_sources import SourceError

    with opened(target) as source:
        try:
            return fetch(source)
        except SourceError as exc:
            raise fail(str(exc), 2 if exc.usage else 1) from exc


# -- focus --------------------------------------------------------------------------------------------------
def print_focus(report: FocusReport) -> None:
    from rich.table import Table

    console.print(f"[bold]focus[/bold] {report.start} – {report.end} ({report.timezone}): "
                  f"{report.session_count} session(s) of {report.min_minutes}+ min without a pause over "
                  f"{report.timeout} s, [bold]{human_text(report.focus_seconds)}[/bold] "
                  f"({report.share * 100:.1f} % of {human_text(report.total_seconds)}), "
                  f"longest {human_text(report.longest_seconds)}", highlight=False)
    table = Table(title="per day", title_justify="left")
    for name, justify in (("day", "left"), ("focus", "right"), ("coding", "right"), ("%", "right"),
                          ("sessions", "right"), ("", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]  # rich types justify as a Literal
    for day in report.days:
        table.add_row(f"{day.date:%a %Y-%m-%d}", human_text(day.focus_seconds), human_text(day.total_seconds),
                      f"{day.share * 100:.1f}", str(day.sessions), bar(day.share, 16))
    console.print(table)


@report_app.command("focus")
def focus(
    range_name: RangeOption = None,
    start: FromOption = None,
    end: ToOption = None,
    min_minutes: MinMinutesOption = None,
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
    """Deep-work sessions (default last 7 days): runs of at least --min-minutes (25) without a pause over your
    timeout; focus time and its share of coding time per day, and the longest session."""
    fmt = _output_format(as_json, as_csv)
    filters = summary_filters(project, branch, language, editor, os_name, machine, category, entity)
    query = _query(range_name, start, end, filters, DEFAULT_RANGE)
    if min_minutes is not None:
        query["min_minutes"] = str(min_minutes)
    found = _opened_report(Target(data_dir, config, server, key, user, verbose), lambda s: fetch_focus(s, query))
    if fmt == "json":
        print_json(found)
    elif fmt == "csv":
        _write_csv(("date", "total_seconds", "focus_seconds", "share", "sessions", "longest_seconds"),
                   [(d.date.isoformat(), round(d.total_seconds, 3), round(d.focus_seconds, 3), d.share, d.sessions,
                     round(d.longest_seconds, 3)) for d in found.days])
    else:
        print_focus(found)


# -- AI-coding stats ----------------------------------------------------------------------------------------
_AI_FIELDS = ("ai_line_changes", "human_line_changes", "ai_share", "sessions", "ai_input_tokens", "ai_output_tokens",
              "line_additions", "line_deletions", "heartbeats")


def _ai_row(group: AiFigures) -> list[Any]:
    return [group.name, *(getattr(group, f) for f in _AI_FIELDS)]


def print_ai(report: AiReport, by: str) -> None:
    from rich.table import Table

    if not report.has_data:
        console.print(f"no AI-coding data {report.start} – {report.end}: no client sent AI fields "
                      "(wakatime-cli's --ai-line-changes, --ai-model, …)", highlight=False)
        return
    total = report.total
    share = f"{total.ai_share * 100:.1f} %" if total.ai_share is not None else "–"
    console.print(f"[bold]AI coding[/bold] {report.start} – {report.end} ({report.timezone}): "
                  f"{total.ai_line_changes} AI vs {total.human_line_changes} human line changes ({share} AI), "
                  f"{total.sessions} AI session(s), {total.ai_input_tokens} input / {total.ai_output_tokens} "
                  "output tokens", highlight=False)
    table = Table(title=f"per {by}", title_justify="left")
    for name in (by, "AI lines", "human lines", "AI %", "sessions", "tokens in", "tokens out"):
        table.add_column(name, justify="left" if name == by else "right")
    for group in getattr(report, AI_GROUPS[by]):
        table.add_row(group.name or "", str(group.ai_line_changes), str(group.human_line_changes),
                      f"{group.ai_share * 100:.1f}" if group.ai_share is not None else "–", str(group.sessions),
                      str(group.ai_input_tokens), str(group.ai_output_tokens))
    console.print(table)


def run_ai_report(target: Target, fmt: str, by: str, range_name: str | None, start: str | None, end: str | None,
                  filters: dict[str, ListOption]) -> None:
    """AI-coding figures per `by` (model, project or day); only --project filters them (they are counts sent per
    heartbeat, not coding time)."""
    if by not in AI_GROUPS:
        raise typer.BadParameter(f"--by must be one of {', '.join(AI_GROUPS)}", param_hint="--by")
    others = [name for name, values in filters.items() if values and name != "project"]
    if others:
        raise typer.BadParameter(f"AI figures filter by --project only, not --{others[0]}")
    query = _query(range_name, start, end, {"project": filters.get("project")}, "today")
    found = _opened_report(target, lambda s: fetch_ai(s, query))
    groups = getattr(found, AI_GROUPS[by])
    if fmt == "json":
        print_json({"query": query, "by": by, "has_data": found.has_data, "total": found.total, "rows": groups})
    elif fmt == "csv":
        _write_csv((by, *_AI_FIELDS), [_ai_row(g) for g in groups])
    else:
        print_ai(found, by)


@report_app.command("ai")
def ai(
    range_name: RangeOption = None,
    start: FromOption = None,
    end: ToOption = None,
    by: Annotated[str, typer.Option("--by", help="model|project|day", case_sensitive=False)] = "model",
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
    """AI-coding figures (default last 7 days): AI vs human line changes, AI sessions and tokens, per model,
    project or day. Empty when no client sends them."""
    if not (range_name or start or end):
        range_name = DEFAULT_RANGE
    run_ai_report(Target(data_dir, config, server, key, user, verbose), _output_format(as_json, as_csv),
                  by.lower(), range_name, start, end, {"project": project})


