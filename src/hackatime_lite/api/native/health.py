"""Liveness and readiness: the app, the SQLite store (and later the replica)."""

from __future__ import annotations

import time

from litestar import Request, Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from hackatime_lite import __version__
from hackatime_lite.context import AppContext


def _database_status(ctx: AppContext) -> dict[str, object]:
    started = time.perf_counter()
    try:
        conn = ctx.store.reader()
        conn.execute("SELECT 1 FROM heartbeats LIMIT 1").fetchall()
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    except Exception as exc:
        return {"status": "error", "error": type(exc).__name__}
    return {
        "status": "ok",
        "journal_mode": journal,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }


@get("/api/health", tags=["native"])
async def health(request: Request) -> Response[dict[str, object]]:
    ctx: AppContext = request.app.state.ctx
    components: dict[str, dict[str, object]] = {"database": _database_status(ctx)}
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
