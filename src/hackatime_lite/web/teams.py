"""Team pages: your teams (create one, join with a code or link), and a team's dashboard with its invites,
roles and your sharing choice. The rules and numbers come from hackatime_lite.teams — the same calls the team
API makes; a non-member gets 403 on every page of a team."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from hackatime_lite import teams
from hackatime_lite.context import AppContext
from hackatime_lite.errors import InputError
from hackatime_lite.teams.report import RANGES, team_report
from hackatime_lite.web.auth import viewer_of
from hackatime_lite.web.render import page, redirect

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
RANGE_LABELS = {"today": "Today", "last_7_days": "7 days", "last_30_days": "30 days"}


class NameForm(msgspec.Struct):
    name: str = ""


class CodeForm(msgspec.Struct):
    code: str = ""


class InviteForm(msgspec.Struct):
    max_uses: int = 1
    valid_days: int = 7


class RoleForm(msgspec.Struct):
    role: str = ""


class SharingForm(msgspec.Struct):
    shares: str = ""


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


def _teams_page(request: Request, *, status_code: int = 200, **extra: Any) -> Template:
    ctx = _ctx(request)
    mine = teams.user_teams(ctx.store, viewer_of(request).user)
    return page(request, "teams.html", status_code=status_code, active="teams", teams=mine,
                code=request.query_params.get("code", ""), **extra)


@get("/teams", sync_to_thread=True)
def teams_page(request: Request) -> Template:
    return _teams_page(request)


@get(teams.JOIN_PATH, sync_to_thread=True)
def join_page(request: Request) -> Template:
    """Where a join link lands: the teams page with the code filled in."""
    return _teams_page(request)


@post("/teams", sync_to_thread=True)
def create_team(request: Request, data: Annotated[NameForm, FORM]) -> Template | Redirect:
    ctx = _ctx(request)
    try:
        team = teams.create_team(ctx.store, viewer_of(request).user, data.name, now=ctx.clock())
    except InputError as exc:
        return _teams_page(request, status_code=exc.status_code, error=str(exc))
    return redirect(f"/teams/{team.public_id}", done="team-created")


@post(teams.JOIN_PATH, sync_to_thread=True)
def join_team(request: Request, data: Annotated[CodeForm, FORM]) -> Template | Redirect:
    ctx = _ctx(request)
    try:
        team, _ = teams.join(ctx.store, viewer_of(request).user, data.code, now=ctx.clock())
    except InputError as exc:
        return _teams_page(request, status_code=exc.status_code, error=str(exc))
    return redirect(f"/teams/{team.public_id}", done="team-joined")


def _team_page(request: Request, team_id: str, *, status_code: int = 200, **extra: Any) -> Template:
    ctx = _ctx(request)
    viewer = viewer_of(request).user
    chosen = request.query_params.get("range", "last_7_days")
    report = team_report(ctx, viewer, team_id, chosen if chosen in RANGES else "last_7_days")
    team, me = teams.team_for(ctx.store, viewer, team_id)
    members = ctx.store.team_members(team.id) if teams.manages(me) else []
    invites = ctx.store.team_invites(team.id) if teams.manages(me) else []
    peak = max((d.total_seconds for d in report.days), default=0.0)
    return page(request, "team.html", status_code=status_code, active="teams", team=team, me=me, report=report,
                all_members=members, invites=invites, peak=peak, range_labels=RANGE_LABELS, now=ctx.clock(),
                **extra)


# Team ids are UUIDs: anything else is a 404 at routing, before the login redirect (a bogus id never looks
# like a page that exists). Handlers pass them on as text.
@get("/teams/{team_id:uuid}", sync_to_thread=True)
def team_page(request: Request, team_id: FromPath[UUID]) -> Template:
    return _team_page(request, str(team_id))


@post("/teams/{team_id:uuid}/invites", sync_to_thread=True)
def team_invite(request: Request, team_id: FromPath[UUID], data: Annotated[InviteForm, FORM]) -> Template:
    ctx = _ctx(request)
    try:
        _, invite, code = teams.create_invite(ctx.store, viewer_of(request).user, str(team_id), max_uses=data.max_uses,
                                              valid_days=data.valid_days or None, now=ctx.clock())
    except InputError as exc:
        if exc.status_code == 403:
            raise
        return _team_page(request, str(team_id), status_code=exc.status_code, error=str(exc))
    link = teams.join_link(str(request.base_url), code)
    return _team_page(request, str(team_id), new_invite={"code": code, "url": link, "id": invite.id})


@post("/teams/{team_id:uuid}/leave", sync_to_thread=True)
def team_leave(request: Request, team_id: FromPath[UUID]) -> Template | Redirect:
    ctx = _ctx(request)
    try:
        teams.leave(ctx.store, viewer_of(request).user, str(team_id))
    except InputError as exc:
        if exc.status_code == 403:
            raise
        return _team_page(request, str(team_id), status_code=exc.status_code, error=str(exc))
    return redirect("/teams", done="team-left")


@post("/teams/{team_id:uuid}/sharing", sync_to_thread=True)
def team_sharing(request: Request, team_id: FromPath[UUID], data: Annotated[SharingForm, FORM]) -> Redirect:
    ctx = _ctx(request)
    teams.set_sharing(ctx.store, viewer_of(request).user, str(team_id), bool(data.shares))
    return redirect(f"/teams/{team_id}", done="team-saved")


@post("/teams/{team_id:uuid}/members/{member:str}/role", sync_to_thread=True)
def team_role(request: Request, team_id: FromPath[UUID], member: FromPath[str],
              data: Annotated[RoleForm, FORM]) -> Template | Redirect:
    ctx = _ctx(request)
    try:
        teams.set_role(ctx.store, viewer_of(request).user, str(team_id), member, data.role)
    except InputError as exc:
        if exc.status_code in (403, 404):
            raise
        return _team_page(request, str(team_id), status_code=exc.status_code, error=str(exc))
    return redirect(f"/teams/{team_id}", done="team-saved")


@post("/teams/{team_id:uuid}/members/{member:str}/remove", sync_to_thread=True)
def team_remove(request: Request, team_id: FromPath[UUID], member: FromPath[str]) -> Template | Redirect:
    ctx = _ctx(request)
    try:
        teams.remove_member(ctx.store, viewer_of(request).user, str(team_id), member)
    except InputError as exc:
        if exc.status_code in (403, 404):
            raise
        return _team_page(request, str(team_id), status_code=exc.status_code, error=str(exc))
    return redirect(f"/teams/{team_id}", done="team-saved")


HANDLERS = [teams_page, join_page, create_team, join_team, team_page, team_invite, team_leave, team_sharing,
            team_role, team_remove]
