"""Deep-work (focus) sessions: the spans of a window that last at least `min_seconds`.

A span (analytics.spans with min_gap 0) already ends wherever the one duration rule leaves a gap — a pause
longer than the user's timeout — so a focus session is simply a long enough span; no second definition of a
"gap" exists. `per_day` credits each session's seconds to the local days it overlaps (clipped at midnight,
so days add up to the range's focus time, as every other figure does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hackatime_lite.analytics.durations import DEFAULT_EXCLUDED_SOURCES, AnalyticsError
from hackatime_lite.analytics.query_base import Filters
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.analytics.spans import spans

Session = tuple[float, float]


def focus_sessions(replica: Replica, user_id: int, start: float | None, end: float | None, *, min_seconds: float,
                   filters: Filters | None = None, exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES,
                   sync: bool = True) -> list[Session]:
    """(start, end) of every span in [start, end) at least `min_seconds` long, oldest first."""
    if min_seconds <= 0:
        raise AnalyticsError("a focus session must be longer than 0 seconds")
    found = spans(replica, user_id, start, end, filters=filters, exclude_sources=exclude_sources, sync=sync)
    return [(a, b) for a, b in found if b - a >= min_seconds]


def per_day(sessions: Sequence[Session], days: Sequence[tuple[float, float]]) -> list[tuple[float, int, float]]:
    """For each day window [lo, hi): (focus seconds in it, sessions starting in it, longest such session)."""
    result = []
    for lo, hi in days:
        seconds = sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in sessions)
        starting = [b - a for a, b in sessions if lo <= a < hi]
        result.append((seconds, len(starting), max(starting, default=0.0)))
    return result
