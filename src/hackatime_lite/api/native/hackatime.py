"""Hackatime's own API (hackclub/hackatime `api/v1`), served under /api/v1 and /api/hackatime/v1.

Paths and shapes follow Hackatime's routes: heartbeat spans, project lists and details, the caller's raw
heartbeats, leaderboards and streaks. (`users/:user/stats` and `users/:user/projects` are shared with the
WakaTime routes, which answer both shapes.) Unlike Hackatime, every read here needs an API key and only
shows the caller's own data (admins: anyone's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Request, Response, get
from litestar.params import FromPath

from hackatime_lite.analytics.boards import BOARDS, LeaderboardError, NotBuilt
from hackatime_lite.analytics.timezones import day_window
from hackatime_lite.api import params
from hackatime_lite.api.access import owner_read
from hackatime_lite.api.errors import BadRequest
from hackatime_lite.api.lazy import LazyModule
from hackatime_lite.api.native import render
from hackatime_lite.api.openapi import (
    END_DATE,
    KEYED,
    LANGUAGE,
    NOT_BUILT,
    PAGE,
    START_DATE,
    USER_READ,
    documented,
    filter_params,
    param,
)
from hackatime_lite.api.wakatime import on_every_base
from hackatime_lite.api.wakatime.resources import not_built
from hackatime_lite.context import AppContext
from hackatime_lite.text import formatting
from hackatime_lite.text.date_bounds import parse_range

if TYPE_CHECKING:
    from hackatime_lite import reports
else:  # imported on first use (api/lazy.py)
    reports = LazyModule("hackatime_lite.reports")

NATIVE_BASES = ("/api/v1", "/api/hackatime/v1")
_READ: dict[str, Any] = {"tags": ["native (Hackatime)"]}
MAX_HEARTBEATS = 10_000
# Spans take every filter the summaries do (models.DIMENSIONS' query parameters and "label").
SPAN_FILTERS = tuple(params.FILTER_PARAMS)


def on_native_bases(*suffixes: str) -> list[str]:
    # Registered once under /api/v1; /api/hackatime/v1 is an alias (api/wakatime/__init__.py).
    return on_every_base(*suffixes, bases=NATIVE_BASES)


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


def _window(request: Request, timezone: str, start_name: str, end_name: str) -> tuple[float | None, float | None]:
    return parse_range(params.text(request, start_name), params.text(request, end_name), timezone)


@get(on_native_bases("/users/{user:str}/heartbeats/spans"), **_READ, **documented(
    USER_READ, 400, query=(START_DATE, END_DATE, *filter_params(SPAN_FILTERS))))
@params.in_thread
def heartbeat_spans(request: Request, user: FromPath[str]) -> dict[str, Any]:
    """Coding sessions between `start_date` and `end_date` (dates in the user's zone or ISO date-times),
    optionally for `project` / `filter_by_project` (comma-separated)."""
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store, user)
    start, end = _window(request, target.timezone, "start_date", "end_date")
    found = reports.spans(ctx, target, start, end,
                          filters=params.filters(request, names=SPAN_FILTERS))
    return render.spans(found)


def _project_row(details: reports.ProjectDetails) -> dict[str, Any]:
    last = formatting.iso_utc(details.last_heartbeat)
    return {"name": details.name, "total_seconds": details.total_seconds, "languages": details.languages,
            "repo_url": None, "total_heartbeats": details.total_heartbeats,
            "first_heartbeat": formatting.iso_utc(details.first_heartbeat), "last_heartbeat": last,
            "most_recent_heartbeat": last, "archived": False}


@get(on_native_bases("/users/{user:str}/projects/details"), **_READ, **documented(
    USER_READ, 400, query=(START_DATE, END_DATE, param("projects", "only these projects (comma-separated)"))))
@params.in_thread
def projects_details(request: Request, user: FromPath[str]) -> dict[str, Any]:
    """Per project (all, or `projects=a,b`) between `start_date` and `end_date`: time, languages, heartbeats."""
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store, user)
    start, end = _window(request, target.timezone, "start_date", "end_date")
    found = reports.project_details(ctx, target, params.csv(params.text(request, "projects", max_length=4096)),
                                    start, end)
    return {"projects": [_project_row(d) for d in found]}


@get(on_native_bases("/users/{user:str}/project/{project_name:str}"), **_READ,
     **documented(USER_READ, 400, (404, "no such project"), query=(START_DATE, END_DATE)))
@params.in_thread
def project_detail(request: Request, user: FromPath[str], project_name: FromPath[str]) -> Response[Any]:
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store, user)
    start, end = _window(request, target.timezone, "start_date", "end_date")
    found = reports.project_details(ctx, target, [project_name], start, end)
    if not found:
        return Response({"error": "project not found"}, status_code=404)
    return Response(_project_row(found[0]))


@get(on_native_bases("/my/heartbeats"), **_READ, **documented(KEYED, 400, query=(
    param("start_time", "from (a date in the caller's zone or an ISO date-time; default: start of today)"),
    param("end_time", "until (a date or an ISO date-time; default: end of today)"),
    param("limit", "at most this many heartbeats", type="integer", minimum=1, maximum=MAX_HEARTBEATS))))
@params.in_thread
def my_heartbeats(request: Request) -> dict[str, Any]:
    """The caller's heartbeats between `start_time` and `end_time` (default: today in their zone)."""
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store)
    start, end = _window(request, target.timezone, "start_time", "end_time")
    today_start, today_end = day_window(target.timezone, reports.today_for(ctx, target.timezone))
    start = today_start if start is None else start
    end = today_end if end is None else end
    if end < start:
        raise BadRequest("end_time is before start_time")
    limit = params.integer(request, "limit", MAX_HEARTBEATS, maximum=MAX_HEARTBEATS)
    rows = reports.heartbeats_between(ctx, target, start, end, limit=limit)
    total = reports.window_seconds(ctx, target, start, end)
    return {"start_time": formatting.iso_utc(start), "end_time": formatting.iso_utc(end), "total_seconds": total,
            "heartbeats": [_native_heartbeat(row) for row in rows]}


