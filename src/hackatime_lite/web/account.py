"""Log in, log out, and sign up with an invite code."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.response import Redirect, Template

from hackatime_lite.accounts.rate_limits import retry_after_seconds
from hackatime_lite.context import AppContext
from hackatime_lite.store import UserError
from hackatime_lite.store.rules import validate_timezone
from hackatime_lite.text.clean import clean_text
from hackatime_lite.web.auth import (
    SESSION_COOKIE,
    clear_session_cookie,
    client_address,
    current_viewer,
    session_cookie,
    throttle_of,
)
from hackatime_lite.web.render import page, redirect, safe_next

PUBLIC = {"public": True}


class LoginForm(msgspec.Struct):
    username: str = ""
    password: str = ""
    next: str = "/"


class SignupForm(msgspec.Struct):
    code: str = ""
    username: str = ""
    password: str = ""
    password_again: str = ""
    timezone: str = "UTC"


def _start_session(request: Request, user_id: int, target: str) -> Redirect:
    ctx: AppContext = request.app.state.ctx
    token = ctx.store.create_session(
        user_id,
        user_agent=clean_text(request.headers.get("user-agent"), 1024),  # shown on the sessions list
        remote_addr=client_address(request),
        now=ctx.clock(),
    )
    response = redirect(safe_next(target))
    response.cookies.append(session_cookie(request, token))
    return response


@get("/login", opt=PUBLIC, sync_to_thread=False)
def login_page(request: Request, next: FromQuery[str] = "/") -> Template | Redirect:
    if current_viewer(request) is not None:
        return redirect(safe_next(next))
    return page(request, "login.html", next=safe_next(next), username="", error=None)


@post("/login", opt=PUBLIC, sync_to_thread=True)
def login_submit(
    request: Request, data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    throttle = throttle_of(request)
    address, username, now = client_address(request), data.username.strip()[:64], ctx.limits_clock()
    wait = throttle.retry_after(username, address, now)
    if wait > 0:
        # Only this address waits (others, the account's owner included, log in as usual); the password is
        # not checked while it waits, so guessing faster than the backoff gains nothing.
        seconds = retry_after_seconds(wait)
        refused = page(
            request,
            "login.html",
            status_code=429,
            next=safe_next(data.next),
            username=username,
            error=f"Too many failed attempts from your address. Try again in {seconds} second(s).",
        )
        refused.headers["Retry-After"] = str(seconds)
        return refused
    user = (
        ctx.store.verify_password(username, data.password) if username and data.password else None
    )
    if user is None:
        throttle.failed(username, address, now)
        return page(
            request,
            "login.html",
            status_code=401,
            next=safe_next(data.next),
            username=username,
            error="Wrong username or password.",
        )
    throttle.succeeded(username, address)
    return _start_session(request, user.id, data.next)


@post("/logout", sync_to_thread=True)
def logout(request: Request) -> Redirect:
    ctx: AppContext = request.app.state.ctx
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        ctx.store.delete_session(token)
    response = redirect("/login", done="logged-out")
    response.cookies.append(clear_session_cookie(request))
    return response


@get("/signup", opt=PUBLIC, sync_to_thread=False)
def signup_page(request: Request, code: FromQuery[str] = "") -> Template:
    return page(request, "signup.html", form={"code": code[:64]}, error=None)


@post("/signup", opt=PUBLIC, sync_to_thread=True)
def signup_submit(
    request: Request, data: Annotated[SignupForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    form: dict[str, Any] = {"code": data.code.strip()[:64], "username": data.username.strip()[:64]}
    try:
        if data.password != data.password_again:
            raise UserError("the two passwords differ")
        try:
            timezone = validate_timezone(data.timezone.strip() or "UTC")
        except UserError:
            timezone = "UTC"
        user = ctx.store.sign_up(form["code"], form["username"], data.password, timezone=timezone)
    except UserError as exc:
        return page(request, "signup.html", status_code=400, form=form, error=str(exc))
    return _start_session(request, user.id, "/setup")


HANDLERS = [login_page, login_submit, logout, signup_page, signup_submit]
