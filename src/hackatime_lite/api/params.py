"""Query-string parsing shared by the read handlers: every bad value becomes a 400 with a clear message."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio.to_thread
from litestar import Request

from hackatime_lite.analytics.durations import AnalyticsError
from hackatime_lite.analytics.ranges import RangeError
from hackatime_lite.api.errors import BadRequest
from hackatime_lite.store.users import UserError
from hackatime_lite.text.date_bounds import BoundError

T = TypeVar("T")

# WakaTime / Wakapi query parameter -> analytics dimension. Values are comma-separated alternatives.
FILTER_PARAMS = {
    "project": "project",
    "projects": "project",
    "filter_by_project": "project",
    "branches": "branch",
    "branch": "branch",
    "language": "language",
    "languages": "language",
    "editor": "editor",
    "editors": "editor",
    "operating_system": "operating_system",
    "os": "operating_system",
    "machine": "machine",
    "machines": "machine",
    "category": "category",
    "categories": "category",
    "filter_by_category": "category",
    "entity": "entity",
}


@contextmanager
def bad_input_as_400() -> Iterator[None]:
    """Turn the domain's input errors (ranges, settings, analytics) into 400 responses."""
    try:
        yield
    except (RangeError, UserError, AnalyticsError, BoundError) as exc:
        raise BadRequest(str(exc)) from exc


def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with bad_input_as_400():
        return fn(*args, **kwargs)


def text(request: Request, name: str, *, max_length: int = 256) -> str | None:
    """A non-empty string parameter or None (an empty value means "not given")."""
    value = request.query_params.get(name)
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
    """

    @functools.wraps(fn)
    async def handler(*args: Any, **kwargs: Any) -> T:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))

    return handler
