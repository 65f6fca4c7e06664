"""WakaTime coding-time reads: status bar, summaries, stats, durations, all time since today."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from litestar import MediaType, Request, Response, get
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath
from litestar.serialization import encode_json

from hackatime_lite.analytics.ranges import DateRange, explicit_range, parse_date
from hackatime_lite.api import answers, params
from hackatime_lite.api.access import FULL, Visibility, owner_read, shared_read
from hackatime_lite.api.lazy import LazyModule
from hackatime_lite.api.openapi import (
    DATE,
    END_DATE,
    KEYED,
    OPTIONAL_KEY_AUTH,
    RANGE_TEXT,
    START_DATE,
    TIMEZONE,
    USER_READ,
    documented,
    filter_params,
    flag_param,
    param,
)
from hackatime_lite.api.wakatime import on_every_base, render
from hackatime_lite.context import AppContext
from hackatime_lite.models import DIMENSIONS, User
from hackatime_lite.store.records import AliasRule

if TYPE_CHECKING:
    from hackatime_lite import reports
else:  # imported on first use (api/lazy.py)
    reports = LazyModule("hackatime_lite.reports")

_READ: dict[str, Any] = {"tags": ["reads (WakaTime)"]}
# Summaries and durations filter by every day's and project's dimension that has a query parameter.
SUMMARY_FILTERS = (*(d.query_param for d in DIMENSIONS if d.query_param and d.summary != "never"), "label")
DEFAULT_STATS_RANGE = "last_7_days"
PUBLIC_STATS_FILTERS = ("filter_by_project", "filter_by_category", "project")
STATS_FILTERS = tuple(dict.fromkeys((*PUBLIC_STATS_FILTERS, *SUMMARY_FILTERS)))


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


def _json(body: bytes) -> Response[bytes]:
    # What Litestar makes of a handler's dict (200, application/json), from bytes encoded already.
    return Response(body, media_type=MediaType.JSON)


@get(on_every_base("/users/{user:str}/statusbar/today", "/users/{user:str}/status_bar/today"), **_READ,
     **documented(USER_READ))
async def status_bar_today(request: Request, user: FromPath[str]) -> dict[str, Any]:
    """Today's coding time in the user's zone, as editor plugins show it."""
    ctx = _ctx(request)
    if not params.local_reads(ctx):
        return await params.run_blocking(_status_bar_today, request, ctx, user)
    # Editors poll this every few seconds: on a local store the caller (key, rate limit, access) and whether
    # the last answer still holds (api/answers.py) are checked on the event loop; only a new answer is
    # computed in a worker thread (a replica sync and the report).
    _, target = owner_read(request, ctx.store, user)
    stamp = reports.read_stamp(ctx, target)
    today = reports.today_for(ctx, target.timezone)
    key = ("status_bar", target.id, today)
    data: bytes | None = answers.get(ctx, key, (stamp, target))
    if data is None:
        data = answers.put(ctx, key, (stamp, target), await params.run_blocking(
            _status_bar_data, ctx, target, today, stamp.rules))
    return _json(render.status_bar_json(data, ctx.clock()))  # type: ignore[return-value]  # a Response is answered as it is; the dict annotation documents the body (OpenAPI)


def _status_bar_data(ctx: AppContext, target: User, today: dt.date, stored_rules: tuple[AliasRule, ...]) -> bytes:
    return render.status_bar_data(reports.status_bar_today(ctx, target, today=today, stored_rules=stored_rules),
                                  target)


def _status_bar_today(request: Request, ctx: AppContext, user: str) -> dict[str, Any]:
    """The status bar read whole in a worker thread (a shared store: every store read is a round trip)."""
    _, target = owner_read(request, ctx.store, user)
    report = reports.status_bar_today(ctx, target)
    return render.status_bar(report, target, ctx.clock())


def summaries_range(request: Request, ctx: AppContext, target: User, tz: str) -> DateRange:
    range_name = params.text(request, "range")
    start, end = params.text(request, "start"), params.text(request, "end")
    if range_name:
        return reports.resolve_named_range(ctx, target, range_name, tz)
    if not start and not end:
        raise params.BadRequest("give start and end dates (YYYY-MM-DD) or a range")
    return explicit_range(start or end or "", end or start or "", tz=tz)


@get(on_every_base("/users/{user:str}/summaries"), **_READ, **documented(
    USER_READ, 400, query=(param("range", f"{RANGE_TEXT}, instead of start/end"),
                           param("start", "first day, YYYY-MM-DD"), param("end", "last day (inclusive), YYYY-MM-DD"),
                           TIMEZONE, *filter_params(SUMMARY_FILTERS))))
@params.in_thread
def summaries(request: Request, user: FromPath[str]) -> dict[str, Any]:
    """Per-day summaries for `start`..`end` or a named `range`, in `timezone` (default: the user's)."""
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store, user)
    tz = reports.timezone_of(target, params.text(request, "timezone"))
    rng = summaries_range(request, ctx, target, tz)
    report = reports.summaries(ctx, target, rng, filters=params.filters(request, names=SUMMARY_FILTERS))
    return render.summaries(report, target)


