"""WakaTime's team routes on every base path: `users/{user}/teams`, `users/{user}/teams/{team}/members` and
`users/{user}/teams/{team}/members/{member}/summaries` (the summaries shape). Rules: hackatime_lite.teams —
a non-member gets 403 on every team route; a member's summaries need that member to share with the team (or
the caller to manage it, or be that member).

Our own additions (`/api/native/v1/teams…`): the team dashboard as JSON, creating a team, invites, joining,
leaving, roles and the caller's sharing choice.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import msgspec
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from hackatime_lite import reports, teams
from hackatime_lite.api import params
from hackatime_lite.api.access import owner_read, owner_write
from hackatime_lite.api.errors import BadRequest
from hackatime_lite.api.openapi import (
    KEYED,
    RANGE_TEXT,
    USER_READ,
    documented,
    json_body,
    param,
    struct_schema,
)
from hackatime_lite.api.wakatime import on_every_base, render
from hackatime_lite.api.wakatime.reads import summaries_range
from hackatime_lite.context import AppContext
from hackatime_lite.models import User
from hackatime_lite.store.records import Team, TeamMember
from hackatime_lite.teams.report import RANGES, TeamReport, team_report
from hackatime_lite.text import formatting

TAGS = ["teams (WakaTime)"]
NATIVE_TAGS = ["teams"]
NOT_MEMBER = (403, "not a member of this team, or the member does not share their detail with the team")
NO_TEAM = (404, "no such team, or no such member of it")
NATIVE = "/api/native/v1/teams"


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


def team_json(team: Team, member: TeamMember, count: int) -> dict[str, Any]:
    return {"id": team.public_id, "name": team.name, "created_at": formatting.iso_utc(team.created_at),
            "modified_at": formatting.iso_utc(team.modified_at), "role": member.role,
            "is_owner": member.role == "owner", "member_count": count, "shares_with_team": member.shares}


def member_json(member: TeamMember, visible: bool) -> dict[str, Any]:
    """WakaTime's team member (no e-mail or photo are published here)."""
    name = member.display_name or member.username
    return {"id": member.public_id, "username": member.username, "display_name": name, "full_name": name,
            "email": None, "photo": None, "is_email_public": False, "is_view_only": False, "role": member.role,
            "shares_with_team": member.shares, "is_detail_visible": visible}


@get(on_every_base("/users/{user:str}/teams"), tags=TAGS, **documented(USER_READ))
@params.in_thread
def list_teams(request: Request, user: FromPath[str]) -> dict[str, Any]:
    """The user's teams."""
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store, user)
    found = [team_json(team, member, count) for team, member, count in teams.user_teams(ctx.store, target)]
    return {"data": found, "total": len(found), "total_pages": 1 if found else 0}


@get(on_every_base("/users/{user:str}/teams/{team:str}/members"), tags=TAGS,
     **documented(USER_READ, NOT_MEMBER, NO_TEAM))
@params.in_thread
def list_members(request: Request, user: FromPath[str], team: FromPath[str]) -> dict[str, Any]:
    """A team's members (each with whether the caller may see their detail)."""
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store, user)
    found, me = teams.team_for(ctx.store, target, team)
    members = ctx.store.team_members(found.id)
    visible = teams.visible_ids(me, members)
    data = [member_json(m, m.user_id in visible) for m in members]
    return {"data": data, "total": len(data), "total_pages": 1 if data else 0}


@get(on_every_base("/users/{user:str}/teams/{team:str}/members/{member:str}/summaries"), tags=TAGS,
     **documented(USER_READ, NOT_MEMBER, NO_TEAM, 400, query=(
         param("range", f"{RANGE_TEXT}, instead of start/end"), param("start", "first day, YYYY-MM-DD"),
         param("end", "last day (inclusive), YYYY-MM-DD"))))
@params.in_thread
def member_summaries(request: Request, user: FromPath[str], team: FromPath[str],
                     member: FromPath[str]) -> dict[str, Any]:
    """A team member's coding activity per day (WakaTime's summaries shape), in the member's zone."""
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store, user)
    _, shown = teams.visible_member(ctx.store, target, team, member)
    rng = summaries_range(request, ctx, shown, shown.timezone)
    return render.summaries(reports.summaries(ctx, shown, rng), shown)


# -- native: the dashboard and managing teams ---------------------------------------------------------------
class NameBody(msgspec.Struct, kw_only=True):
    name: str


class InviteBody(msgspec.Struct, kw_only=True):
    max_uses: int = 1
    valid_days: float | None = 7


class CodeBody(msgspec.Struct, kw_only=True):
    code: str


class RoleBody(msgspec.Struct, kw_only=True):
    role: str


class SharingBody(msgspec.Struct, kw_only=True):
    shares: bool


