"""GET /api/metrics: Prometheus metrics (metrics/), 404 unless `metrics_enabled`.

Who sees what: the scraper's bearer token (`metrics_token`) and admins (API key or dashboard session) get the
instance's metrics; a caller with a user's key or session (admins too) gets that user's own gauges in Wakapi's
`wakatime_*` names, and nobody else's.
"""

from __future__ import annotations

import hmac

from litestar import MediaType, Request, Response, get
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_200_OK

from hackatime_lite.api.auth import authenticate, extract_api_key
from hackatime_lite.api.openapi import KEYED, documented
from hackatime_lite.context import AppContext
from hackatime_lite.metrics import CONTENT_TYPE, user_metrics
from hackatime_lite.models import User
from hackatime_lite.web.auth import current_viewer

_RESPONSES = {
    HTTP_200_OK: ResponseSpec(str, media_type=MediaType.TEXT, generate_examples=False,
                              description="the Prometheus text format"),
}


def _is_scraper(request: Request, ctx: AppContext) -> bool:
    token = ctx.settings.metrics_token
    scheme, _, credentials = (request.headers.get("authorization") or "").strip().partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), token.encode())


def _caller(request: Request, ctx: AppContext) -> User:
    """The user behind the request's API key (401 for an unknown one) or else its dashboard session."""
    if extract_api_key(request.headers.get("authorization"), request.query_params.get("api_key")):
        return authenticate(request, ctx.store).user
    viewer = current_viewer(request)
    if viewer is None:
        raise NotAuthorizedException("Unauthorized")
    return viewer.user


# sync_to_thread: a scrape reads the store and the replica (the caller's coding time).
@get("/api/metrics", tags=["native"], sync_to_thread=True, media_type=MediaType.TEXT,
     **documented(*KEYED, (401, "no credentials: the metrics token, an API key or a dashboard session"),
                  (404, "metrics are off (`metrics_enabled`)"), responses=_RESPONSES))
def metrics(request: Request) -> Response[bytes]:
    """Prometheus metrics: process, HTTP, ingest, replica, jobs, mirror outbox and users for the scraper's
    bearer token (`metrics_token`) or an admin; the caller's own coding time today (`wakatime_*`, as Wakapi
    names them) for any user's API key or dashboard session."""
    ctx: AppContext = request.app.state.ctx
    if ctx.metrics is None:
        raise NotFoundException("metrics are not enabled on this server")
    if _is_scraper(request, ctx):
        body = ctx.metrics.exposition()
    else:
        user = _caller(request, ctx)
        own = user_metrics(ctx, user)
        body = ctx.metrics.exposition() + own if user.is_admin else own
    return Response(body, status_code=HTTP_200_OK, media_type=CONTENT_TYPE)


HANDLERS = [metrics]
