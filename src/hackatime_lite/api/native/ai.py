"""AI-coding stats (insights.ai): `GET /api/native/v1/users/{user}/ai?range=…[&project=…]`.

AI vs human line changes, AI sessions, tokens, per project / day / model; `has_data` is false (and every
list empty) when no client sent these fields. What the dashboard's AI panel and `report --by ai_model` show."""

from __future__ import annotations

from litestar import Request, get
from litestar.params import FromPath

from hackatime_lite.api import params
from hackatime_lite.api.access import owner_read
from hackatime_lite.api.native.focus import RANGE_PARAMS, read_range
from hackatime_lite.api.openapi import USER_READ, documented, filter_params
from hackatime_lite.context import AppContext
from hackatime_lite.insights.ai import AiReport, ai_report

AI_PATH = "/api/native/v1/users/{user:str}/ai"
AI_FILTERS = ("project", "projects", "filter_by_project")


@get(AI_PATH, tags=["native"], **documented(USER_READ, 400, query=(*RANGE_PARAMS, *filter_params(AI_FILTERS))))
@params.in_thread
def ai(request: Request, user: FromPath[str]) -> AiReport:
    """AI-coding figures over a range (default last 7 days): totals and per project, local day and model."""
    ctx: AppContext = request.app.state.ctx
    _, target = owner_read(request, ctx.store, user)
    rng = read_range(request, ctx, target)
    projects = params.filters(request, names=AI_FILTERS).get("project")
    return ai_report(ctx, target, rng, projects=projects)


HANDLERS = [ai]
