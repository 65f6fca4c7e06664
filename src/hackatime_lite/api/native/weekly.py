"""The weekly report (notify.weekly): `GET /api/native/v1/users/{user}/reports/weekly?week=2026-W48`.

What `hackatime-lite report weekly` prints when it reads a running server, and what the e-mail shows."""

from __future__ import annotations

from litestar import Request, get
from litestar.params import FromPath

from hackatime_lite.api import params
from hackatime_lite.api.access import owner_read
from hackatime_lite.api.openapi import USER_READ, documented, param
from hackatime_lite.context import AppContext
from hackatime_lite.notify.weekly import WeeklyReport, parse_week, weekly_report

WEEKLY_PATH = "/api/native/v1/users/{user:str}/reports/weekly"


@get(WEEKLY_PATH, tags=["native"], **documented(USER_READ, (400, "not an ISO week"), query=(
    param("week", "an ISO week, 2026-W48 (default: the last complete week in the user's zone)"),)))
@params.in_thread
def weekly(request: Request, user: FromPath[str]) -> WeeklyReport:
    """One week of coding: total and per day, top projects and languages, the change against the week
    before, the best day, focus (deep-work sessions) and goals met."""
    ctx: AppContext = request.app.state.ctx
    _, target = owner_read(request, ctx.store, user)
    week = params.text(request, "week", max_length=16)
    return weekly_report(ctx, target, parse_week(week) if week else None)


HANDLERS = [weekly]
