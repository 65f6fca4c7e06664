"""Administration: users (create, disable, reset a password) and invite codes. Admins only."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from hackatime_lite.accounts import trust
from hackatime_lite.context import AppContext
from hackatime_lite.store import UserError
from hackatime_lite.store.records import ADMIN_LEVELS, TRUST_LEVELS, public_trust
from hackatime_lite.web.auth import viewer_of
from hackatime_lite.web.render import page, redirect

ADMIN = {"admin": True}
FORM = Body(media_type=RequestEncodingType.URL_ENCODED)


class NewUserForm(msgspec.Struct):
    username: str = ""
    password: str = ""
    timezone: str = "UTC"
    is_admin: str = ""


class PasswordForm(msgspec.Struct):
    password: str = ""


class InviteForm(msgspec.Struct):
    max_uses: int = 1
    valid_days: int = 7
    note: str = ""


def _admin_page(request: Request, *, status_code: int = 200, **extra: Any) -> Template:
    ctx: AppContext = request.app.state.ctx
    users = ctx.store.list_users()
    return page(
        request,
        "admin.html",
        status_code=status_code,
        active="admin",
        users=users,
        last_heartbeat=ctx.store.last_heartbeat_times([u.id for u in users]),
        invites=ctx.store.list_invites(),
        now=ctx.clock(),
        **extra,
    )


@get("/admin", opt=ADMIN, sync_to_thread=True)
def admin_page(request: Request) -> Template:
    return _admin_page(request)


@post("/admin/users", opt=ADMIN, sync_to_thread=True)
def admin_create_user(request: Request, data: Annotated[NewUserForm, FORM]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    try:
        if data.password and len(data.password) < 8:
            raise UserError("password must have at least 8 characters")
        ctx.store.create_user(
            data.username.strip(),
            timezone=data.timezone.strip() or "UTC",
            is_admin=bool(data.is_admin),
            password=data.password or None,
        )
    except UserError as exc:
        return _admin_page(request, status_code=400, error=str(exc))
    return redirect("/admin", done="user-created")


def _target_user(ctx: AppContext, user_id: int) -> int:
    if ctx.store.get_user(user_id) is None:
        raise NotFoundException("no such user")
    return user_id


@post("/admin/users/{user_id:int}/disable", opt=ADMIN, sync_to_thread=True)
def admin_disable_user(request: Request, user_id: FromPath[int]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    if user_id == viewer_of(request).user.id:
        return _admin_page(request, status_code=400, error="You cannot disable your own account.")
    _target_user(ctx, user_id)
    ctx.store.disable_user(user_id)
    return redirect("/admin", done="user-disabled")


@post("/admin/users/{user_id:int}/enable", opt=ADMIN, sync_to_thread=True)
def admin_enable_user(request: Request, user_id: FromPath[int]) -> Redirect:
    ctx: AppContext = request.app.state.ctx
    _target_user(ctx, user_id)
    ctx.store.update_user(user_id, is_disabled=False)
    return redirect("/admin", done="user-enabled")


@post("/admin/users/{user_id:int}/password", opt=ADMIN, sync_to_thread=True)
def admin_reset_password(
    request: Request, user_id: FromPath[int], data: Annotated[PasswordForm, FORM]
) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    _target_user(ctx, user_id)
    try:
        ctx.store.set_password(user_id, data.password, end_sessions=True)
    except UserError as exc:
        return _admin_page(request, status_code=400, error=str(exc))
    return redirect("/admin", done="password-reset")


@post("/admin/invites", opt=ADMIN, sync_to_thread=True)
def admin_create_invite(request: Request, data: Annotated[InviteForm, FORM]) -> Template:
    ctx: AppContext = request.app.state.ctx
    creator = viewer_of(request).user.id
    try:
        invite, code = ctx.store.create_invite(
            creator, max_uses=data.max_uses, valid_days=data.valid_days or None, note=data.note
        )
    except UserError as exc:
        return _admin_page(request, status_code=400, error=str(exc))
    signup_url = f"{request.base_url}".rstrip("/") + f"/signup?code={code}"
    return _admin_page(request, new_invite={"code": code, "url": signup_url, "id": invite.id})


@post("/admin/invites/{invite_id:int}/revoke", opt=ADMIN, sync_to_thread=True)
def admin_revoke_invite(request: Request, invite_id: FromPath[int]) -> Redirect:
    ctx: AppContext = request.app.state.ctx
    ctx.store.revoke_invite(invite_id)
    return redirect("/admin", done="invite-revoked")


# -- trust and admin levels, the audit log (accounts/trust.py): viewers read, admins change ---------------
class LevelForm(msgspec.Struct):
    level: str = ""
    reason: str = ""


def _audit_page(request: Request, *, status_code: int = 200, **extra: Any) -> Template:
    ctx: AppContext = request.app.state.ctx
    mine = trust.require_reader(ctx.store, viewer_of(request).user)
    return page(request, "admin_audit.html", status_code=status_code, active="admin", users=ctx.store.list_users(),
                levels=ctx.store.admin_levels(), entries=ctx.store.audit_log(limit=200), my_level=mine,
                trust_levels=TRUST_LEVELS, admin_levels=ADMIN_LEVELS, public_trust=public_trust, **extra)


@get("/admin/audit", sync_to_thread=True)
def admin_audit_page(request: Request) -> Template:
    """Users' trust and admin levels and every change to them (viewers and up)."""
    return _audit_page(request)


def _change_level(request: Request, user_id: int, field: str, data: LevelForm) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    actor = viewer_of(request).user
    trust.require_reader(ctx.store, actor)
    target = ctx.store.get_user(user_id)
    if target is None:
        raise NotFoundException("no such user")
    try:
        trust.change_level(ctx.store, actor, str(target.id), field, data.level, reason=data.reason,
                           now=ctx.clock())
    except UserError as exc:
        return _audit_page(request, status_code=400, error=str(exc))
    return redirect("/admin/audit", done="level-changed")


@post("/admin/users/{user_id:int}/trust", sync_to_thread=True)
def admin_set_trust(request: Request, user_id: FromPath[int], data: Annotated[LevelForm, FORM]) -> Template | Redirect:
    return _change_level(request, user_id, "trust_level", data)


@post("/admin/users/{user_id:int}/admin-level", sync_to_thread=True)
def admin_set_admin_level(
    request: Request, user_id: FromPath[int], data: Annotated[LevelForm, FORM]
) -> Template | Redirect:
    return _change_level(request, user_id, "admin_level", data)


HANDLERS = [
    admin_page,
    admin_audit_page,
    admin_set_trust,
    admin_set_admin_level,
    admin_create_user,
    admin_disable_user,
    admin_enable_user,
    admin_reset_password,
    admin_create_invite,
    admin_revoke_invite,
]
