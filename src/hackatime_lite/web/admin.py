"""Administration: users (create, disable, reset a password) and invite codes. Admins only."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from hackatime_lite.context import AppContext
from hackatime_lite.store.invites import create_invite, list_invites, revoke_invite
from hackatime_lite.store.users import UserError, create_user, get_user, list_users, set_password, update_user
from hackatime_lite.store.web_sessions import delete_user_sessions
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


def _last_heartbeats(ctx: AppContext, user_ids: list[int]) -> dict[int, float | None]:
    """Newest heartbeat per user: one lookup on the (user_id, time) index each, cheap with millions of rows."""
    conn = ctx.store.reader()
    return {
        uid: conn.execute("SELECT MAX(time) FROM heartbeats WHERE user_id = ?", (uid,)).fetchone()[0]
        for uid in user_ids
    }


def _admin_page(request: Request, *, status_code: int = 200, **extra: Any) -> Template:
    ctx: AppContext = request.app.state.ctx
    conn = ctx.store.reader()
    users = list_users(conn)
    return page(
        request,
        "admin.html",
        status_code=status_code,
        active="admin",
        users=users,
        last_heartbeat=_last_heartbeats(ctx, [u.id for u in users]),
        invites=list_invites(conn),
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
        ctx.store.write(
            lambda db: create_user(
                db,
                data.username.strip(),
                timezone=data.timezone.strip() or "UTC",
                is_admin=bool(data.is_admin),
                password=data.password or None,
            )
        )
    except UserError as exc:
        return _admin_page(request, status_code=400, error=str(exc))
    return redirect("/admin", done="user-created")


def _target_user(ctx: AppContext, user_id: int) -> int:
    if get_user(ctx.store.reader(), user_id) is None:
        raise NotFoundException("no such user")
    return user_id


@post("/admin/users/{user_id:int}/disable", opt=ADMIN, sync_to_thread=True)
def admin_disable_user(request: Request, user_id: FromPath[int]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    if user_id == viewer_of(request).user.id:
        return _admin_page(request, status_code=400, error="You cannot disable your own account.")
    _target_user(ctx, user_id)

    def disable(db: Any) -> None:
        update_user(db, user_id, is_disabled=True)
        delete_user_sessions(db, user_id)

    ctx.store.write(disable)
    return redirect("/admin", done="user-disabled")


@post("/admin/users/{user_id:int}/enable", opt=ADMIN, sync_to_thread=True)
def admin_enable_user(request: Request, user_id: FromPath[int]) -> Redirect:
    ctx: AppContext = request.app.state.ctx
    _target_user(ctx, user_id)
    ctx.store.write(lambda db: update_user(db, user_id, is_disabled=False))
    return redirect("/admin", done="user-enabled")


@post("/admin/users/{user_id:int}/password", opt=ADMIN, sync_to_thread=True)
def admin_reset_password(
    request: Request, user_id: FromPath[int], data: Annotated[PasswordForm, FORM]
) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    _target_user(ctx, user_id)

    def reset(db: Any) -> None:
        set_password(db, user_id, data.password)
        delete_user_sessions(db, user_id)

    try:
        ctx.store.write(reset)
    except UserError as exc:
        return _admin_page(request, status_code=400, error=str(exc))
    return redirect("/admin", done="password-reset")


@post("/admin/invites", opt=ADMIN, sync_to_thread=True)
def admin_create_invite(request: Request, data: Annotated[InviteForm, FORM]) -> Template:
    ctx: AppContext = request.app.state.ctx
    creator = viewer_of(request).user.id
    try:
        invite, code = ctx.store.write(
            lambda db: create_invite(
                db, creator, max_uses=data.max_uses, valid_days=data.valid_days or None, note=data.note
            )
        )
    except UserError as exc:
        return _admin_page(request, status_code=400, error=str(exc))
    signup_url = f"{request.base_url}".rstrip("/") + f"/signup?code={code}"
    return _admin_page(request, new_invite={"code": code, "url": signup_url, "id": invite.id})


@post("/admin/invites/{invite_id:int}/revoke", opt=ADMIN, sync_to_thread=True)
def admin_revoke_invite(request: Request, invite_id: FromPath[int]) -> Redirect:
    ctx: AppContext = request.app.state.ctx
    ctx.store.write(lambda db: revoke_invite(db, invite_id))
    return redirect("/admin", done="invite-revoked")


HANDLERS = [
    admin_page,
    admin_create_user,
    admin_disable_user,
    admin_enable_user,
    admin_reset_password,
    admin_create_invite,
    admin_revoke_invite,
]