async def _body(request: Request, kind: type[Any]) -> Any:
    try:
        return msgspec.json.decode(await request.body(), type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadRequest(f"invalid body: {exc}") from exc


async def _write(request: Request) -> tuple[AppContext, User]:
    ctx = _ctx(request)
    _, me = await anyio.to_thread.run_sync(owner_write, request, ctx.store, "current")
    return ctx, me


@get(f"{NATIVE}/{{team:str}}/dashboard", tags=NATIVE_TAGS, **documented(KEYED, NOT_MEMBER, NO_TEAM, 400, query=(
    param("range", "today, last_7_days (default) or last_30_days", enum=RANGES),)))
@params.in_thread
def dashboard(request: Request, team: FromPath[str]) -> TeamReport:
    """The team dashboard: totals, visible members, projects, languages, daily bars, the team's boards."""
    ctx = _ctx(request)
    caller, _ = owner_read(request, ctx.store)
    return team_report(ctx, caller.user, team, params.text(request, "range", max_length=32) or "last_7_days")


@post(NATIVE, tags=NATIVE_TAGS, status_code=HTTP_201_CREATED,
      **documented(KEYED, 400, body=json_body(struct_schema(NameBody), "the team's `name`", required=True)))
async def create_team(request: Request) -> dict[str, Any]:
    """Create a team; the caller is its owner."""
    ctx, me = await _write(request)
    body = await _body(request, NameBody)

    def run() -> dict[str, Any]:
        team = teams.create_team(ctx.store, me, body.name, now=ctx.clock())
        member = ctx.store.team_member(team.id, me.id)
        assert member is not None  # the creator is its owner
        return {"data": team_json(team, member, 1)}

    return await anyio.to_thread.run_sync(run)


@post(f"{NATIVE}/{{team:str}}/invites", tags=NATIVE_TAGS, status_code=HTTP_201_CREATED,
      **documented(KEYED, 400, NOT_MEMBER, NO_TEAM, body=json_body(
          struct_schema(InviteBody), "`max_uses` (default 1) and `valid_days` (default 7; null: no expiry)")))
async def create_invite(request: Request, team: FromPath[str]) -> dict[str, Any]:
    """A new invite code and join link (owners and admins; shown once)."""
    ctx, me = await _write(request)
    raw = await request.body()
    body = await _body(request, InviteBody) if raw.strip() else InviteBody()

    def run() -> dict[str, Any]:
        _, invite, code = teams.create_invite(ctx.store, me, team, max_uses=body.max_uses,
                                              valid_days=body.valid_days, now=ctx.clock())
        return {"data": {**msgspec.to_builtins(invite), "code": code,
                         "url": teams.join_link(str(request.base_url), code)}}

    return await anyio.to_thread.run_sync(run)


@post(f"{NATIVE}/join", tags=NATIVE_TAGS, status_code=HTTP_200_OK, **documented(KEYED, 400, (409, "already a member"),
      body=json_body(struct_schema(CodeBody), "`code`: an invite code or join link", required=True)))
async def join_team(request: Request) -> dict[str, Any]:
    """Join a team with an invite code or link."""
    ctx, me = await _write(request)
    body = await _body(request, CodeBody)

    def run() -> dict[str, Any]:
        team, member = teams.join(ctx.store, me, body.code, now=ctx.clock())
        return {"data": team_json(team, member, len(ctx.store.team_members(team.id)))}

    return await anyio.to_thread.run_sync(run)


@post(f"{NATIVE}/{{team:str}}/leave", tags=NATIVE_TAGS, status_code=HTTP_200_OK,
      **documented(KEYED, NOT_MEMBER, NO_TEAM, (409, "the last owner must hand over first")))
async def leave_team(request: Request, team: FromPath[str]) -> dict[str, Any]:
    """Leave a team (a team's last member leaving deletes it)."""
    ctx, me = await _write(request)
    left = await anyio.to_thread.run_sync(lambda: teams.leave(ctx.store, me, team))
    return {"data": {"id": left.public_id, "left": True}}


@post(f"{NATIVE}/{{team:str}}/members/{{member:str}}/role", tags=NATIVE_TAGS, status_code=HTTP_200_OK,
      **documented(KEYED, 400, NOT_MEMBER, NO_TEAM, (409, "a team needs an owner"),
                   body=json_body(struct_schema(RoleBody), "`role`: owner, admin or member", required=True)))
async def set_role(request: Request, team: FromPath[str], member: FromPath[str]) -> dict[str, Any]:
    """Change a member's role (owners; admins between member and admin)."""
    ctx, me = await _write(request)
    body = await _body(request, RoleBody)
    changed = await anyio.to_thread.run_sync(lambda: teams.set_role(ctx.store, me, team, member, body.role))
    return {"data": member_json(changed, True)}


@post(f"{NATIVE}/{{team:str}}/members/{{member:str}}/remove", tags=NATIVE_TAGS, status_code=HTTP_200_OK,
      **documented(KEYED, 400, NOT_MEMBER, NO_TEAM))
async def remove_member(request: Request, team: FromPath[str], member: FromPath[str]) -> dict[str, Any]:
    """Remove a member (owners anyone, admins members; to remove yourself, leave)."""
    ctx, me = await _write(request)
    removed = await anyio.to_thread.run_sync(lambda: teams.remove_member(ctx.store, me, team, member))
    return {"data": {"id": removed.public_id, "username": removed.username, "removed": True}}


@post(f"{NATIVE}/{{team:str}}/sharing", tags=NATIVE_TAGS, status_code=HTTP_200_OK,
      **documented(KEYED, 400, NOT_MEMBER, NO_TEAM,
                   body=json_body(struct_schema(SharingBody), "`shares`: show your detail to the whole team",
                                  required=True)))
async def set_sharing(request: Request, team: FromPath[str]) -> dict[str, Any]:
    """The caller's choice to share their detail with the team."""
    ctx, me = await _write(request)
    body = await _body(request, SharingBody)
    changed = await anyio.to_thread.run_sync(lambda: teams.set_sharing(ctx.store, me, team, body.shares))
    return {"data": member_json(changed, True)}


HANDLERS = [list_teams, list_members, member_summaries, dashboard, create_team, create_invite, join_team,
            leave_team, set_role, remove_member, set_sharing]
