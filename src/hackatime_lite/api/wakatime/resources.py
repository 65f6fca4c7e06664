"""WakaTime reads about a user's things: heartbeats (GET, bulk DELETE), projects, user agents, machines,
the user object, leaders, and the empty-for-now file experts (goals: goals.py)."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import msgspec
from litestar import Request, Response, delete, get, post
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from hackatime_lite.analytics.boards import LeaderboardError, NotBuilt
from hackatime_lite.analytics.ranges import parse_date
from hackatime_lite.analytics.timezones import day_window, local_date
from hackatime_lite.api import params
from hackatime_lite.api.access import owner_read, owner_write
from hackatime_lite.api.errors import BadRequest, error_response
from hackatime_lite.api.lazy import LazyModule
from hackatime_lite.api.openapi import (
    DATE,
    KEYED,
    LANGUAGE,
    NOT_BUILT,
    PAGE,
    TIMEZONE,
    USER_READ,
    USER_WRITE,
    documented,
    json_body,
    param,
    struct_schema,
)
from hackatime_lite.api.wakatime import on_every_base, render
from hackatime_lite.context import AppContext
from hackatime_lite.text import formatting

if TYPE_CHECKING:
    from hackatime_lite import reports
else:  # imported on first use (api/lazy.py)
    reports = LazyModule("hackatime_lite.reports")

_READ: dict[str, Any] = {"tags": ["reads (WakaTime)"]}
MAX_DELETE_IDS = 10_000
LEADERS_PAGE_SIZE = 50


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


@get(on_every_base("/users/{user:str}/heartbeats"), **_READ, **documented(USER_READ, 400, query=(DATE, TIMEZONE)))
@params.in_thread
def heartbeats(request: Request, user: FromPath[str]) -> dict[str, Any]:
    """The heartbeats of one local day (`date`, default today) in the user's zone (or `timezone`)."""
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store, user)
    tz, day = reports.day_in_zone(ctx, target, params.text(request, "timezone"), params.text(request, "date"))
    start, end = day_window(tz, day)
    rows = reports.heartbeats_between(ctx, target, start, end)
    return {"data": [render.heartbeat(row, target) for row in rows], "start": formatting.iso_utc(start),
            "end": formatting.iso_utc(end - 1), "timezone": tz}


class DeleteRequest(msgspec.Struct, forbid_unknown_fields=False):
    ids: list[int | str]
    date: str | None = None


def _heartbeat_ids(raw: list[int | str]) -> list[int]:
    ids = []
    for value in raw:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise BadRequest(f"not a heartbeat id: {value!r}") from None
    return ids


@delete(on_every_base("/users/{user:str}/heartbeats.bulk"), status_code=HTTP_200_OK, tags=["reads (WakaTime)"],
        **documented(USER_WRITE, 400, 413, body=json_body(struct_schema(DeleteRequest), "the heartbeat ids to "
                     "delete; with `date` (YYYY-MM-DD), only those of that local day", required=True)))
async def delete_heartbeats(request: Request, user: FromPath[str]) -> dict[str, Any]:
    """Delete heartbeats by id (`{"date": "YYYY-MM-DD", "ids": [...]}`; with a date, only that local day's)."""
    ctx = _ctx(request)
    _, target = await anyio.to_thread.run_sync(owner_write, request, ctx.store, user)
    try:
        body = msgspec.json.decode(await request.body() or b"{}", type=DeleteRequest)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadRequest(f"invalid body: {exc}") from exc
    ids = _heartbeat_ids(body.ids)
    if len(ids) > MAX_DELETE_IDS:
        raise BadRequest(f"at most {MAX_DELETE_IDS} ids per request")
    day = parse_date(body.date) if body.date else None
    deleted = await anyio.to_thread.run_sync(lambda: reports.delete_heartbeats(ctx, target, ids, day=day))
    return {"data": {"deleted": deleted}}


@get(on_every_base("/users/{user:str}/projects"), **_READ,
     **documented(USER_READ, 400, query=(param("q", "only projects whose name contains this"),)))
@params.in_thread
def projects(request: Request, user: FromPath[str]) -> dict[str, Any]:
    """Projects, newest activity first; `q` filters by name. `projects` (names) is Hackatime's shape."""
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store, user)
    found = reports.projects(ctx, target, q=params.text(request, "q"))
    now = ctx.clock()
    return {"data": [render.project(p, now) for p in found], "projects": [p.name for p in found]}


