"""WakaTime's goals API: `users/{user}/goals` (list, create) and `users/{user}/goals/{id}` (read, replace,
change, delete) on every base path. wakatime-cli's `--today-goal ID` reads `data.chart_data[-1]` of the read.

Definitions and progress come from hackatime_lite.goals (the same calls the dashboard and the CLI make); a goal
id of another user answers 404 like an unknown one.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from hackatime_lite import goals
from hackatime_lite.api import params
from hackatime_lite.api.access import owner_read, owner_write
from hackatime_lite.api.errors import BadRequest
from hackatime_lite.api.openapi import USER_READ, USER_WRITE, documented, json_body, struct_schema
from hackatime_lite.api.wakatime import on_every_base
from hackatime_lite.context import AppContext
from hackatime_lite.models import User
from hackatime_lite.text import formatting

TAGS = ["goals (WakaTime)"]
LIST_PATHS = on_every_base("/users/{user:str}/goals")
ITEM_PATHS = on_every_base("/users/{user:str}/goals/{goal_id:str}")
NO_GOAL = (404, "no such goal (of this user)")


class GoalBody(msgspec.Struct, kw_only=True):
    """A goal as clients send it (documentation; the handlers read the JSON with goals.parse_spec)."""

    delta: str = "day"
    seconds: int = 3600
    is_inverse: bool = False
    languages: list[str] = msgspec.field(default_factory=list)
    projects: list[str] = msgspec.field(default_factory=list)
    editors: list[str] = msgspec.field(default_factory=list)
    categories: list[str] = msgspec.field(default_factory=list)
    ignore_days: list[str] = msgspec.field(default_factory=list)
    ignore_zero_days: bool = False
    improve_by_percent: None = None
    is_enabled: bool = True
    title: str | None = None


_BODY_TEXT = ("`delta` (day|week) and `seconds` (the target, an upper limit with `is_inverse`); optional "
              "`languages`, `projects`, `editors`, `categories` (count only those), `ignore_days` (weekday names), "
              "`ignore_zero_days`, `is_enabled`, `title`")
CREATE_BODY = json_body(struct_schema(GoalBody), _BODY_TEXT, required=True)
PATCH_BODY = json_body(struct_schema(GoalBody), "the fields to change (" + _BODY_TEXT + ")", required=True)


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


def view(ctx: AppContext, user: User, goal: goals.StoredGoal) -> dict[str, Any]:
    return msgspec.to_builtins(goals.progress(ctx, user, goal))


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("the body must be a JSON object")
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise BadRequest(f"invalid JSON: {exc}") from exc


@get(LIST_PATHS, tags=TAGS, **documented(USER_READ))
@params.in_thread
def list_goals(request: Request, user: FromPath[str]) -> dict[str, Any]:
    """The user's goals, each with its last 7 days or weeks of progress."""
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store, user)
    found = [msgspec.to_builtins(g) for g in goals.list_progress(ctx, target)]
    return {"data": found, "total": len(found), "total_pages": 1 if found else 0}


@post(LIST_PATHS, tags=TAGS, status_code=HTTP_201_CREATED, **documented(USER_WRITE, 400, 413, body=CREATE_BODY))
async def create_goal(request: Request, user: FromPath[str]) -> dict[str, Any]:
    """Create a goal."""
    ctx = _ctx(request)
    _, target = await anyio.to_thread.run_sync(owner_write, request, ctx.store, user)
    data = await _json(request)

    def run() -> dict[str, Any]:
        return view(ctx, target, goals.create_goal(ctx, target, data))

    return {"data": await anyio.to_thread.run_sync(run)}


@get(ITEM_PATHS, tags=TAGS, **documented(USER_READ, NO_GOAL))
@params.in_thread
def get_goal(request: Request, user: FromPath[str], goal_id: FromPath[str]) -> dict[str, Any]:
    """One goal with its last 7 days or weeks (`chart_data`, today's or this week's last)."""
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store, user)
    found = goals.get_goal(ctx, target, goal_id)
    return {"cached_at": formatting.iso_utc(ctx.clock()), "data": view(ctx, target, found)}


async def _update(request: Request, user: str, goal_id: str, *, partial: bool) -> dict[str, Any]:
    ctx = _ctx(request)
    _, target = await anyio.to_thread.run_sync(owner_write, request, ctx.store, user)
    data = await _json(request)

    def run() -> dict[str, Any]:
        return view(ctx, target, goals.update_goal(ctx, target, goal_id, data, partial=partial))

    return {"data": await anyio.to_thread.run_sync(run)}


@put(ITEM_PATHS, tags=TAGS, status_code=HTTP_200_OK,
     **documented(USER_WRITE, 400, 413, NO_GOAL, body=CREATE_BODY))
async def replace_goal(request: Request, user: FromPath[str], goal_id: FromPath[str]) -> dict[str, Any]:
    """Replace a goal (the body is the whole goal: fields left out take their defaults)."""
    return await _update(request, user, goal_id, partial=False)


@patch(ITEM_PATHS, tags=TAGS, status_code=HTTP_200_OK,
       **documented(USER_WRITE, 400, 413, NO_GOAL, body=PATCH_BODY))
async def change_goal(request: Request, user: FromPath[str], goal_id: FromPath[str]) -> dict[str, Any]:
    """Change some fields of a goal."""
    return await _update(request, user, goal_id, partial=True)


@delete(ITEM_PATHS, tags=TAGS, status_code=HTTP_200_OK, **documented(USER_WRITE, NO_GOAL))
async def delete_goal(request: Request, user: FromPath[str], goal_id: FromPath[str]) -> Response[dict[str, Any]]:
    """Delete a goal."""
    ctx = _ctx(request)
    _, target = await anyio.to_thread.run_sync(owner_write, request, ctx.store, user)
    await anyio.to_thread.run_sync(lambda: goals.delete_goal(ctx, target, goal_id))
    return Response({"data": {"id": goal_id, "deleted": True}})


HANDLERS = [list_goals, create_goal, get_goal, replace_goal, change_goal, delete_goal]
