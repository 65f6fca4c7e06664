"""Where the scheduled and mirror events come from.

- `mirror_paused`: mirror/delivery.py calls `mirror_paused` when it pauses a target (the user's own webhooks
  only: a member's mirror is not the team's business).
- `goal_reached` / `goal_missed` and `daily_summary`: the `webhook_events` job (a singleton) evaluates, for
  every user some webhook would hear about, yesterday's and today's goal periods via hackatime_lite.goals and
  yesterday's total. Each event has a key (user, goal, period / user, day) that the store keeps with the queued
  delivery, so however often the job runs, each is emitted once: a goal period reached early today is not
  reported again when the day ends.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from hackatime_lite import goals, reports
from hackatime_lite.analytics.ranges import DateRange
from hackatime_lite.context import AppContext
from hackatime_lite.models import User
from hackatime_lite.store.records import TargetRow
from hackatime_lite.webhooks.payloads import event_payload

log = logging.getLogger(__name__)
SCHEDULED_EVENTS = ("goal_reached", "goal_missed", "daily_summary")
EVENTS_INTERVAL = 300.0
# Settled deliveries are kept this long as the record of what was emitted (and for the settings page).
KEEP_SETTLED = 30 * 86400.0
TOP = 5


def mirror_paused(ctx: AppContext, target: TargetRow, reason: str, now: float) -> None:
    """Queue `mirror_paused` for the target's owner (never raises: the pause itself must go on)."""
    try:
        user = ctx.store.get_user(target.user_id)
        if user is None:
            return
        data = {"mirror_id": target.id, "url": target.url, "reason": reason}
        text = f"{user.username}'s mirror to {target.url} was paused: {reason}"
        ctx.store.enqueue_webhook_event(user.id, "mirror_paused", f"mirror_paused:{target.id}:{now!r}",
                                        event_payload(user, "mirror_paused", data, text, now), now,
                                        teams=False).result()
    except Exception:
        log.warning("could not queue the mirror_paused webhook event", exc_info=True)


def _goal_events(ctx: AppContext, user: User, now: float) -> int:
    queued = 0
    for goal in ctx.store.list_goals(user.id):
        if not goal.spec.is_enabled:
            continue
        found = goals.progress(ctx, user, goal, periods=2)
        previous, current = found.chart_data[-2], found.chart_data[-1]
        candidates = [(previous, previous.range_status)]
        # The running period is decided early only one way: an "at least" goal once reached, a limit once broken.
        if (current.range_status == "success" and not goal.spec.is_inverse) or \
                (current.range_status == "fail" and goal.spec.is_inverse):
            candidates.append((current, current.range_status))
        for item, status in candidates:
            if status not in ("success", "fail"):
                continue
            event = "goal_reached" if status == "success" else "goal_missed"
            data = {"goal_id": goal.id, "title": found.title, "delta": goal.spec.delta,
                    "period": item.range.date.isoformat(), "actual_seconds": item.actual_seconds,
                    "goal_seconds": item.goal_seconds, "is_inverse": goal.spec.is_inverse,
                    "reason": item.range_status_reason}
            verb = "reached" if status == "success" else "missed"
            text = f"{user.username} {verb} the goal \u201c{found.title}\u201d ({item.range.text}): " \
                   f"{item.range_status_reason}"
            key = f"goal:{user.id}:{goal.id}:{item.range.date.isoformat()}"
            queued += ctx.store.enqueue_webhook_event(user.id, event, key,
                                                      event_payload(user, event, data, text, now), now).result()
    return queued


def _daily_summary(ctx: AppContext, user: User, now: float) -> int:
    yesterday = reports.today_for(ctx, user.timezone) - dt.timedelta(days=1)
    day = reports.summaries(ctx, user, DateRange(key="custom", text="Yesterday", start=yesterday, end=yesterday,
                                                 tz=user.timezone)).days[0]
    top = {name: [{"name": e.name, "total_seconds": e.total_seconds, "text": e.text}
                  for e in day.breakdowns.get(name, [])[:TOP]] for name in ("projects", "languages")}
    data = {"date": yesterday.isoformat(), "timezone": user.timezone,
            "total_seconds": day.grand_total.total_seconds, "text": day.grand_total.text, **top}
    text = f"{user.username} coded {day.grand_total.text} on {yesterday.isoformat()}"
    if top["projects"]:
        text += " (" + ", ".join(f"{p['name']} {p['text']}" for p in top["projects"][:3]) + ")"
    return ctx.store.enqueue_webhook_event(user.id, "daily_summary", f"daily_summary:{user.id}:{yesterday}",
                                           event_payload(user, "daily_summary", data, text, now), now).result()


def emit_scheduled_events(ctx: AppContext, now: float | None = None) -> dict[str, Any] | None:
    """The `webhook_events` job: goal and daily-summary events of every user a webhook would hear about."""
    moment = ctx.clock() if now is None else now
    cancel = ctx.scheduler.stopping if ctx.scheduler is not None else None
    goal_users = set(ctx.store.webhook_subscribers(("goal_reached", "goal_missed")))
    summary_users = set(ctx.store.webhook_subscribers(("daily_summary",)))
    queued = users = 0
    for user_id in sorted(goal_users | summary_users):
        if cancel is not None and cancel.is_set():
            break
        user = ctx.store.get_user(user_id)
        if user is None or user.is_disabled:
            continue
        users += 1
        if user_id in goal_users:
            queued += _goal_events(ctx, user, moment)
        if user_id in summary_users:
            queued += _daily_summary(ctx, user, moment)
    pruned = ctx.store.prune_webhook_deliveries(moment - KEEP_SETTLED)
    if not queued and not pruned:
        return None
    return {"users": users, "queued": queued, "pruned": pruned}
