"""The goals page (list with history, create / edit / delete forms) and the goal cards of the dashboard.

Definitions and progress come from hackatime_lite.goals, the same calls the API's users/current/goals makes, so
the page and the API always agree.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from hackatime_lite import goals
from hackatime_lite.context import AppContext
from hackatime_lite.goals.spec import WEEKDAYS
from hackatime_lite.models import User
from hackatime_lite.web.auth import viewer_of
from hackatime_lite.web.render import page, redirect

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
# The history shown on the goals page: four weeks of days, or twelve weeks.
HISTORY = {"day": 28, "week": 12}
STATUS_BADGES = {"success": "good", "fail": "bad", "pending": "warn", "ignored": ""}


class GoalForm(msgspec.Struct):
    """The create/edit form; names are comma-separated, each ignored weekday is its own checkbox."""

    delta: str = "day"
    hours: str = ""
    minutes: str = ""
    is_inverse: str = ""
    languages: str = ""
    projects: str = ""
    editors: str = ""
    categories: str = ""
    ignore_zero_days: str = ""
    is_enabled: str = ""
    title: str = ""
    ignore_monday: str = ""
    ignore_tuesday: str = ""
    ignore_wednesday: str = ""
    ignore_thursday: str = ""
    ignore_friday: str = ""
    ignore_saturday: str = ""
    ignore_sunday: str = ""


def _amount(text: str, name: str) -> float:
    text = text.strip()
    if not text:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise goals.GoalError(f"{name} must be a number") from None
    if not 0 <= value <= 7 * 24 * 60:
        raise goals.GoalError(f"{name} is out of range")
    return value


def form_data(form: GoalForm) -> dict[str, Any]:
    """The form as the API's JSON body, so both are checked by the same goals.parse_spec."""
    seconds = round(_amount(form.hours, "hours") * 3600 + _amount(form.minutes, "minutes") * 60)
    return {
        "delta": form.delta,
        "seconds": seconds,
        "is_inverse": bool(form.is_inverse),
        "languages": form.languages,
        "projects": form.projects,
        "editors": form.editors,
        "categories": form.categories,
        "ignore_days": [day for day in WEEKDAYS if getattr(form, f"ignore_{day}")],
        "ignore_zero_days": bool(form.ignore_zero_days),
        "is_enabled": bool(form.is_enabled),
        "title": form.title,
    }


def goal_cards(ctx: AppContext, user: User) -> list[goals.GoalView]:
    """The dashboard's cards: each enabled goal's current day or week."""
    return goals.list_progress(ctx, user, periods=1, enabled_only=True)


def _page(request: Request, *, status_code: int = 200, editing: goals.StoredGoal | None = None,
          form: dict[str, Any] | None = None, **extra: Any) -> Template:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    views = [goals.progress(ctx, user, goal, periods=HISTORY[goal.spec.delta]) for goal in goals.list_goals(ctx, user)]
    return page(request, "goals.html", status_code=status_code, active="goals", goals=views, editing=editing,
                form=form if form is not None else _form_values(editing), weekdays=WEEKDAYS, badges=STATUS_BADGES,
                **extra)


def _form_values(goal: goals.StoredGoal | None) -> dict[str, Any]:
    if goal is None:
        return {"delta": "day", "hours": "1", "minutes": "0", "is_enabled": True, "ignore_days": []}
    spec = goal.spec
    hours, rest = divmod(spec.seconds, 3600)
    return {"delta": spec.delta, "hours": str(hours), "minutes": f"{rest / 60:g}", "is_inverse": spec.is_inverse,
            "languages": ", ".join(spec.languages), "projects": ", ".join(spec.projects),
            "editors": ", ".join(spec.editors), "categories": ", ".join(spec.categories),
            "ignore_days": list(spec.ignore_days), "ignore_zero_days": spec.ignore_zero_days,
            "is_enabled": spec.is_enabled, "title": spec.custom_title or ""}


def _echo(form: GoalForm) -> dict[str, Any]:
    """What the user typed, to show again with the error."""
    values = msgspec.structs.asdict(form)
    values["ignore_days"] = [day for day in WEEKDAYS if getattr(form, f"ignore_{day}")]
    return values


@get("/goals", sync_to_thread=True)
def goals_page(request: Request) -> Template:
    ctx: AppContext = request.app.state.ctx
    edit = request.query_params.get("edit")
    editing = goals.get_goal(ctx, viewer_of(request).user, edit) if edit else None
    return _page(request, editing=editing)


@post("/goals", sync_to_thread=True)
def create_goal(request: Request, data: Annotated[GoalForm, FORM]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    try:
        goals.create_goal(ctx, viewer_of(request).user, form_data(data))
    except goals.GoalError as exc:
        return _page(request, status_code=400, form=_echo(data), error=str(exc))
    return redirect("/goals", done="goal-saved")


@post("/goals/{goal_id:str}", sync_to_thread=True)
def update_goal(request: Request, goal_id: FromPath[str], data: Annotated[GoalForm, FORM]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    editing = goals.get_goal(ctx, user, goal_id)  # someone else's goal: 404
    try:
        goals.update_goal(ctx, user, goal_id, form_data(data), partial=False)
    except goals.GoalError as exc:
        return _page(request, status_code=400, editing=editing, form=_echo(data), error=str(exc))
    return redirect("/goals", done="goal-saved")


@post("/goals/{goal_id:str}/delete", sync_to_thread=True)
def delete_goal(request: Request, goal_id: FromPath[str]) -> Redirect:
    ctx: AppContext = request.app.state.ctx
    goals.delete_goal(ctx, viewer_of(request).user, goal_id)
    return redirect("/goals", done="goal-deleted")


HANDLERS = [goals_page, create_goal, update_goal, delete_goal]
