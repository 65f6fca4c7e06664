"""One user's coding time as matrices: local weekday × hour, and project × local day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from hackatime_lite.analytics import timezones
from hackatime_lite.analytics.daily import daily_series
from hackatime_lite.analytics.durations import DEFAULT_EXCLUDED_SOURCES
from hackatime_lite.analytics.query_base import Filters, check_tz, window_of
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.analytics.windows import grouped_by_window


def hour_weekday_matrix(replica: Replica, user_id: int, start: float, end: float, tz: str, *,
                        filters: Filters | None = None,
                        exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES,
                        sync: bool = True) -> list[list[float]]:
    """matrix[weekday][hour] (Monday = 0, local hours in tz) of coding seconds in [start, end)."""
    check_tz(tz)
    hours = timezones.hour_windows(tz, start, end)
    matrix = [[0.0] * 24 for _ in range(7)]
    if not hours:
        return matrix
    window = window_of(replica, user_id, start, end, filters, exclude_sources)
    rows = [(tz, i, w_start, w_end) for i, (_, _, w_start, w_end) in enumerate(hours)]
    grouped = replica.run(lambda cursor: grouped_by_window(cursor, window, rows, (), zone=tz), sync=sync)
    for _, idx, _, seconds in grouped[""]:
        weekday, hour = hours[idx][0], hours[idx][1]
        matrix[weekday][hour] += float(seconds)
    return matrix


def project_day_matrix(replica: Replica, user_id: int, start_date: dt.date, end_date: dt.date, tz: str, *,
                       projects: Iterable[str | None] | None = None,
                       exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES,
                       sync: bool = True) -> dict[str | None, dict[dt.date, float]]:
    """{project: {local date: seconds}} with only non-zero cells; `projects` limits which projects count."""
    days = daily_series(replica, user_id, start_date, end_date, tz,
                        filters={"project": list(projects)} if projects is not None else None,
                        dimensions=("project",), exclude_sources=exclude_sources, sync=sync)
    matrix: dict[str | None, dict[dt.date, float]] = {}
    for day in days:
        for project, seconds in day.breakdowns["project"]:
            if seconds > 0:
                matrix.setdefault(project, {})[day.date] = seconds
    return matrix
