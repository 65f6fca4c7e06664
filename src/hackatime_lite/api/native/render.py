"""Report objects → Hackatime's JSON shapes (its `api/v1` routes). The CLI's in-process reports
(report_sources) print these same shapes, so a report reads alike from a server and from a data dir."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hackatime_lite import reports
from hackatime_lite.analytics.leaderboards import LeaderboardPage
from hackatime_lite.text import formatting


def spans(found: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """GET users/:user/heartbeats/spans."""
    return {"spans": [{"start_time": a, "end_time": b, "duration": b - a} for a, b in found]}


def streak(found: dict[str, Any]) -> dict[str, Any]:
    """GET users/:user/streak (`streak_days` is Hackatime's field, the rest ours)."""
    return {"streak_days": found["current"], **found}


def leaderboard(found: LeaderboardPage) -> dict[str, Any]:
    """GET leaderboard (a page of a built board)."""
    return {
        "period": found.board,
        "title": found.title,
        "language": found.language,
        "date_range": found.title,
        "start_date": formatting.iso_utc(found.range_start) if found.range_start is not None else None,
        "generated_at": formatting.iso_utc(found.generated_at),
        "page": found.page,
        "total_pages": found.total_pages,
        "total_entries": found.total_entries,
        "entries": [
            {
                "rank": e.rank,
                "user": {
                    "id": e.user.public_id,
                    "username": e.user.username,
                    "display_name": e.user.display_name,
                    "avatar_url": None,
                },
                "total_seconds": e.total_seconds,
                "daily_average": e.daily_average,
                "streak": e.current_streak,
                "languages": [
                    {"name": reports.display_name("language", lang.name), "total_seconds": lang.total_seconds}
                    for lang in e.languages
                ],
            }
            for e in found.entries
        ],
    }
