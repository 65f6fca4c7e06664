"""The settings page: profile and duration rule, sharing, API keys, password, mirrors, data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any
from zoneinfo import available_timezones

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Stream, Template

from hackatime_lite.accounts.deletion import delete_account, delete_heartbeats_in_range
from hackatime_lite.accounts.settings import SettingsChange, update_settings
from hackatime_lite.analytics.timezones import local_midnight
from hackatime_lite.context import AppContext
from hackatime_lite.data.exporters import MEDIA_TYPES, ExportError, export_filename, export_heartbeats
from hackatime_lite.errors import InputError
from hackatime_lite.mirror import targets
from hackatime_lite.models import SHARE_FLAG_FIELDS, check_mode, check_timeout
from hackatime_lite.notify.mail import mail_enabled
from hackatime_lite.store import UserError
from hackatime_lite.web.auth import SESSION_COOKIE, clear_session_cookie, viewer_of
from hackatime_lite.web.badges import badge_examples
from hackatime_lite.web.render import page, redirect

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
TIMEZONES = sorted(available_timezones() - {"localtime", "Factory"})


class ProfileForm(msgspec.Struct):
    timezone: str = ""
    duration_mode: str = ""
    timeout: str = ""


class SharingForm(msgspec.Struct):
    share_stats: str = ""
    share_languages: str = ""
    share_projects: str = ""
    share_editors: str = ""
    share_operating_systems: str = ""
    share_machines: str = ""
    share_max_days: str = ""
    leaderboard_opt_out: str = ""


class KeyForm(msgspec.Struct):
    name: str = ""
    read_only: str = ""


class ChangePasswordForm(msgspec.Struct):
    current_password: str = ""
    new_password: str = ""
    new_password_again: str = ""


class MirrorForm(msgspec.Struct):
    url: str = ""
    api_key: str = ""
    skip_check: str = ""


class BackfillForm(msgspec.Struct):
    start: str = ""


def webhook_section(ctx: AppContext, user: Any) -> dict[str, Any]:
    from hackatime_lite.web.webhooks import section  # that module imports this one

    return section(ctx, user)


def settings_page_response(request: Request, *, status_code: int = 200, **extra: Any) -> Template:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    keys = ctx.store.list_api_keys(user.id)
    return page(
        request,
        "settings.html",
        status_code=status_code,
        active="settings",
        keys=keys,
        timezones=TIMEZONES,
        mirrors=targets.list_targets(ctx.store, user.id, now=ctx.clock()),
        default_timeout=ctx.settings.default_timeout,
        default_mode=ctx.settings.default_mode,
        share_fields=SHARE_FLAG_FIELDS,
        badges=badge_examples(request, user),
        weekly_report=ctx.store.weekly_report_opt_in(user.id),
        mail_enabled=mail_enabled(ctx.settings),
        webhooks=webhook_section(ctx, user),  # web/webhooks.py
        **extra,
    )


def settings_action(
    request: Request,
    action: Callable[[], object],
    *,
    done: str,
    errors: type[Exception] = UserError,
    error_status: int = 400,
) -> Template | Redirect:
    """Runs a settings form's change: its error re-renders the page with the message, success redirects
    back with `done` (so a reload does not post the form again)."""
    try:
        action()
    except errors as exc:
        return settings_page_response(request, status_code=error_status, error=str(exc))
    return redirect("/settings", done=done)


@get("/settings", sync_to_thread=True)
def settings_page(request: Request) -> Template:
    return settings_page_response(request)


def _parse_profile(data: ProfileForm) -> SettingsChange:
    """Blank (or `default`) rule fields mean the server default; others are checked by DurationRule's checks."""
    mode, timeout = data.duration_mode.strip(), data.timeout.strip()
    return SettingsChange(
        timezone=data.timezone.strip(),
        duration_mode=check_mode(mode) if mode not in ("", "default") else None,
        timeout=check_timeout(timeout) if timeout else None,
    )


