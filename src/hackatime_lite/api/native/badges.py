"""README badges of coding time, at Wakapi's paths:

- `GET /api/compat/shields/v1/{user}/{interval}[/{filter}]`: shields.io's endpoint-badge JSON
  (`{"schemaVersion": 1, "label", "message", "color"}`), for `https://img.shields.io/endpoint?url=…`;
- `GET /api/badge/{user}/{interval}[/{filter}]`: the same badge as an SVG image (rendered by anybadge).

`interval` is `interval:NAME` (Wakapi's form) or just NAME: any named range (today, last_7_days, all_time,
…, YYYY, YYYY-MM); `filter` is `DIMENSION:VALUE` (project, language, editor, os, machine, category). Badges
are public for users who share them: the total needs `share_stats`, a filtered badge the dimension's
sharing flag (models.DIMENSIONS); the owner (with their key) sees every badge. The seconds come from the
read use cases (`reports.total_seconds`): the status bar's and stats' numbers for the same range.
"""

from __future__ import annotations

import re
from typing import Any

import anybadge
import msgspec
from litestar import Request, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import PermissionDeniedException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Schema
from litestar.params import FromPath

from hackatime_lite import reports
from hackatime_lite.api import params
from hackatime_lite.api.access import Visibility, shared_read
from hackatime_lite.api.errors import BadRequest
from hackatime_lite.api.openapi import KEYED, OPTIONAL_KEY_AUTH, ApiOperation, documented, param
from hackatime_lite.api.wakatime.reads import check_shared_range
from hackatime_lite.context import AppContext
from hackatime_lite.models import DIMENSIONS, Dimension, User
from hackatime_lite.text import formatting

SHIELDS_BASE = "/api/compat/shields/v1/{user:str}"
SVG_BASE = "/api/badge/{user:str}"
SUFFIXES = ("/{interval:str}", "/{interval:str}/{filter:str}")
DEFAULT_INTERVAL = "last_30_days"  # Wakapi's default
DEFAULT_LABEL = "coding time"
DEFAULT_COLOR = "2f855a"
CACHE_SECONDS = 300  # shields.io's own minimum cache time for endpoint badges
MAX_LABEL = 64
_TAGS: dict[str, Any] = {"tags": ["badges"]}
# `os` is Wakapi's (and the CLI's) name; the analytics name and WakaTime's plural work too.
FILTER_DIMENSIONS: dict[str, Dimension] = {
    key: d for d in DIMENSIONS if d.name in ("project", "language", "editor", "operating_system", "machine",
                                            "category") for key in (d.name, d.short, d.plural)}
# shields.io's named colours (badge-maker's table) -> hex, so the SVG matches what shields.io would draw.
NAMED_COLORS = {
    "brightgreen": "4c1", "green": "97ca00", "yellow": "dfb317", "yellowgreen": "a4a61d", "orange": "fe7d37",
    "red": "e05d44", "blue": "007ec6", "grey": "555", "gray": "555", "lightgrey": "9f9f9f", "lightgray": "9f9f9f",
    "success": "4c1", "important": "fe7d37", "critical": "e05d44", "informational": "007ec6", "inactive": "9f9f9f",
}
_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


class BadgeData(msgspec.Struct, kw_only=True, rename={"schema_version": "schemaVersion"}):
    """shields.io's endpoint badge (https://shields.io/badges/endpoint-badge)."""

    schema_version: int
    label: str
    message: str
    color: str


class Badge(msgspec.Struct, kw_only=True):
    """A badge request resolved: whose, which range, which filter, and the seconds."""

    user: User
    range_key: str
    filters: dict[str, list[str]]
    seconds: float


def parse_color(value: str | None) -> str:
    """A shields.io colour name (lower case) or hex digits without `#`; 400 otherwise."""
    if value is None:
        return DEFAULT_COLOR
    lowered = value.strip().lower()
    if lowered in NAMED_COLORS:
        return lowered
    match = _HEX.match(lowered)
    if match is None:
        raise BadRequest(f"color must be one of {', '.join(NAMED_COLORS)} or hex digits like 2f855a")
    return match.group(1)


def _segments(interval: str, filter_: str | None) -> tuple[str, tuple[Dimension, str] | None]:
    """(range name, (dimension, value) or None) from the path's segments, in either order."""
    range_name: str | None = None
    chosen: tuple[Dimension, str] | None = None
    for segment in (interval, filter_):
        if segment is None:
            continue
        key, colon, value = segment.partition(":")
        key = key.strip().lower()
        if not colon:
            if range_name is not None:
                raise BadRequest(f"two intervals in the badge path: {range_name!r} and {segment!r}")
            range_name = segment
        elif key == "interval":
            if range_name is not None:
                raise BadRequest("two intervals in the badge path")
            range_name = value
        elif key in FILTER_DIMENSIONS:
            if chosen is not None or not value.strip():
                raise BadRequest("a badge takes one filter, DIMENSION:VALUE")
            chosen = (FILTER_DIMENSIONS[key], value.strip())
        else:
            names = sorted({d.short for d in FILTER_DIMENSIONS.values()})
            raise BadRequest(f"unknown badge filter {key!r} (use interval:RANGE or one of "
                             f"{', '.join(f'{n}:VALUE' for n in names)})")
    return (range_name or DEFAULT_INTERVAL), chosen


