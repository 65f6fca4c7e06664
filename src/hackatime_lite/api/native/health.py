"""Liveness and readiness: the app, the store, and the components registered as health probes."""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from hackatime_lite import __version__
from hackatime_lite.context import AppContext


@get("/api/health", tags=["native"])
async def health(request: Request) -> Response[dict[str, object]]:
    ctx: AppContext = request.app.state.ctx
    components: dict[str, dict[str, object]] = {"database": ctx.store.health()}
    for name, probe in ctx.health_probes.items():
        components[name] = probe()
    healthy = all(c.get("status") == "ok" for c in components.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "uptime_seconds": round(ctx.clock() - ctx.started_at, 1),
        **components,
    }
    return Response(body, status_code=HTTP_200_OK if healthy else HTTP_503_SERVICE_UNAVAILABLE)


HANDLERS = [health]