@post("/settings/profile", sync_to_thread=True)
def save_profile(request: Request, data: Annotated[ProfileForm, FORM]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    return settings_action(
        request,
        lambda: update_settings(ctx.store, viewer_of(request).user, _parse_profile(data)),
        done="profile-saved",
        errors=InputError,
    )


@post("/settings/sharing", sync_to_thread=True)
def save_sharing(request: Request, data: Annotated[SharingForm, FORM]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    flags: dict[str, Any] = {name: bool(getattr(data, name)) for name in SHARE_FLAG_FIELDS}
    try:
        max_days = int(data.share_max_days) if data.share_max_days.strip() else None
        change = SettingsChange(
            **flags, share_max_days=max_days, leaderboard_opt_out=bool(data.leaderboard_opt_out)
        )
        update_settings(ctx.store, viewer_of(request).user, change)
    except ValueError as exc:  # UserError and int() both
        message = str(exc) if isinstance(exc, UserError) else "maximum days must be a whole number"
        return settings_page_response(request, status_code=400, error=message)
    return redirect("/settings", done="sharing-saved")


@post("/settings/keys", sync_to_thread=True)
def create_key(request: Request, data: Annotated[KeyForm, FORM]) -> Template:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    name = data.name.strip()[:64] or "default"
    key, plaintext = ctx.store.create_api_key(user.id, name=name, read_only=bool(data.read_only))
    return settings_page_response(request, new_key={"id": key.id, "name": key.name, "value": plaintext})


@post("/settings/keys/{key_id:int}/revoke", sync_to_thread=True)
def revoke_key(request: Request, key_id: FromPath[int]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    return settings_action(
        request,
        # Passing the owner makes someone else's key id look exactly like an unknown one.
        lambda: ctx.store.revoke_api_key(key_id, user_id=user.id),
        done="key-revoked",
        error_status=404,
    )


@post("/settings/password", sync_to_thread=True)
def change_password(request: Request, data: Annotated[ChangePasswordForm, FORM]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    keep = request.cookies.get(SESSION_COOKIE, "")

    def checked_change() -> None:
        if user.has_password and ctx.store.verify_password(user.username, data.current_password) is None:
            raise UserError("the current password is wrong")
        if data.new_password != data.new_password_again:
            raise UserError("the two new passwords differ")
        # Every other browser is logged out.
        ctx.store.set_password(user.id, data.new_password, end_sessions=True, keep_token=keep)

    return settings_action(request, checked_change, done="password-changed")


# -- mirrors ----------------------------------------------------------------------------------------
@post("/settings/mirrors", sync_to_thread=True)
def add_mirror(request: Request, data: Annotated[MirrorForm, FORM]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    return settings_action(
        request,
        lambda: targets.add_target(
            ctx.store, ctx.settings, user.id, data.url.strip(), data.api_key, verify=not data.skip_check
        ),
        done="mirror-added",
        errors=targets.MirrorError,
    )


@post("/settings/mirrors/{target_id:int}/remove", sync_to_thread=True)
def remove_mirror(request: Request, target_id: FromPath[int]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    return settings_action(
        request,
        lambda: targets.remove_target(ctx.store, target_id, viewer_of(request).user.id),
        done="mirror-removed",
        errors=targets.MirrorError,
        error_status=404,
    )


@post("/settings/mirrors/{target_id:int}/resume", sync_to_thread=True)
def resume_mirror(request: Request, target_id: FromPath[int]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    return settings_action(
        request,
        lambda: targets.resume_target(ctx.store, target_id, viewer_of(request).user.id, now=ctx.clock()),
        done="mirror-resumed",
        errors=targets.MirrorError,
        error_status=404,
    )


@post("/settings/mirrors/{target_id:int}/backfill", sync_to_thread=True)
def backfill_mirror(
    request: Request, target_id: FromPath[int], data: Annotated[BackfillForm, FORM]
) -> Template:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    try:
        try:
            day = dt.date.fromisoformat(data.start.strip())
        except ValueError as exc:
            raise targets.MirrorError("choose the first day to send (YYYY-MM-DD)") from exc
        queued = targets.backfill(
            ctx.store, target_id, local_midnight(user.timezone, day), user_id=user.id, now=ctx.clock()
        )
    except targets.MirrorError as exc:
        return settings_page_response(request, status_code=400, error=str(exc))
    return settings_page_response(request, message=f"{queued} heartbeats queued for the mirror.")


# -- export and deletion ------------------------------------------------------------------------------
@get("/settings/export", sync_to_thread=False)
def export_download(request: Request, format: FromQuery[str] = "json") -> Stream:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    try:
        chunks = export_heartbeats(ctx.store, user, format)
    except ExportError as exc:
        raise ClientException(str(exc)) from exc
    return Stream(
        chunks,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{export_filename(user, format)}"'},
    )


class DeleteRangeForm(msgspec.Struct):
    start: str = ""
    end: str = ""


class DeleteAccountForm(msgspec.Struct):
    confirm_username: str = ""
    password: str = ""


@post("/settings/delete-heartbeats", sync_to_thread=True)
def delete_heartbeats(request: Request, data: Annotated[DeleteRangeForm, FORM]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    try:
        first, last = dt.date.fromisoformat(data.start), dt.date.fromisoformat(data.end)
    except ValueError:
        return settings_page_response(request, status_code=400, error="choose both days (YYYY-MM-DD)")
    if last < first:
        return settings_page_response(request, status_code=400, error="the last day is before the first")
    start, end = (
        local_midnight(user.timezone, first),
        local_midnight(user.timezone, last + dt.timedelta(days=1)),
    )
    delete_heartbeats_in_range(ctx.store, user.id, start, end)
    return redirect("/settings", done="data-deleted")


@post("/settings/delete-account", sync_to_thread=True)
def delete_my_account(request: Request, data: Annotated[DeleteAccountForm, FORM]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    if data.confirm_username.strip().lower() != user.username.lower():
        return settings_page_response(request, status_code=400, error="type your username to confirm")
    if user.has_password and ctx.store.verify_password(user.username, data.password) is None:
        return settings_page_response(request, status_code=400, error="the password is wrong")
    delete_account(ctx.store, user.id)  # sessions go with the user (ON DELETE CASCADE)
    response = redirect("/login")
    response.cookies.append(clear_session_cookie(request))
    return response


HANDLERS = [
    settings_page,
    save_profile,
    save_sharing,
    create_key,
    revoke_key,
    change_password,
    add_mirror,
    remove_mirror,
    resume_mirror,
    backfill_mirror,
    export_download,
    delete_heartbeats,
    delete_my_account,
]
