"""Small WakaTime endpoints: plugin diagnostics and server meta."""

from __future__ import annotations

import asyncio

from litestar import Request, get, post
from litestar.status_codes import HTTP_201_CREATED

from hackatime_lite import __version__
from hackatime_lite.api.auth import client_address, enforce_limit
from hackatime_lite.api.openapi import documented
from hackatime_lite.api.wakatime import on_every_base
from hackatime_lite.context import AppContext
from hackatime_lite.text.clean import clean_text

MAX_DIAGNOSTIC_BYTES = 64 * 1024


@post(on_every_base("/plugins/errors"), status_code=HTTP_201_CREATED, tags=["misc (WakaTime)"],
      **documented((429, "too many diagnostics from this address: retry after `Retry-After` seconds"), 413, 503,
                   auth=None))
async def plugin_errors(request: Request) -> dict[str, None]:
    """Diagnostics wakatime-cli sends without auth; kept (capped) for the admin to read."""
    ctx: AppContext = request.app.state.ctx
    client = client_address(request)
    # Per instance (on the context), not per process: two apps in one process must not share a budget.
    enforce_limit(request, ctx.rate_limits.plugin_errors, client, "too many diagnostics; try later")
    body = (await request.body())[:MAX_DIAGNOSTIC_BYTES].decode("utf-8", errors="replace")
    user_agent = clean_text(request.headers.get("user-agent"), 1024) or ""  # stored: cleaned like heartbeats
    now = ctx.clock()
    await asyncio.wrap_future(ctx.store.record_plugin_error(now, client, user_agent, body))
    return {"data": None}


@get(on_every_base("/meta"), tags=["misc (WakaTime)"], **documented(auth=None))
async def meta() -> dict[str, object]:
    return {
        "data": {
            "server": "hackatime-lite",
            "version": __version__,
            "ips": {"api": [], "website": [], "worker": []},
        }
    }


HANDLERS = [plugin_errors, meta]
