"""Focus (deep-work sessions, insights.focus): `GET /api/native/v1/users/{user}/focus?range=…&min_minutes=25`.

What the dashboard's focus panel and `hackatime-lite report focus` show."""

from __future__ import annotations

from litestar import Request, get
from litestar.params import FromPath

from hackatime_lite import reports
from hackatime_lite.analytics.ranges import DateRange, explicit_range
from hackatime_lite.api import params
from hackatime_lite.api.access import owner_read
from hackatime_lite.api.openapi import RANGE_TEXT, TIMEZONE, USER_READ, documented, filter_params, param
from hackatime_lite.context import AppContext
from hackatime_lite.insights.focus import (
    DEFAULT_MIN_MINUTES,
    MAX_MINUTES,
    MIN_MINUTES,
    FocusReport,
    focus_report,
)
from hackatime_lite.models import User

FOCUS_PATH = "/api/native/v1/users/{user:str}/focus"
DEFAULT_RANGE = "last_7_days"
# Every filter the summaries take (models.DIMENSIONS' query parameters and "label").
FOCUS_FILTERS = tuple(params.FILTER_PARAMS)
RANGE_PARAMS = (param("range", f"{RANGE_TEXT} (default {DEFAULT_RANGE})"),
                param("start", "first day, YYYY-MM-DD (with end, instead of range)"),
                param("end", "last day (inclusive), YYYY-MM-DD"), TIMEZONE)


def read_range(request: Request, ctx: AppContext, target: User) -> DateRange:
    """`range` (default last 7 days) or `start`/`end`, in `timezone` (default the user's)."""
    tz = reports.timezone_of(target, params.text(request, "timezone"))
    range_name = params.text(request, "range")
    start, end = params.text(request, "start"), params.text(request, "end")
    if range_name and (start or end):
        raise params.BadRequest("give a range or start/end, not both")
    if start or end:
        return explicit_range(start or end or "", end or start or "", tz=tz)
    return reports.resolve_named_range(ctx, target, range_name or DEFAULT_RANGE, tz)


@get(FOCUS_PATH, tags=["native"], **documented(USER_READ, 400, query=(
    *RANGE_PARAMS,
    param("min_minutes", f"the shortest session that counts as focus (default {DEFAULT_MIN_MINUTES})",
          type="integer", minimum=MIN_MINUTES, maximum=MAX_MINUTES),
    *filter_params(FOCUS_FILTERS))))
@params.in_thread
def focus(request: Request, user: FromPath[str]) -> FocusReport:
    """Deep-work sessions (spans of at least `min_minutes` without a pause over the user's timeout): focus time
    and its share of coding time per day and over the range, the sessions and the longest one."""
    ctx: AppContext = request.app.state.ctx
    _, target = owner_read(request, ctx.store, user)
    rng = read_range(request, ctx, target)
    minutes = params.integer(request, "min_minutes", DEFAULT_MIN_MINUTES, minimum=MIN_MINUTES, maximum=MAX_MINUTES)
    return focus_report(ctx, target, rng, min_minutes=minutes, filters=params.filters(request, names=FOCUS_FILTERS))


HANDLERS = [focus]
