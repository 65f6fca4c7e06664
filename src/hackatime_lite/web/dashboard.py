"""The dashboard, the projects pages and the leaderboard page.

Every figure comes from the read use cases (`reports`) or the analytics queries — the same calls the API
makes — so the page and the API always agree. This module only picks ranges and filters and shapes data for
the templates and charts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromQuery, QueryParameter
from litestar.response import Response, Template

from hackatime_lite import reports
from hackatime_lite.analytics import queries
from hackatime_lite.analytics.leaderboards import BOARDS, NotBuilt, list_boards
from hackatime_lite.analytics.ranges import DateRange, explicit_range, parse_date
from hackatime_lite.analytics.timezones import day_window
from hackatime_lite.context import AppContext
from hackatime_lite.models import DIMENSIONS, User
from hackatime_lite.text import formatting
from hackatime_lite.web.auth import viewer_of
from hackatime_lite.web.goals import goal_cards
from hackatime_lite.web.insights import insight_panels
from hackatime_lite.web.range_nav import PICKER, PICKER_KEYS, shift
from hackatime_lite.web.render import page

# The dashboard's cards and filters, from the one table of dimensions (models.DIMENSIONS).
_CARDS = tuple(d for d in DIMENSIONS if d.dashboard)
# Dashboard query parameter -> analytics dimension. Values are display names, as the page shows them.
FILTER_PARAMS = {d.short: d.name for d in _CARDS}
# (reports' plural key, filter parameter, title) for the breakdown cards.
BREAKDOWNS = tuple((d.plural, d.short, d.title) for d in _CARDS)
DASHBOARD_DIMENSIONS = tuple(d.name for d in _CARDS)
DEFAULT_RANGE = "last_7_days"
HEATMAP_WEEKS = 53


def stored_values(dimension: str, shown: str) -> list[str | None]:
    """The stored values that display as `shown` (the inverse of reports.display_name)."""
    values: list[str | None] = [shown]
    if shown == reports.display_name(dimension, None):
        values += [None, ""]
    if dimension == "category" and shown.lower() != shown:
        values.append(shown.lower())
    return values


def parse_filters(request: Request) -> tuple[dict[str, list[str | None]], dict[str, str]]:
    """(analytics filters, {parameter: shown value}) from the query string."""
    chosen: dict[str, str] = {}
    for param in FILTER_PARAMS:
        value = (request.query_params.get(param) or "").strip()
        if value:
            chosen[param] = value[:256]
    filters = {
        FILTER_PARAMS[param]: stored_values(FILTER_PARAMS[param], value) for param, value in chosen.items()
    }
    return filters, chosen


def resolve_range(ctx: AppContext, user: User, request: Request, default: str = DEFAULT_RANGE) -> DateRange:
    query = request.query_params
    start, end = query.get("start"), query.get("end")
    if start or end:
        return explicit_range(start or end or "", end or start or "", tz=user.timezone)
    name = query.get("range") or default
    return reports.resolve_named_range(ctx, user, name, user.timezone)


class Links:
    """Builds URLs that keep the page's current range and filters while changing some of them."""

    def __init__(self, path: str, state: Mapping[str, str]) -> None:
        self.path, self.state = path, dict(state)

    def __call__(self, **changes: Any) -> str:
        state = dict(self.state)
        if "range" in changes or "start" in changes:
            for key in ("range", "start", "end", "day"):
                state.pop(key, None)
        for key, value in changes.items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = str(value)
        return self.path + ("?" + urlencode(state) if state else "")


def _range_state(rng: DateRange) -> dict[str, str]:
    if rng.key in PICKER_KEYS:
        return {"range": rng.key}
    return {"start": rng.start.isoformat(), "end": rng.end.isoformat()}


def _entries_json(entries: list[formatting.Entry]) -> list[dict[str, Any]]:
    return [{"name": e.name, "seconds": e.total_seconds, "text": e.text} for e in entries]


def _year_heatmap(series: list[queries.DaySummary]) -> list[dict[str, Any]]:
    """Cells for a GitHub-style year grid: x = week column, y = weekday (Monday 0)."""
    if not series:
        return []
    first_monday = series[0].date - dt.timedelta(days=series[0].date.weekday())
    return [
        {
            "x": (day.date - first_monday).days // 7,
            "y": day.date.weekday(),
            "d": day.date.isoformat(),
            "v": round(day.total_seconds, 1),
        }
        for day in series
    ]


def dashboard_data(
    ctx: AppContext, user: User, rng: DateRange, filters: Mapping[str, list[str | None]]
) -> dict[str, Any]:
    """What the page itself shows: totals, breakdowns, the daily chart, the streak."""
    stats = reports.stats(ctx, user, rng, filters=filters or None, dimensions=DASHBOARD_DIMENSIONS)
    daily = stats.days
    return {
        "stats": stats,
        "total_seconds": stats.total_seconds_including_other_language,
        "daily_average": stats.daily_average.seconds_including_other_language,
        "streak": reports.streak(ctx, user),
        "chart_data": {
            "daily": [{"d": d.date.isoformat(), "v": d.total_seconds} for d in daily],
            "breakdowns": {key: _entries_json(stats.breakdowns.get(key, [])) for key, _, _ in BREAKDOWNS},
        },
    }