def _native_heartbeat(row: dict[str, Any]) -> dict[str, Any]:
    data = {name: value for name, value in row.items() if name != "source"}
    return {**data, "created_at": formatting.iso_utc(row["created_at"]), "source_type": row.get("source")}


@get(on_native_bases("/my/heartbeats/most_recent"), **_READ,
     **documented(KEYED, 400, query=(param("editor", "only heartbeats from this editor"),)))
@params.in_thread
def my_most_recent_heartbeat(request: Request) -> dict[str, Any]:
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store)
    row = reports.most_recent_heartbeat(ctx, target, editor=params.text(request, "editor"))
    return {"has_heartbeat": row is not None, "heartbeat": _native_heartbeat(row) if row else None,
            "editor": row["editor"] if row else None,
            "time_ago": formatting.time_ago(ctx.clock() - row["time"]) if row else None}


_BOARD_QUERY = (PAGE, param("page_size", "entries per page", type="integer", minimum=1, maximum=200), LANGUAGE)


def _leaderboard(request: Request, board: str) -> Response[Any]:
    ctx = _ctx(request)
    caller, _ = owner_read(request, ctx.store)
    page = params.integer(request, "page", 1, minimum=1)
    page_size = params.integer(request, "page_size", 100, maximum=200)
    try:
        found = reports.leaderboard(ctx, board, language=params.text(request, "language"), page=page,
                                    page_size=page_size, viewer_id=caller.user.id)
    except LeaderboardError as exc:
        raise BadRequest(str(exc)) from exc
    if isinstance(found, NotBuilt):
        return not_built(found)
    return Response(render.leaderboard(found))


@get(on_native_bases("/leaderboard", "/leaderboard/daily"), **_READ, **documented(
    KEYED, 400, NOT_BUILT, query=(param("board", "which board (default today)",
                                        enum=tuple(BOARDS)),
                                  *_BOARD_QUERY)))
@params.in_thread
def leaderboard_daily(request: Request) -> Response[Any]:
    """Today's board (each user's own local day); `board=last_24_hours|last_7_days|last_30_days` for others."""
    return _leaderboard(request, params.text(request, "board") or "today")


@get(on_native_bases("/leaderboard/weekly"), **_READ, **documented(KEYED, 400, NOT_BUILT, query=_BOARD_QUERY))
@params.in_thread
def leaderboard_weekly(request: Request) -> Response[Any]:
    return _leaderboard(request, "last_7_days")


@get(on_native_bases("/users/{user:str}/streak"), **_READ, **documented(USER_READ))
@params.in_thread
def streak(request: Request, user: FromPath[str]) -> dict[str, Any]:
    """Consecutive days with enough coding, in the user's zone (`streak_days` is Hackatime's field)."""
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store, user)
    found = reports.streak(ctx, target)
    assert found is not None  # computed live when not cached
    return render.streak(found)


HANDLERS = [heartbeat_spans, projects_details, project_detail, my_heartbeats, my_most_recent_heartbeat,
            leaderboard_daily, leaderboard_weekly, streak]
