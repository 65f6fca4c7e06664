"""What every query module shares: the filter shape, argument checks, and one query's intervals
(durations.intervals_cte) under the replica's server defaults.

Times are epoch seconds; windows are [start, end). Breakdown names are the stored values, None for a missing
one (callers render it, e.g. as "Unknown"). Heartbeats from `exclude_sources` (default: 'test', sent by
`doctor`) are left out of the stream entirely. Filters are {dimension: allowed values}; see
durations.filter_sql for how None/"" match missing values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from hackatime_lite.analytics import timezones
from hackatime_lite.analytics.durations import AnalyticsError, Window, intervals_cte
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.models import DurationRule

Filters = Mapping[str, Iterable[str | None]]
ONE_DAY = dt.timedelta(days=1)


def window_of(replica: Replica, user_id: int | None, start: float | None, end: float | None,
              filters: Filters | None, exclude_sources: Iterable[str], rule: DurationRule | None = None) -> Window:
    """The intervals of one query (every user when user_id is None) with the replica's server defaults."""
    return intervals_cte(user_id=user_id, start=start, end=end,
                         default_timeout=replica.settings.default_timeout,
                         default_mode=replica.settings.default_mode,
                         filters=filters, exclude_sources=exclude_sources, rule=rule)


def check_dates(start_date: dt.date, end_date: dt.date) -> None:
    if end_date < start_date:
        raise AnalyticsError("end date is before start date")


def check_tz(tz: str) -> str:
    try:
        timezones.zone(tz)
    except (KeyError, ValueError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise AnalyticsError(f"unknown time zone: {tz!r}") from exc
    return tz

