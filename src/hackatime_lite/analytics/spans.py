"""One user's spans: maximal runs of coding in a window, intervals merged across gaps up to `min_gap`."""

from __future__ import annotations

from collections.abc import Iterable

from hackatime_lite.analytics.durations import DEFAULT_EXCLUDED_SOURCES, AnalyticsError
from hackatime_lite.analytics.query_base import Filters, window_of
from hackatime_lite.analytics.replica import Replica

# A run opens where an interval starts more than $min_gap after every earlier one has ended.
_SPANS = """picked AS (SELECT cs, ce FROM intervals WHERE seconds > 0 AND {filter_sql}),
marked AS (
    SELECT cs, ce,
           CASE WHEN cs - MAX(ce) OVER (ORDER BY cs, ce ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                     > $min_gap THEN 1 ELSE 0 END AS opens
    FROM picked
),
grouped AS (SELECT cs, ce, SUM(opens) OVER (ORDER BY cs, ce ROWS UNBOUNDED PRECEDING) AS grp FROM marked)
SELECT MIN(cs), MAX(ce) FROM grouped GROUP BY grp ORDER BY 1"""


def spans(replica: Replica, user_id: int, start: float | None, end: float | None, *, min_gap: float = 0.0,
          filters: Filters | None = None, exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES,
          sync: bool = True) -> list[tuple[float, float]]:
    """Maximal runs of coding in [start, end): intervals merge when the gap between them is ≤ min_gap."""
    if min_gap < 0:
        raise AnalyticsError("min_gap must not be negative")
    window = window_of(replica, user_id, start, end, filters, exclude_sources)
    sql = f"WITH {window.cte},\n" + _SPANS.format(filter_sql=window.filter_sql)
    rows = replica.run(lambda cursor: cursor.execute(sql, window.with_params(min_gap=float(min_gap))).fetchall(),
                       sync=sync)
    return [(float(a), float(b)) for a, b in rows]