def check_shared_range(ctx: AppContext, visibility: Visibility, rng: DateRange) -> None:
    """A public viewer may only see as many past days as the user shares (share_max_days)."""
    if visibility.max_days is None:
        return
    oldest = reports.today_for(ctx, rng.tz) - dt.timedelta(days=visibility.max_days - 1)
    if rng.start < oldest:
        raise PermissionDeniedException(f"this user shares only the last {visibility.max_days} days")


# Hackatime's stats `features` (WakaTime plurals) -> analytics dimension.
_FEATURES = {d.plural: d.name for d in DIMENSIONS if d.summary == "always"}


def _stats_range(request: Request, ctx: AppContext, target: User, range_name: str | None) -> DateRange:
    """The path's range, else Hackatime's start_date/end_date, else the default (last 7 days)."""
    tz = target.timezone
    if range_name:
        return reports.resolve_named_range(ctx, target, range_name, tz)
    start, end = params.text(request, "start_date"), params.text(request, "end_date")
    if start or end:
        today = reports.today_for(ctx, tz)
        first = parse_date(start, "start_date") if start else None
        if first is None:
            first = reports.first_day(ctx, target, tz) or today
        return explicit_range(first.isoformat(), end or today.isoformat(), tz=tz)
    return reports.resolve_named_range(ctx, target, DEFAULT_STATS_RANGE, tz)


def stats_response(request: Request, user: str, range_name: str | None) -> dict[str, Any]:
    """The stats read whole in a worker thread (a shared store: every store read is a round trip)."""
    ctx = _ctx(request)
    target, visibility = shared_read(request, ctx.store, user)
    return _stats_body(request, ctx, target, visibility, range_name, ctx.clock())


async def _stats_answer(request: Request, user: str, range_name: str | None) -> Any:
    """As stats_response, with the answer kept between polls on a local store (as the status bar's)."""
    ctx = _ctx(request)
    if not params.local_reads(ctx):
        return await params.run_blocking(stats_response, request, user, range_name)
    target, visibility = shared_read(request, ctx.store, user)
    now = ctx.clock()
    # Besides the stamp and the user's record the answer depends on the day (the range), the second (its
    # created_at/modified_at) and the streak the scheduler's job caches in the store (no mark covers it).
    streak = reports.streak(ctx, target, live=False) if visibility is FULL else None
    valid_for = (reports.read_stamp(ctx, target), target, reports.today_for(ctx, target.timezone), int(now), streak)
    # The parameters as the handler reads them (the first value of each name), without the key: a kept answer
    # never holds a plaintext API key.
    query = tuple(sorted(item for item in params.query(request).items() if item[0] != "api_key"))
    key = ("stats", target.id, visibility, range_name, query)
    body: bytes | None = answers.get(ctx, key, valid_for)
    if body is None:
        body = answers.put(ctx, key, valid_for, await params.run_blocking(
            _stats_json, request, ctx, target, visibility, range_name, now))
    return _json(body)


def _stats_json(request: Request, ctx: AppContext, target: User, visibility: Visibility, range_name: str | None,
                now: float) -> bytes:
    return encode_json(_stats_body(request, ctx, target, visibility, range_name, now))