@get(on_every_base("/users/{user:str}/user_agents"), **_READ, **documented(USER_READ))
@params.in_thread
def user_agents(request: Request, user: FromPath[str]) -> dict[str, Any]:
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store, user)
    found = reports.user_agents(ctx, target)
    return {"data": [render.user_agent(ua) for ua in found], "total_pages": 1}


@get(on_every_base("/users/{user:str}/machine_names"), **_READ, **documented(USER_READ))
@params.in_thread
def machine_names(request: Request, user: FromPath[str]) -> dict[str, Any]:
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store, user)
    found = reports.machine_names(ctx, target)
    return {"data": [render.machine(m) for m in found], "total_pages": 1}


@get(on_every_base("/users/{user:str}"), **_READ, **documented(USER_READ))
@params.in_thread
def user_profile(request: Request, user: FromPath[str]) -> dict[str, Any]:
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store, user)
    return {"data": render.user(target, reports.last_heartbeat(ctx, target), private=True)}


@post(on_every_base("/users/{user:str}/file_experts"), status_code=HTTP_200_OK, **_READ, **documented(USER_READ))
@params.in_thread
def file_experts(request: Request, user: FromPath[str]) -> dict[str, Any]:
    """wakatime-cli asks who else worked on a file; a personal server has no team, so: nobody."""
    owner_read(request, _ctx(request).store, user)
    return {"data": []}


def not_built(found: NotBuilt) -> Response[dict[str, str]]:
    response = error_response(f"{found.reason}; try again in a minute", HTTP_503_SERVICE_UNAVAILABLE)
    response.headers["Retry-After"] = "60"
    return response


def _leader_user(user: Any) -> dict[str, Any]:
    return {"id": user.public_id, "username": user.username, "display_name": user.display_name or user.username,
            "full_name": user.display_name or user.username, "email": None, "is_email_public": False,
            "photo": None, "photo_public": False, "website": None, "human_readable_website": None,
            "is_hireable": False, "location": None, "city": None}


def _running_total(entry: Any) -> dict[str, Any]:
    return {"total_seconds": entry.total_seconds, "human_readable_total": formatting.human_text(entry.total_seconds),
            "daily_average": entry.daily_average,
            "human_readable_daily_average": formatting.human_text(entry.daily_average),
            "languages": [{"name": reports.display_name("language", lang.name), "total_seconds": lang.total_seconds}
                          for lang in entry.languages]}


@get(on_every_base("/leaders"), **_READ, **documented(KEYED, 400, NOT_BUILT, query=(LANGUAGE, PAGE)))
@params.in_thread
def leaders(request: Request) -> Response[Any]:
    """WakaTime's leaders: the last-7-days board (optionally for one `language`), `page` of 50."""
    ctx = _ctx(request)
    caller, _ = owner_read(request, ctx.store)
    language = params.text(request, "language")
    page = params.integer(request, "page", 1, minimum=1)
    try:
        found = reports.leaderboard(ctx, "last_7_days", language=language, page=page, page_size=LEADERS_PAGE_SIZE,
                                    viewer_id=caller.user.id)
        mine = reports.leaderboard_rank(ctx, "last_7_days", caller.user, language=language)
    except LeaderboardError as exc:
        raise BadRequest(str(exc)) from exc
    if isinstance(found, NotBuilt):
        return not_built(found)
    end = local_date(caller.user.timezone, found.generated_at)
    start = end - dt.timedelta(days=found.days - 1)
    current = None
    if mine is not None and not isinstance(mine, NotBuilt):
        current = {"rank": mine.rank, "page": math.ceil(mine.rank / LEADERS_PAGE_SIZE),
                   "running_total": _running_total(mine), "user": _leader_user(mine.user)}
    return Response({
        "data": [{"rank": e.rank, "running_total": _running_total(e), "user": _leader_user(e.user)}
                 for e in found.entries],
        "current_user": current,
        "language": found.language,
        "page": found.page,
        "total_pages": found.total_pages,
        "modified_at": formatting.iso_utc(found.generated_at),
        "timeout": max(1, ctx.settings.default_timeout // 60),
        "writes_only": False,
        "range": {"name": found.board, "text": found.title, "start_date": start.isoformat(),
                  "start_text": formatting.day_text(start), "end_date": end.isoformat(),
                  "end_text": formatting.day_text(end)},
    })


HANDLERS = [heartbeats, delete_heartbeats, projects, user_agents, machine_names, user_profile, file_experts,
            leaders]
