"""The dashboard's focus and AI-coding panels (insights.focus, insights.ai) for the range and filters shown.

The AI panel is left out when no client sent AI fields in the range (`ai.has_data`); the focus panel always
shows (it says so when there was no deep-work session)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hackatime_lite.analytics.ranges import DateRange
from hackatime_lite.context import AppContext
from hackatime_lite.insights.ai import ai_report
from hackatime_lite.insights.focus import focus_report
from hackatime_lite.models import User
from hackatime_lite.text.formatting import human_text


def insight_panels(ctx: AppContext, user: User, rng: DateRange,
                   filters: Mapping[str, Sequence[str | None]]) -> dict[str, Any]:
    """Template values `focus`, `ai` and `insight_text` (a duration formatter) for dashboard.html."""
    projects = [p for p in filters.get("project", []) if p]
    return {
        "focus": focus_report(ctx, user, rng, filters=filters or None),
        "ai": ai_report(ctx, user, rng, projects=projects or None),
        "insight_text": human_text,
    }