def _stats_body(request: Request, ctx: AppContext, target: User, visibility: Visibility, range_name: str | None,
                now: float) -> dict[str, Any]:
    rng = _stats_range(request, ctx, target, range_name)
    check_shared_range(ctx, visibility, rng)
    # The owner (or an admin) may filter by everything the summaries take; a public viewer only by project and
    # category, so a filter cannot probe for names (files, branches, machines) the user does not share.
    filters = params.filters(request, names=STATS_FILTERS if visibility is FULL else PUBLIC_STATS_FILTERS)
    if params.flag(request, "total_seconds"):
        if not visibility.totals:
            raise PermissionDeniedException("this user does not share their coding time")
        return {"total_seconds": reports.total_seconds(ctx, target, rng, filters=filters)}
    features = params.csv(params.text(request, "features"))
    unknown = [f for f in features if f not in _FEATURES]
    if unknown:
        raise params.BadRequest(f"unknown feature(s): {', '.join(unknown)}")
    dimensions = tuple(_FEATURES[f] for f in features) if features else reports.SUMMARY_DIMENSIONS
    report = reports.stats(ctx, target, rng, filters=filters, dimensions=dimensions)
    limit = params.integer(request, "limit", 0, minimum=0)
    data = render.stats(report, target, visibility, now=now)
    if limit:
        for key in render.STATUS_BAR_KEYS:
            data[key] = data[key][:limit]
    body: dict[str, Any] = {"data": data}
    if visibility is FULL:
        # A suspected user is never told (Hackatime's mask_trust_level): they read the unscored level.
        body["trust_factor"] = {"trust_level": "default" if target.trust_level == "suspected" else target.trust_level}
        streak = reports.streak(ctx, target, live=False)  # stats stay one window query: cached streak only
        if streak is not None:
            data["streak"] = streak.current
    return body


# Stats are public for users who share them: no key needed then (a bad key is still refused).
_STATS_DOC = documented(
    KEYED, 400,
    (401, "an unknown API key, or `current` without one"),
    (403, "the user does not share these stats (or not this far back)"),
    (404, "no such user"),
    auth=OPTIONAL_KEY_AUTH,
    query=(START_DATE, END_DATE, *filter_params(STATS_FILTERS),
           flag_param("total_seconds", "answer only `{total_seconds}`"),
           param("features", "comma-separated breakdowns to include (languages, projects, editors, …)"),
           param("limit", "at most this many entries per breakdown (0: all)", type="integer", minimum=0,
                 maximum=1_000_000)),
)


@get(on_every_base("/users/{user:str}/stats"), **_READ, **_STATS_DOC)
async def stats(request: Request, user: FromPath[str]) -> dict[str, Any]:
    """WakaTime stats (default range: last 7 days); also Hackatime's `features`, `start_date`/`end_date`,
    `filter_by_project`, `limit` and `total_seconds=true`. Public for users who share their stats."""
    return await _stats_answer(request, user, None)  # a Response (see status_bar_today) or the dict


@get(on_every_base("/users/{user:str}/stats/{range_name:str}"), **_READ, **_STATS_DOC)
async def stats_for_range(request: Request, user: FromPath[str], range_name: FromPath[str]) -> dict[str, Any]:
    return await _stats_answer(request, user, range_name)


@get(on_every_base("/users/{user:str}/durations"), **_READ, **documented(
    USER_READ, 400, query=(DATE, TIMEZONE, param("slice_by", "what to group blocks by (default project; entity "
                                                 "when a project is given)"),
                           *filter_params(SUMMARY_FILTERS))))
@params.in_thread
def durations(request: Request, user: FromPath[str]) -> dict[str, Any]:
    """One day's continuous blocks (`date`, default today), sliced by `slice_by` (default project)."""
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store, user)
    tz, day = reports.day_in_zone(ctx, target, params.text(request, "timezone"), params.text(request, "date"))
    filters = params.filters(request, names=SUMMARY_FILTERS)
    # WakaTime: with `project` given, durations are per file (slice_by defaults to entity), else per project.
    default_slice = "entity" if filters.get("project") else "project"
    report = reports.durations(ctx, target, day, tz, slice_by=params.text(request, "slice_by") or default_slice,
                               filters=filters)
    return render.durations(report)


@get(on_every_base("/users/{user:str}/all_time_since_today"), **_READ,
     **documented(USER_READ, 400, query=filter_params(SUMMARY_FILTERS)))
@params.in_thread
def all_time_since_today(request: Request, user: FromPath[str]) -> dict[str, Any]:
    ctx = _ctx(request)
    _, target = owner_read(request, ctx.store, user)
    report = reports.all_time_since_today(ctx, target, filters=params.filters(request, names=SUMMARY_FILTERS))
    return render.all_time(report)


HANDLERS = [status_bar_today, summaries, stats, stats_for_range, durations, all_time_since_today]
