"""Goals: daily or weekly coding-time targets ("at least", or inverse "at most"), the use cases every transport
calls (the API's users/current/goals, the dashboard's goals page and cards, the CLI's `goal` and
`report goals`).

- spec: reading and checking a goal's definition, and its generated title;
- progress: per day/week actual vs goal seconds with WakaTime's statuses and reasons (`GoalView`).

Definitions live in the store (StoreBackend.create_goal …, always scoped by the owner); progress is computed
when read, from the analytics replica, so it follows every new heartbeat.
"""

from __future__ import annotations

from typing import Any

from hackatime_lite.context import AppContext
from hackatime_lite.errors import NotFoundError
from hackatime_lite.goals.progress import DEFAULT_PERIODS, ChartItem, GoalView, progress
from hackatime_lite.goals.spec import GoalError, parse_spec, title_of
from hackatime_lite.models import User
from hackatime_lite.store.records import GoalSpec, StoredGoal

MAX_GOALS_PER_USER = 100

__all__ = ["DEFAULT_PERIODS", "ChartItem", "GoalError", "GoalSpec", "GoalView", "StoredGoal", "create_goal",
           "delete_goal", "get_goal", "goal_progress", "list_goals", "list_progress", "parse_spec", "progress",
           "title_of", "update_goal"]


def list_goals(ctx: AppContext, user: User) -> list[StoredGoal]:
    return ctx.store.list_goals(user.id)


def get_goal(ctx: AppContext, user: User, goal_id: str) -> StoredGoal:
    """The user's goal, else NotFoundError (another user's goal is not found either)."""
    found = ctx.store.get_goal(user.id, goal_id.strip().lower()) if len(goal_id) <= 64 else None
    if found is None:
        raise NotFoundError("no such goal")
    return found


def create_goal(ctx: AppContext, user: User, data: Any) -> StoredGoal:
    spec = parse_spec(data)
    if len(ctx.store.list_goals(user.id)) >= MAX_GOALS_PER_USER:
        raise GoalError(f"at most {MAX_GOALS_PER_USER} goals per user")
    return ctx.store.create_goal(user.id, spec, now=ctx.clock())


def update_goal(ctx: AppContext, user: User, goal_id: str, data: Any, *, partial: bool) -> StoredGoal:
    """PUT (`partial=False`: the body is the whole goal) or PATCH (only the fields given change)."""
    found = get_goal(ctx, user, goal_id)
    spec = parse_spec(data, found.spec if partial else None)
    return ctx.store.update_goal(user.id, found.id, spec, now=ctx.clock())


def delete_goal(ctx: AppContext, user: User, goal_id: str) -> None:
    found = get_goal(ctx, user, goal_id)
    if not ctx.store.delete_goal(user.id, found.id):
        raise NotFoundError("no such goal")


def goal_progress(ctx: AppContext, user: User, goal_id: str, *, periods: int = DEFAULT_PERIODS) -> GoalView:
    return progress(ctx, user, get_goal(ctx, user, goal_id), periods=periods)


def list_progress(ctx: AppContext, user: User, *, periods: int = DEFAULT_PERIODS,
                  enabled_only: bool = False) -> list[GoalView]:
    return [progress(ctx, user, goal, periods=periods) for goal in list_goals(ctx, user)
            if goal.spec.is_enabled or not enabled_only]
