"""Analytics: the DuckDB replica of SQLite's heartbeats and every coding-time figure (the one duration rule).

Public API (other layers import from here):
- Replica(store, settings, path=None, progress=None): sync() before reads (queries do it for you),
  rebuild(progress), run(fn) / reading() for a DuckDB cursor, health(), close().
- queries: summarize, daily_series, spans, project_first_last, all_time_total, best_day, hour_weekday_matrix,
  project_day_matrix, daily_totals_all_users, window_totals_all_users, replica_users.
- timezones: day_window, day_windows, local_date.
"""

from hackatime_lite.analytics.durations import DEFAULT_EXCLUDED_SOURCES, DIMENSIONS
from hackatime_lite.analytics.queries import (
    DaySummary,
    ReplicaUser,
    Summary,
    all_time_total,
    best_day,
    daily_series,
    daily_totals_all_users,
    hour_weekday_matrix,
    project_day_matrix,
    project_first_last,
    replica_users,
    spans,
    summarize,
    window_totals_all_users,
)
from hackatime_lite.analytics.replica import Replica, ReplicaError, SyncResult
from hackatime_lite.analytics.timezones import day_window, day_windows, local_date

__all__ = [
    "DEFAULT_EXCLUDED_SOURCES", "DIMENSIONS", "AnalyticsError", "DaySummary", "Replica", "ReplicaError",
    "ReplicaUser", "Summary", "SyncResult",
    "all_time_total", "best_day", "daily_series", "daily_totals_all_users", "day_window", "day_windows",
    "hour_weekday_matrix", "local_date", "project_day_matrix", "project_first_last", "replica_users", "spans",
    "summarize", "window_totals_all_users",
]
