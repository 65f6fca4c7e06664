"""The coding-time queries, one import for the layers above (`queries.summarize(…)`). Each calls
`replica.sync()` first unless sync=False; conventions (windows, names, filters) are in query_base.

Each query lives with its strategy: summaries (one window), daily (per local day), spans, matrices,
all_users (everyone at once, for leaderboards and streaks).
"""

from hackatime_lite.analytics.all_users import (
    ReplicaUser,
    daily_totals_all_users,
    replica_users,
    window_totals_all_users,
)
from hackatime_lite.analytics.daily import DaySummary, daily_series
from hackatime_lite.analytics.matrices import hour_weekday_matrix, project_day_matrix
from hackatime_lite.analytics.spans import spans
from hackatime_lite.analytics.summaries import (
    DEFAULT_DIMENSIONS,
    Summary,
    all_time_total,
    first_heartbeat_time,
    project_first_last,
    summarize,
)

__all__ = [
    "DEFAULT_DIMENSIONS", "DaySummary", "ReplicaUser", "Summary", "all_time_total", "daily_series",
    "daily_totals_all_users", "first_heartbeat_time", "hour_weekday_matrix", "project_day_matrix",
    "project_first_last", "replica_users", "spans", "summarize", "window_totals_all_users",
]
