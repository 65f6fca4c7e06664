"""Live bits and plugin setup: "currently coding" + today's total (pushed by web/events.py's event stream,
polled here by browsers without EventSource), the ~/.wakatime.cfg page, the duration-rule preview, and the
import upload with progress."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from litestar.status_codes import HTTP_202_ACCEPTED

from hackatime_lite import reports
from hackatime_lite.analytics import queries
from hackatime_lite.api.native.data import MAX_UPLOAD_BYTES, import_jobs, start_upload_import
from hackatime_lite.context import AppContext
from hackatime_lite.models import DURATION_MODES, DurationRule, User
from hackatime_lite.text import formatting
from hackatime_lite.web.auth import viewer_of
from hackatime_lite.web.render import page


def _effective_timeout(ctx: AppContext, user: User) -> int:
    return user.rule(ctx.settings.default_rule).timeout


def live_state(ctx: AppContext, user: User) -> dict[str, Any]:
    """What the top bar shows: the newest heartbeat, whether it is recent enough to mean "coding now",
    and today's total (the same figure as the status bar API)."""
    newest = reports.most_recent_heartbeat(ctx, user)
    today = reports.resolve_named_range(ctx, user, "today", user.timezone)
    seconds = reports.total_seconds(ctx, user, today)
    now = ctx.clock()
    last = None
    coding = False
    if newest is not None:
        ago = max(0.0, now - newest["time"])
        coding = ago <= _effective_timeout(ctx, user)
        last = {
            "time": newest["time"],
            "ago_seconds": round(ago, 1),
            "project": newest["project"],
            "language": newest["language"],
            "editor": newest["editor"],
            "machine": newest["machine"],
            "category": newest["category"],
            "file": PurePath(newest["entity"]).name if newest["type"] == "file" else newest["entity"],
        }
    return {
        "coding": coding,
        "today_seconds": seconds,
        "today_text": formatting.human_text(seconds),
        "today_date": today.start.isoformat(),
        "last": last,
    }


@get("/web/api/live", sync_to_thread=True)
def live(request: Request) -> dict[str, Any]:
    ctx: AppContext = request.app.state.ctx
    return live_state(ctx, viewer_of(request).user)


@get("/web/api/preview", sync_to_thread=True)
def rule_preview(
    request: Request, duration_mode: FromQuery[str] = "", timeout: FromQuery[str] = ""
) -> dict[str, Any]:
    """Today's total under the user's rule and under a proposed one (mode and/or timeout), before saving."""
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    server = ctx.settings.default_rule
    # A mode that is not capped/keystroke keeps the user's own; "default" is the server's; a blank timeout
    # is the server's. A bad timeout is a RuleError (400).
    if duration_mode not in DURATION_MODES:
        duration_mode = "default" if duration_mode == "default" else user.rule(server).mode
    rule = DurationRule.parse(duration_mode, timeout, default=server)
    today = reports.resolve_named_range(ctx, user, "today", user.timezone)
    current = reports.total_seconds(ctx, user, today)
    start, end = today.window
    proposed = queries.summarize(
        reports.replica_of(ctx), user.id, start, end, dimensions=(), rule=rule
    ).total_seconds
    return {
        "current_seconds": current,
        "current_text": formatting.human_text(current),
        "proposed_seconds": proposed,
        "proposed_text": formatting.human_text(proposed),
        "duration_mode": rule.mode,
        "timeout": rule.timeout,
    }


# -- setup ---------------------------------------------------------------------------------------------
def _setup_page(request: Request, new_key: str | None = None) -> Template:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    base = str(request.base_url).rstrip("/")
    keys = [k for k in ctx.store.list_api_keys(user.id) if k.revoked_at is None and not k.read_only]
    return page(
        request,
        "setup.html",
        active="setup",
        api_url=f"{base}/api/v1",
        keys=keys,
        new_key=new_key,
        live=live_state(ctx, user),
    )


@get("/setup", sync_to_thread=True)
def setup(request: Request) -> Template:
    return _setup_page(request)


@post("/setup/key", sync_to_thread=True)
def setup_key(request: Request) -> Template:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    _, plaintext = ctx.store.create_api_key(user.id, name="editor setup")
    return _setup_page(request, new_key=plaintext)


# -- import upload ------------------------------------------------------------------------------------
@post(
    "/web/api/import",
    status_code=HTTP_202_ACCEPTED,
    request_max_body_size=MAX_UPLOAD_BYTES,
)
async def upload_import(request: Request) -> dict[str, Any]:
    ctx: AppContext = request.app.state.ctx
    job = await start_upload_import(request, ctx, viewer_of(request).user)
    return job.to_dict()


@get("/web/api/import/{job_id:str}", sync_to_thread=False)
def import_progress(request: Request, job_id: FromPath[str]) -> dict[str, Any]:
    ctx: AppContext = request.app.state.ctx
    job = import_jobs(ctx).get(job_id, viewer_of(request).user.id)
    if job is None:
        raise NotFoundException("no such import")
    return job.to_dict()


HANDLERS = [live, rule_preview, setup, setup_key, upload_import, import_progress]
