"""HTTP request metrics: a plain ASGI middleware (no web framework imported here), installed by create_app
when metrics are enabled.

The route label is the route's template (`/api/v1/users/{user:str}/summaries`), which the router puts in the
scope before the middleware runs, never the raw path: the number of label values stays bounded by the number
of routes (a path no route matches never reaches route middleware: those 404s are not counted). The
counters are the instance's (`scope["app"].state.ctx.metrics`), so the middleware itself holds
no state and one app object may serve another instance's context (the test suite's app pool does that).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

# The ASGI types, loosely: the web framework's own (TypedDicts) stay out of this layer.
Scope = Any
Message = Any
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _metrics_of(scope: Scope) -> Any:
    app = scope.get("app")
    ctx = getattr(getattr(app, "state", None), "ctx", None)
    return getattr(ctx, "metrics", None)


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        metrics = _metrics_of(scope) if scope.get("type") == "http" else None
        if metrics is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answered: list[int] = []

        async def timed_send(message: Message) -> None:
            if message.get("type") == "http.response.start" and not answered:
                answered.append(int(message.get("status", 0)))
                metrics.observe_request(scope.get("method", ""), scope.get("path_template") or "unknown",
                                        answered[0], time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        except BaseException as exc:
            # Raised past the route's own exception handling (a middleware's refusal, e.g. CSRF): the app's
            # handler turns it into this status outside of us.
            if not answered:
                status = getattr(exc, "status_code", 500) if isinstance(exc, Exception) else 499
                metrics.observe_request(scope.get("method", ""), scope.get("path_template") or "unknown",
                                        int(status), time.perf_counter() - started)
            raise
