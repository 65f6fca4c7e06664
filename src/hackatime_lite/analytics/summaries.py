"""One user's coding time in one window: the total with breakdowns (summarize), all-time figures, and the
first and last heartbeat per project. Each calls `replica.sync()` first unless sync=False."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import duckdb
import msgspec

from hackatime_lite.analytics import rollup_reads
from hackatime_lite.analytics.breakdowns import (
    Breakdown,
    breakdown_columns,
    combos_sql,
    rollup_sql,
    sorted_breakdown,
)
from hackatime_lite.analytics.durations import (
    DEFAULT_EXCLUDED_SOURCES,
    check_dimensions,
    dimension_column,
    excluded_sources_sql,
)
from hackatime_lite.analytics.query_base import Filters, window_of
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.models import DurationRule

DEFAULT_DIMENSIONS: tuple[str, ...] = ("project", "language", "editor", "operating_system", "machine", "category")
# Only rows with dependencies are unnested (a projection UNNEST, not a lateral join: ≈ 30× faster).
_DEPENDENCY_ROWS = ("SELECT {k}, value, SUM(seconds) FROM (SELECT UNNEST(dependencies) AS value, seconds "
                    "FROM picked WHERE len(dependencies) > 0) GROUP BY value")


class Summary(msgspec.Struct, frozen=True):
    """Coding time in [start, end) (None: unbounded) with breakdowns {dimension: [(name, seconds)]}."""

    start: float | None
    end: float | None
    total_seconds: float
    breakdowns: dict[str, Breakdown]


def summarize(replica: Replica, user_id: int, start: float | None, end: float | None, *,
              filters: Filters | None = None, dimensions: Sequence[str] = DEFAULT_DIMENSIONS,
              exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES, sync: bool = True,
              rule: DurationRule | None = None, cached: bool = False) -> Summary:
    """Total coding time in [start, end) and a breakdown per dimension (seconds desc, then name).
    `rule` (a DurationRule) computes as if the user had that rule (a preview before saving it).

    `cached` (the status bar's today): the answer may come from Replica.cached_read, which drops it as soon
    as a sync changes this user's rows or any user's settings — never a stale number after a write."""
    dims = tuple(dict.fromkeys(check_dimensions(dimensions)))
    exclude_sources = tuple(exclude_sources)
    if cached and rule is None and sorted(set(exclude_sources)) == sorted(DEFAULT_EXCLUDED_SOURCES):
        if sync:
            replica.sync()  # before the version is taken: this read counts every heartbeat stored so far
        key = ("summarize", start, end, dims, tuple(sorted((k, tuple(v)) for k, v in (filters or {}).items())))
        return replica.cached_read(user_id, key, lambda: summarize(
            replica, user_id, start, end, filters=filters, dimensions=dims, sync=False))
    columns, dependency = breakdown_columns(dims)
    # A window without a whole local day (today so far, the last hour) is all edge: the raw path is cheaper.
    if start is not None and end is not None and end >= start and rollup_reads.usable(
            replica, dims, filters, exclude_sources, rule) and rollup_reads.has_whole_days(
            replica.user_zone(user_id), start, end):
        return replica.run(lambda cursor: _summary_from_rollups(cursor, replica, user_id, start, end, filters,
                                                                dims), sync=sync)
    window = window_of(replica, user_id, start, end, filters, exclude_sources, rule)
    picked = ", ".join([c for _, c in columns] + (["dependencies"] if dependency else []) + ["seconds"])
    # Two consumers when dependencies are asked for: computing the intervals once is cheaper.
    materialized = "MATERIALIZED " if dependency else ""
    sql = (f"WITH {window.cte},\npicked AS {materialized}(SELECT {picked} FROM intervals WHERE seconds > 0 "
           f"AND {window.filter_sql}),\n"
           f"combos AS ({combos_sql('picked', columns, 'SUM(seconds) AS seconds')})\n"
           + rollup_sql("combos", columns))
    if dependency:
        sql += "\nUNION ALL " + _DEPENDENCY_ROWS.format(k=dependency)

    def query(cursor: duckdb.DuckDBPyConnection) -> list[tuple[int, str | None, float | None]]:
        return cursor.execute(sql, window.params).fetchall()

    return _summary(start, end, dims, replica.run(query, sync=sync))


def _summary_from_rollups(cursor: duckdb.DuckDBPyConnection, replica: Replica, user_id: int, start: float,
                          end: float, filters: Filters | None, dims: tuple[str, ...]) -> Summary:
    """summarize with whole local days from the rollups (rollup_reads). The few (dimension values, seconds)
    combinations come from DuckDB; the per-dimension sums are made here (cheaper than GROUPING SETS)."""
    names = [dimension_column(d) for d in dims]
    group = ", ".join(names)

    def build(zones: list[str]) -> tuple[str, dict[str, object]]:
        picked, params = rollup_reads.user_picked_sql(replica, user_id, zones[0], start, end, filters)
        sql = (f"WITH {picked}\nSELECT 0, NULL::VARCHAR, {group + ', ' if names else ''}SUM(seconds) FROM picked"
               + (f" GROUP BY {group}" if names else ""))
        return sql, params

    rows = rollup_reads.checked(cursor, [replica.user_zone(user_id)], build,
                                rollup_reads.zone_rows_sql(len(names) + 1, one_user=True), one_user=True)
    total = 0.0
    sums: list[dict[str | None, float]] = [defaultdict(float) for _ in dims]
    for row in rows:
        seconds = float(row[-1] or 0.0)
        total += seconds
        for index, value in enumerate(row[2:-1]):
            sums[index][value] += seconds
    return Summary(start=start, end=end, total_seconds=total,
                   breakdowns={d: sorted_breakdown(sums[i].items()) for i, d in enumerate(dims)})


def _summary(start: float | None, end: float | None, dims: tuple[str, ...],
             rows: list[tuple[int, str | None, float | None]]) -> Summary:
    total = 0.0
    pairs: dict[int, list[tuple[str | None, float]]] = {k: [] for k in range(1, len(dims) + 1)}
    for k, name, seconds in rows:
        if k == 0:
            total = float(seconds or 0.0)
        else:
            pairs[k].append((name, float(seconds or 0.0)))
    return Summary(start=start, end=end, total_seconds=total,
                   breakdowns={d: sorted_breakdown(pairs[k]) for k, d in enumerate(dims, start=1)})


def project_first_last(replica: Replica, user_id: int, *,
                       exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES,
                       sync: bool = True) -> list[tuple[str | None, float, float, float]]:
    """(project, first heartbeat time, last heartbeat time, all-time seconds) per project, newest first."""
    window = window_of(replica, user_id, None, None, None, exclude_sources)
    sql = (f"WITH {window.cte}\nSELECT project, MIN(time), MAX(time), SUM(seconds) FROM intervals "
           "GROUP BY project ORDER BY 3 DESC, 1")
    rows = replica.run(lambda cursor: cursor.execute(sql, window.params).fetchall(), sync=sync)
    return [(project, float(first), float(last), float(total)) for project, first, last, total in rows]


def all_time_total(replica: Replica, user_id: int, *, filters: Filters | None = None,
                   exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES,
                   sync: bool = True) -> tuple[float, float | None, float | None]:
    """(all-time seconds, first heartbeat time, last heartbeat time) of the heartbeats matching filters."""
    window = window_of(replica, user_id, None, None, filters, exclude_sources)
    sql = (f"WITH {window.cte}\nSELECT COALESCE(SUM(seconds), 0), MIN(time), MAX(time) FROM intervals "
           f"WHERE {window.filter_sql}")
    row = replica.run(lambda cursor: cursor.execute(sql, window.params).fetchone(), sync=sync)
    total, first, last = row if row is not None else (0.0, None, None)  # an aggregate always has one row
    return float(total), first, last


def first_heartbeat_time(replica: Replica, user_id: int, *,
                         exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES, sync: bool = True) -> float | None:
    """The time of the user's first heartbeat in their stream (the `first` of all_time_total without filters),
    read from the time column alone instead of computing every interval."""
    # With no sources to exclude the fragment is FALSE: every heartbeat of the user counts.
    excluded, params = excluded_sources_sql("source", exclude_sources)
    sql = f"SELECT MIN(time) FROM heartbeats WHERE user_id = $user_id AND NOT ({excluded})"
    row = replica.run(lambda cursor: cursor.execute(sql, {"user_id": int(user_id), **params}).fetchone(), sync=sync)
    first = row[0] if row is not None else None
    return float(first) if first is not None else None
