"""Report objects → Hackatime's JSON shapes (its `api/v1` routes). These shapes are the typed report objects
themselves (models.Span, Board and Streak), which the CLI decodes a server's answer back into."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from hackatime_lite.analytics.boards import LeaderboardPage
from hackatime_lite.api.lazy import LazyModule
from hackatime_lite.models import Span, Streak

if TYPE_CHECKING:
    from hackatime_lite import reports
else:  # imported on first use (api/lazy.py)
    reports = LazyModule("hackatime_lite.reports")


def spans(found: Sequence[Span]) -> dict[str, Any]:
    """GET users/:user/heartbeats/spans."""
    return {"spans": msgspec.to_builtins(found)}


def streak(found: Streak) -> dict[str, Any]:
    """GET users/:user/streak (`streak_days` is Hackatime's field, the rest ours)."""
    return {"streak_days": found.current, **msgspec.to_builtins(found)}


def leaderboard(found: LeaderboardPage) -> dict[str, Any]:
    """GET leaderboard (a page of a built board)."""
    return msgspec.to_builtins(reports.board_page(found))
