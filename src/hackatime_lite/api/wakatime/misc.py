"""Small WakaTime endpoints: plugin diagnostics and server meta."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict

from litestar import Request, get, post
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_201_CREATED, HTTP_429_TOO_MANY_REQUESTS

from hackatime_lite import __version__
from hackatime_lite.api.wakatime import on_every_base
from hackatime_lite.context import AppContext

MAX_DIAGNOSTIC_BYTES = 64 * 1024


class RateLimiter:
    """Fixed-window counter per client address, bounded in memory."""

    def __init__(self, limit: int, window: float, max_clients: int = 10_000) -> None:
        self.limit, self.window, self.max_clients = limit, window, max_clients
        self._hits: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            started, count = self._hits.pop(client, (now, 0))
            if now - started >= self.window:
                started, count = now, 0
            self._hits[client] = (started, count + 1)
            while len(self._hits) > self.max_clients:
                self._hits.popitem(last=False)
            return count < self.limit


_diagnostics_limiter = RateLimiter(limit=10, window=60.0)


@post(on_every_base("/plugins/errors"), status_code=HTTP_201_CREATED, tags=["misc (WakaTime)"])
async def plugin_errors(request: Request) -> dict[str, None]:
    """Diagnostics wakatime-cli sends without auth; kept (capped) for the admin to read."""
    client = request.client.host if request.client else "unknown"
    if not _diagnostics_limiter.allow(client):
        raise HTTPException("too many diagnostics; try later", status_code=HTTP_429_TOO_MANY_REQUESTS)
    body = (await request.body())[:MAX_DIAGNOSTIC_BYTES].decode("utf-8", errors="replace")
    ctx: AppContext = request.app.state.ctx
    user_agent = (request.headers.get("user-agent") or "")[:1024]
    now = ctx.clock()
    await asyncio.wrap_future(ctx.store.record_plugin_error(now, client, user_agent, body))
    return {"data": None}


@get(on_every_base("/meta"), tags=["misc (WakaTime)"])
async def meta() -> dict[str, object]:
    return {
        "data": {
            "server": "hackatime-lite",
            "version": __version__,
            "ips": {"api": [], "website": [], "worker": []},
        }
    }


HANDLERS = [plugin_errors, meta]