def year_data(ctx: AppContext, user: User, filters: Mapping[str, list[str | None]]) -> dict[str, Any]:
    """The year heat-map: 53 week columns ending with the current week, Monday first."""
    today = reports.today_for(ctx, user.timezone)
    year_start = today - dt.timedelta(days=today.weekday(), weeks=HEATMAP_WEEKS - 1)
    year = queries.daily_series(  # filters through the user's rules (display values, exclusions)
        reports.replica_of(ctx), user.id, year_start, today, user.timezone,
        filters=reports.read_filters(ctx, user, filters or None)
    )
    return {"year": _year_heatmap(year)}


def panels_data(
    ctx: AppContext, user: User, rng: DateRange, filters: Mapping[str, list[str | None]], day: dt.date
) -> dict[str, Any]:
    """The charts loaded after the page: hour × weekday over the range, and one day's sessions."""
    start, end = rng.window
    hours = queries.hour_weekday_matrix(  # filters through the user's rules (display values, exclusions)
        reports.replica_of(ctx), user.id, start, end, rng.tz, filters=reports.read_filters(ctx, user, filters or None)
    )
    day_start, day_end = day_window(rng.tz, day)
    sessions = reports.spans(ctx, user, day_start, day_end, filters=filters or None)
    return {
        "hours": hours,
        "day": day.isoformat(),
        "dayHours": round((day_end - day_start) / 3600, 2),
        "timeline": [
            {
                "from": round((span.start_time - day_start) / 3600, 4),
                "to": round((span.end_time - day_start) / 3600, 4),
                "text": formatting.human_text(span.duration),
            }
            for span in sessions
        ],
    }


def _day_param(request: Request, rng: DateRange, today: dt.date) -> dt.date:
    value = request.query_params.get("day")
    if value:
        return parse_date(value, "day")
    return min(rng.end, today)


@get("/", sync_to_thread=True)
def dashboard(request: Request) -> Template:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    rng = resolve_range(ctx, user, request)
    filters, chosen = parse_filters(request)
    today = reports.today_for(ctx, user.timezone)
    day = _day_param(request, rng, today)
    data = dashboard_data(ctx, user, rng, filters)
    state = {**_range_state(rng), **chosen}
    links = Links("/", state)
    previous, following = shift(rng, -1, today), shift(rng, +1, today)
    data["chart_data"]["panelsUrl"] = Links("/web/api/dashboard/panels", state)(day=day.isoformat())
    data["chart_data"]["yearUrl"] = Links("/web/api/dashboard/year", chosen)()
    return page(
        request,
        "dashboard.html",
        active="dashboard",
        rng=rng,
        picker=PICKER,
        links=links,
        previous=links(**previous.query) if previous else None,
        following=links(**following.query) if following else None,
        chosen=chosen,
        breakdowns=BREAKDOWNS,
        timeline_day=day,
        goal_cards=goal_cards(ctx, user),
        **insight_panels(ctx, user, rng, filters),
        **data,
    )


@get("/web/api/dashboard/panels", sync_to_thread=True)
def dashboard_panels(request: Request) -> dict[str, Any]:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    rng = resolve_range(ctx, user, request)
    filters, _ = parse_filters(request)
    day = _day_param(request, rng, reports.today_for(ctx, user.timezone))
    return panels_data(ctx, user, rng, filters, day)


@get("/web/api/dashboard/year", sync_to_thread=True)
def dashboard_year(request: Request) -> dict[str, Any]:
    ctx: AppContext = request.app.state.ctx
    filters, _ = parse_filters(request)
    return year_data(ctx, viewer_of(request).user, filters)


# -- projects -----------------------------------------------------------------------------------------
@get("/projects", sync_to_thread=True)
def projects_page(request: Request) -> Template:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    rng = resolve_range(ctx, user, request, default="last_30_days")
    start, end = rng.window
    details = reports.project_details(ctx, user, None, start, end)
    listed = {p.name: p for p in reports.projects(ctx, user)}
    state = _range_state(rng)
    return page(
        request,
        "projects.html",
        active="projects",
        rng=rng,
        picker=PICKER,
        links=Links("/projects", state),
        matrix_url=Links("/projects/matrix.csv", state)(),
        project_url=lambda name, **extra: Links("/project", {"name": name, **state})(**extra),
        details=details,
        all_projects=listed,
        range_total=sum(p.total_seconds for p in details),
    )


def _require_project(ctx: AppContext, user: User, name: str) -> None:
    """404 unless the viewer has heartbeats in this project (`name` as shown: any stored project shown so)."""
    stored = (reports.read_filters(ctx, user, {"project": [name]}) or {}).get("project") or []
    if not any(value and ctx.store.has_project(user.id, value) for value in stored):
        raise NotFoundException("no such project")


