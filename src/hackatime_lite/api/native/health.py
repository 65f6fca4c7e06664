"""Liveness and readiness: the app, the store, and the components registered as health probes."""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from hackatime_lite import __version__
from hackatime_lite.api.openapi import documented
from hackatime_lite.context import AppContext


# sync_to_thread: the probes run real queries (SQLite, DuckDB) and read the replica file's header, which must
# not stall the event loop when a disk is slow or DuckDB is busy.
@get("/api/health", tags=["native"], sync_to_thread=True, **documented(auth=None, responses={
    HTTP_503_SERVICE_UNAVAILABLE: ResponseSpec(dict[str, object], generate_examples=False,
                                               description="degraded: the same body, some component not ok")}))
def health(request: Request) -> Response[dict[str, object]]:
    ctx: AppContext = request.app.state.ctx
    components: dict[str, dict[str, object]] = {"database": ctx.store.health()}
    for name, probe in ctx.health_probes.items():
        components[name] = probe()
    healthy = all(c.get("status") == "ok" for c in components.values())
    body: dict[str, object] = {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "uptime_seconds": round(ctx.clock() - ctx.started_at, 1),
        **components,
    }
    return Response(body, status_code=HTTP_200_OK if healthy else HTTP_503_SERVICE_UNAVAILABLE)


HANDLERS = [health]