def _check_shared(visibility: Visibility, chosen: tuple[Dimension, str] | None) -> None:
    if visibility.full:
        return
    if chosen is None:
        if not visibility.totals:
            raise PermissionDeniedException("this user does not share their coding time")
        return
    dim = chosen[0]
    if dim.share_flag is None or not visibility.shows(dim.plural):
        raise PermissionDeniedException(f"this user does not share their {dim.plural}")


def resolve_badge(request: Request, user: str, interval: str, filter_: str | None) -> Badge:
    """The badge's user (401/403/404 by the sharing rules), range (400), filter (400) and seconds."""
    ctx: AppContext = request.app.state.ctx
    if len(interval) > 256 or len(filter_ or "") > 256:
        raise BadRequest("badge path segment too long")
    range_name, chosen = _segments(interval, filter_)
    target, visibility = shared_read(request, ctx.store, user)
    _check_shared(visibility, chosen)
    rng = reports.resolve_named_range(ctx, target, range_name, target.timezone)
    check_shared_range(ctx, visibility, rng)
    filters = {chosen[0].name: [chosen[1]]} if chosen else {}
    seconds = reports.total_seconds(ctx, target, rng, filters=filters or None)
    return Badge(user=target, range_key=rng.key, filters=filters, seconds=seconds)


def badge_data(request: Request, badge: Badge) -> BadgeData:
    label = params.text(request, "label", max_length=MAX_LABEL)
    return BadgeData(schema_version=1, label=DEFAULT_LABEL if label is None else label,
                     message=formatting.human_text(badge.seconds), color=parse_color(params.text(request, "color")))


def render_svg(data: BadgeData) -> str:
    color = NAMED_COLORS.get(data.color, data.color)
    return anybadge.Badge(data.label, data.message, default_color=f"#{color}").badge_svg_text


_CACHE = CacheControlHeader(max_age=CACHE_SECONDS, public=True)
_QUERY = (param("label", "the badge's left text (default: `coding time`)"),
          param("color", "the right side's colour: a shields.io name (brightgreen, blue, …) or hex digits"))
_STATUSES = (KEYED, (400, "an unknown interval or filter, or a bad label or colour"),
             (401, "an unknown API key, or `current` without one"),
             (403, "the user does not share this badge's data (or not this far back)"), (404, "no such user"))


# One handler per path shape: an optional path parameter on a multi-path handler is not a path parameter in
# the OpenAPI document Litestar writes (and schemathesis rejects the document).
@get(SHIELDS_BASE + SUFFIXES[0], **_TAGS, cache_control=_CACHE,
     **documented(*_STATUSES, auth=OPTIONAL_KEY_AUTH, query=_QUERY))
@params.in_thread
def shields_badge(request: Request, user: FromPath[str], interval: FromPath[str]) -> BadgeData:
    """Coding time of a user in an interval (`interval:last_7_days`), as shields.io's endpoint badge JSON.
    Public for users who share that data."""
    return badge_data(request, resolve_badge(request, user, interval, None))


@get(SHIELDS_BASE + SUFFIXES[1], **_TAGS, cache_control=_CACHE,
     **documented(*_STATUSES, auth=OPTIONAL_KEY_AUTH, query=_QUERY))
@params.in_thread
def shields_badge_filtered(request: Request, user: FromPath[str], interval: FromPath[str],
                           filter: FromPath[str]) -> BadgeData:
    """Coding time of a user in an interval, of one project, language, … (`project:NAME`), as shields.io's
    endpoint badge JSON. Public for users who share that data."""
    return badge_data(request, resolve_badge(request, user, interval, filter))


class SvgOperation(ApiOperation):
    """The SVG badge's success answer is an image, not JSON."""

    def __post_init__(self) -> None:
        super().__post_init__()
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            ok.content = {"image/svg+xml": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))}


def _svg_docs() -> dict[str, Any]:
    """The SVG routes' OpenAPI keywords (fresh per route: Litestar keeps what it is given)."""
    return documented(*_STATUSES, auth=OPTIONAL_KEY_AUTH, query=_QUERY, operation_class=SvgOperation,
                      responses={200: ResponseSpec(str, description="the badge as SVG", generate_examples=False)})


@get(SVG_BASE + SUFFIXES[0], **_TAGS, cache_control=_CACHE, media_type="image/svg+xml", **_svg_docs())
@params.in_thread
def svg_badge(request: Request, user: FromPath[str], interval: FromPath[str]) -> Response[str]:
    """The same badge as an SVG image (`label` and `color` options), for READMEs without shields.io."""
    data = badge_data(request, resolve_badge(request, user, interval, None))
    return Response(render_svg(data), media_type="image/svg+xml")


@get(SVG_BASE + SUFFIXES[1], **_TAGS, cache_control=_CACHE, media_type="image/svg+xml", **_svg_docs())
@params.in_thread
def svg_badge_filtered(request: Request, user: FromPath[str], interval: FromPath[str],
                       filter: FromPath[str]) -> Response[str]:
    """The same filtered badge as an SVG image (`label` and `color` options)."""
    data = badge_data(request, resolve_badge(request, user, interval, filter))
    return Response(render_svg(data), media_type="image/svg+xml")


HANDLERS = [shields_badge, shields_badge_filtered, svg_badge, svg_badge_filtered]
