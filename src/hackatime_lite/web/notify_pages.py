"""The weekly report e-mail's pages: the settings form (address and opt-in) and the unsubscribe link's pages
(GET: a confirm page; POST: unsubscribe, also RFC 8058's one-click POST from mail clients). The link's
signed token is the authority there, so those two pages need no login and no CSRF token."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from hackatime_lite.accounts.settings import SettingsChange, update_settings
from hackatime_lite.context import AppContext
from hackatime_lite.models import User
from hackatime_lite.notify import unsubscribe
from hackatime_lite.store import UserError
from hackatime_lite.web.auth import viewer_of
from hackatime_lite.web.render import page, redirect
from hackatime_lite.web.settings_pages import FORM, settings_page_response

_PUBLIC: dict[str, Any] = {"public": True, "exclude_from_csrf": True}
UNSUBSCRIBE = unsubscribe.PATH + "/{token:str}"


class WeeklyReportForm(msgspec.Struct):
    email: str = ""
    weekly_report: str = ""


@post("/settings/weekly-report", sync_to_thread=True)
def save_weekly_report(request: Request, data: Annotated[WeeklyReportForm, FORM]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    try:
        update_settings(ctx.store, viewer_of(request).user,
                        SettingsChange(email=data.email, weekly_report=bool(data.weekly_report)))
    except UserError as exc:
        return settings_page_response(request, status_code=400, error=str(exc))
    return redirect("/settings", done="weekly-report-saved")


def _token_user(request: Request, token: str) -> User | None:
    ctx: AppContext = request.app.state.ctx
    public_id = unsubscribe.read_token(ctx.settings, token)
    return ctx.store.find_user(public_id) if public_id else None


@get(UNSUBSCRIBE, sync_to_thread=True, opt=_PUBLIC)
def unsubscribe_page(request: Request, token: FromPath[str]) -> Template:
    found = _token_user(request, token)
    if found is None:
        return page(request, "unsubscribe.html", status_code=404, invalid=True, token=token, done=False)
    ctx: AppContext = request.app.state.ctx
    return page(request, "unsubscribe.html", invalid=False, token=token, done=False, target=found,
                subscribed=ctx.store.weekly_report_opt_in(found.id))


@post(UNSUBSCRIBE, sync_to_thread=True, status_code=200, opt=_PUBLIC)
def unsubscribe_now(request: Request, token: FromPath[str]) -> Template:
    found = _token_user(request, token)
    if found is None:
        return page(request, "unsubscribe.html", status_code=404, invalid=True, token=token, done=False)
    ctx: AppContext = request.app.state.ctx
    ctx.store.set_weekly_report_opt_in(found.id, False, ctx.clock())
    return page(request, "unsubscribe.html", invalid=False, token=token, done=True, target=found, subscribed=False)


HANDLERS = [save_weekly_report, unsubscribe_page, unsubscribe_now]
