"""What a leaderboard is and what reading one gives: the boards, a page of one, "not built yet", and the error for
a bad request. Light on purpose (no replica, no DuckDB): the API modules that serve boards import it at start-up,
while analytics/leaderboards.py, which builds and reads them, loads with the analytics."""

from __future__ import annotations

import msgspec

from hackatime_lite.errors import InputError
from hackatime_lite.models import LeaderboardEntry

# board -> (title, length in days, rolling?)
BOARDS: dict[str, tuple[str, int, bool]] = {
    "today": ("Today", 1, False),
    "last_24_hours": ("Last 24 Hours", 1, True),
    "last_7_days": ("Last 7 Days", 7, False),
    "last_30_days": ("Last 30 Days", 30, False),
}


class LeaderboardError(InputError):
    """Unknown board, bad page or page size; the message is safe to show."""


class LeaderboardPage(msgspec.Struct, frozen=True, kw_only=True):
    board: str
    title: str
    language: str | None
    generated_at: float
    range_start: float | None
    """Rolling boards only; the other boards' windows are each user's own local days."""
    range_end: float | None
    days: int
    page: int
    page_size: int
    total_entries: int
    total_pages: int
    entries: list[LeaderboardEntry]


class NotBuilt(msgspec.Struct, frozen=True, kw_only=True):
    """The board has not been built yet (the server just started); ask again shortly."""

    board: str
    language: str | None
    reason: str = "leaderboard not built yet"
