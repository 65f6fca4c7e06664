"""Query-string parsing shared by the read handlers: every bad value becomes a 400 with a clear message."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from litestar import Request

from hackatime_lite.api.errors import BadRequest
from hackatime_lite.context import AppContext
from hackatime_lite.models import DIMENSIONS

T = TypeVar("T")

# WakaTime / Wakapi / Hackatime query parameter -> analytics dimension (models.DIMENSIONS). Values are
# comma-separated alternatives.
FILTER_PARAMS = {
    param: d.name for d in DIMENSIONS if d.query_param for param in (d.query_param, *d.query_aliases)
}
# A user's project labels (hackatime_lite.aliases): reports.read_filters turns it into a project filter.
FILTER_PARAMS["label"] = "label"
# Where query() keeps a request's parameters (in its ASGI scope, which lives exactly as long as the request).
_QUERY_KEY = "hackatime_lite.query"


def query(request: Request) -> Mapping[str, str]:
    """The request's query parameters, the first value of each name (as `request.query_params.get`), parsed
    once per request: Litestar's `query_params` builds a new multi-dict on every access, and a stats request
    reads some 25 names (most of its parameter parsing's cost)."""
    scope = cast("dict[str, Any]", request.scope)
    found: dict[str, str] | None = scope.get(_QUERY_KEY)
    if found is None:
        found = {}
        if scope.get("query_string"):  # most reads (status bar polls) have none: nothing to parse
            for name, value in request.query_params.multi_items():
                found.setdefault(name, value)
        scope[_QUERY_KEY] = found
    return found


def text(request: Request, name: str, *, max_length: int = 256) -> str | None:
    """A non-empty string parameter or None (an empty value means "not given")."""
    value = query(request).get(name)
    if value is None or not value.strip():
        return None
    if len(value) > max_length:
        raise BadRequest(f"{name} is too long")
    return value.strip()


def flag(request: Request, name: str, default: bool = False) -> bool:
    value = text(request, name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise BadRequest(f"{name} must be true or false")


def integer(request: Request, name: str, default: int, *, minimum: int = 1, maximum: int = 1_000_000) -> int:
    value = text(request, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if not minimum <= number <= maximum:
        raise BadRequest(f"{name} must be between {minimum} and {maximum}")
    return number


def csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def filters(request: Request, *, names: tuple[str, ...] = tuple(FILTER_PARAMS)) -> dict[str, list[str]]:
    """{dimension: values} from the filter parameters present; an empty value (`branches=`) is no filter."""
    chosen: dict[str, list[str]] = {}
    if not query(request):
        return chosen
    for name in names:
        values = csv(text(request, name, max_length=4096))
        if values:
            chosen.setdefault(FILTER_PARAMS[name], [])
            chosen[FILTER_PARAMS[name]].extend(v for v in values if v not in chosen[FILTER_PARAMS[name]])
    return chosen


def in_thread(fn: Callable[..., T]) -> Callable[..., Any]:
    """Run a blocking handler (DuckDB/SQLite reads) in a worker thread.

    Litestar's own `sync_to_thread=True` breaks for a handler registered on several paths (it wraps the
    function once per registration, and the outer wrapper then returns an un-awaited coroutine), and every
    WakaTime route is registered on several base paths.

    The hop is the event loop's executor (app.py's lifespan sizes it like anyio's 40 threads), not
    `anyio.to_thread.run_sync`: anyio's capacity limiter, cancel scopes and worker hand-off cost ~0.5 ms of
    CPU per call, a quarter of a cached status bar request (bench/http_overhead.py); the executor ~0.1 ms.
    The handler runs in a copy of the caller's context, as under anyio.
    """

    @functools.wraps(fn)
    async def handler(*args: Any, **kwargs: Any) -> T:
        return await run_blocking(fn, *args, **kwargs)

    return handler


async def run_blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """fn(*args, **kwargs) on the event loop's default executor, in a copy of the caller's context (in_thread's
    hop, for an async handler that answers some requests on the loop and hands the rest to a thread)."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(None, call)


def local_reads(ctx: AppContext) -> bool:
    """Whether the store's small reads may run on the event loop: true for the one-node store (SQLite), whose
    reads of a few rows take microseconds from the page cache and never wait for the writer (WAL); false for
    a store other nodes share (PostgreSQL), whose every read is a network round trip that would stall every
    request the loop serves."""
    return not ctx.store.shares_state