def _project_days(ctx: AppContext, user: User, name: str, rng: DateRange) -> list[queries.DaySummary]:
    return queries.daily_series(
            reports.replica_of(ctx),
            user.id,
            rng.start,
            rng.end,
            user.timezone,
            filters=reports.read_filters(ctx, user, {"project": [name]}),  # a shown name: the user's rules apply
            dimensions=("branch",),
        )


@get("/project", sync_to_thread=True)
def project_page(request: Request, name: FromQuery[str]) -> Template:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    rng = resolve_range(ctx, user, request, default="last_30_days")
    _require_project(ctx, user, name)
    stats = reports.stats(
            ctx,
            user,
            rng,
            filters={"project": [name]},
            dimensions=("language", "branch", "entity", "editor", "category"),
        )
    days = _project_days(ctx, user, name, rng)
    links = Links("/project", {"name": name, **_range_state(rng)})
    return page(
        request,
        "project.html",
        active="projects",
        name=name,
        rng=rng,
        picker=PICKER,
        links=links,
        stats=stats,
        days=days,
        csv_url=Links("/project/days.csv", links.state)(),
        chart_data={"daily": [{"d": d.date.isoformat(), "v": d.total_seconds} for d in days]},
    )


@get("/project/days.csv", sync_to_thread=True)
def project_days_csv(request: Request, name: FromQuery[str]) -> Response[bytes]:
    """Per-day time on one project in the range, for invoicing: date, hours:minutes, decimal hours, seconds."""
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    rng = resolve_range(ctx, user, request, default="last_30_days")
    _require_project(ctx, user, name)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["date", "project", "time", "hours_decimal", "seconds", "branches"])
    days = _project_days(ctx, user, name, rng)
    for day in days:
        branches = " ".join(sorted(b for b, s in day.breakdowns["branch"] if b and s > 0))
        writer.writerow(
            [
                day.date.isoformat(),
                name,
                formatting.digital(day.total_seconds),
                f"{day.total_seconds / 3600:.2f}",
                round(day.total_seconds),
                branches,
            ]
        )
    total = sum(d.total_seconds for d in days)
    writer.writerow(["total", name, formatting.digital(total), f"{total / 3600:.2f}", round(total), ""])
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]
    return Response(
        buffer.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{safe}-{rng.start}-{rng.end}.csv"',
        },
    )


@get("/projects/matrix.csv", sync_to_thread=True)
def projects_matrix_csv(request: Request) -> Response[bytes]:
    """Every project × every day of the range (hours, two decimals)."""
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    rng = resolve_range(ctx, user, request, default="last_30_days")
    matrix = queries.project_day_matrix(
            reports.replica_of(ctx), user.id, rng.start, rng.end, user.timezone
        )
    dates = [rng.start + dt.timedelta(days=i) for i in range(rng.days)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["project", *[d.isoformat() for d in dates], "total_hours"])
    rows = sorted(matrix.items(), key=lambda item: -sum(item[1].values()))
    for project, cells in rows:
        writer.writerow(
            [
                reports.display_name("project", project),
                *[f"{cells.get(d, 0.0) / 3600:.2f}" for d in dates],
                f"{sum(cells.values()) / 3600:.2f}",
            ]
        )
    return Response(
        buffer.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="projects-{rng.start}-{rng.end}.csv"'},
    )


# -- leaderboard --------------------------------------------------------------------------------------
LEADERBOARD_TABS = (("today", "Today"), ("last_7_days", "7 days"), ("last_30_days", "30 days"))


@get("/leaderboard", sync_to_thread=True)
def leaderboard_page(
    request: Request,
    board: FromQuery[str] = "last_7_days",
    language: FromQuery[str] = "",
    page_number: Annotated[int, QueryParameter(name="page", ge=1, le=10_000)] = 1,
) -> Template:
    ctx: AppContext = request.app.state.ctx
    viewer = viewer_of(request).user
    if board not in BOARDS:
        raise ClientException(f"unknown leaderboard {board!r}")
    result = reports.leaderboard(ctx, board, language=language or None, page=page_number, viewer_id=viewer.id)
    mine = reports.leaderboard_rank(ctx, board, viewer, language=language or None)
    languages = sorted(
        {b.language for b in list_boards(ctx.store) if b.board == board and b.language}
    )
    return page(
        request,
        "leaderboard.html",
        active="leaderboard",
        board=board,
        tabs=LEADERBOARD_TABS,
        language=language,
        languages=languages,
        result=None if isinstance(result, NotBuilt) else result,
        mine=None if isinstance(mine, NotBuilt) else mine,
        links=Links("/leaderboard", {"board": board, **({"language": language} if language else {})}),
    )


HANDLERS = [
    dashboard,
    dashboard_panels,
    dashboard_year,
    projects_page,
    project_page,
    project_days_csv,
    projects_matrix_csv,
    leaderboard_page,
]
