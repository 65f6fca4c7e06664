"""Dashboard logins: the session cookie, the login guard, and the failed-login throttle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from hackatime_lite.accounts.throttle import LoginThrottle
from hackatime_lite.context import AppContext
from hackatime_lite.models import User
from hackatime_lite.store.rules import SESSION_LIFETIME, TOUCH_INTERVAL

SESSION_COOKIE = "hl_session"
CSRF_COOKIE = "hl_csrf"


@dataclass(frozen=True)
class Viewer:
    """The logged-in user of a dashboard request."""

    user: User
    session_id: int

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin


def is_https(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    # uvicorn rewrites the scheme from X-Forwarded-Proto for trusted proxies, so this covers a TLS front end.
    return connection.url.scheme == "https"


def session_cookie(request: Request, token: str) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        path="/",
        max_age=SESSION_LIFETIME,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def clear_session_cookie(request: Request) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        path="/",
        max_age=0,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def current_viewer(connection: ASGIConnection[Any, Any, Any, Any]) -> Viewer | None:
    """The viewer behind the session cookie (cached on the request), or None."""
    cached = connection.state.get("viewer", False)
    if cached is not False:
        return cached
    ctx: AppContext = connection.app.state.ctx
    token = connection.cookies.get(SESSION_COOKIE, "")
    found = ctx.store.session_user(token, now=ctx.clock()) if token else None
    viewer = None
    if found is not None:
        user, session_id, last_seen = found
        now = ctx.clock()
        if now - last_seen > TOUCH_INTERVAL:
            # Sliding expiry; no need to wait for the commit.
            ctx.store.touch_session(session_id, now=now)
        viewer = Viewer(user=user, session_id=session_id)
    connection.state["viewer"] = viewer
    return viewer


def login_required(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard for every dashboard route; handlers opt out with `opt={"public": True}`, admins-only with `admin`."""
    if handler.opt.get("public"):
        return
    viewer = current_viewer(connection)
    if viewer is None:
        raise NotAuthorizedException("please log in")
    if handler.opt.get("admin") and not viewer.is_admin:
        raise PermissionDeniedException("administrators only")


def viewer_of(request: Request) -> Viewer:
    viewer = current_viewer(request)
    if viewer is None:  # only reachable if a public handler asks for a viewer
        raise NotAuthorizedException("please log in")
    return viewer


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def throttle_of(request: Request) -> LoginThrottle:
    ctx: AppContext = request.app.state.ctx
    return ctx.login_throttle


def redirect_to_login(request: Request) -> Response[Any]:
    from urllib.parse import quote

    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Response(
        content=b"", status_code=303, headers={"Location": f"/login?next={quote(target, safe='')}"}
    )
