"""One user's coding time in one window: the total with breakdowns (summarize), all-time figures, and the
first and last heartbeat per project. Each calls `replica.sync()` first unless sync=False."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

import duckdb
import msgspec

from hackatime_lite.analytics import rollup_reads, user_rows
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
    filter_sql,
)
from hackatime_lite.analytics.query_base import Filters, window_of
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.analytics.replica_rollups import zone_of
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
              rule: DurationRule | None = None) -> Summary:
    """Total coding time in [start, end) and a breakdown per dimension (seconds desc, then name).
    `rule` (a DurationRule) computes as if the user had that rule (a preview before saving it). Whole reports
    built on it are cached per user by reports.cached_report (Replica.cached_read)."""
    dims = tuple(dict.fromkeys(check_dimensions(dimensions)))
    exclude_sources = tuple(exclude_sources)
    if start is not None and end is not None and end >= start and user_rows.usable(
            dims, filters, exclude_sources, rule):
        entry = replica.user_rows(user_id, sync=sync)
        if entry is not None:
            return _summary_from_memory(entry, start, end, filters, dims)
        sync = False  # synced by user_rows
    columns, dependency = breakdown_columns(dims)
    # A window without a whole local day (today so far, the last hour) is all edge: the same flat read
    # without rollup rows (the status bar's case).
    if start is not None and end is not None and end >= start and rollup_reads.usable(
            replica, dims, filters, exclude_sources, rule):
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


def _summary_from_memory(entry: user_rows.UserRows, start: float, end: float, filters: Filters | None,
                         dims: tuple[str, ...]) -> Summary:
    seconds = user_rows.window_combo_seconds(entry, (start, end))
    totals, found = user_rows.breakdowns(entry, seconds, dims, user_rows.allowed(entry, filters))
    return Summary(start=start, end=end, total_seconds=float(totals[0]),
                   breakdowns={d: found[d][0] for d in dims})  # sorted already


def _summary_from_rollups(cursor: duckdb.DuckDBPyConnection, replica: Replica, user_id: int, start: float,
                          end: float, filters: Filters | None, dims: tuple[str, ...]) -> Summary:
    """summarize with whole local days from the rollups and the edges from raw rows (rollup_reads); a window
    without a whole local day is all edge.

    One flat statement, no aggregation in SQL: the whole days' rollup rows, the edge heartbeats (time, stored
    gap) and the user's zone and rule, all from one snapshot; the edges' intervals are clipped and everything
    summed here. Planning a DuckDB statement costs more than these few hundred rows (a CTE chain with
    GROUP BY measured ≈ 2× the CPU of this). The zone the days were taken in is checked against the users row
    of the same snapshot, and the read is made again in that zone if a sync changed it meanwhile."""
    names = [dimension_column(d) for d in dims]
    zone = replica.user_zone(user_id)
    default_timeout, default_mode = replica.settings.default_timeout, replica.settings.default_mode
    for _ in range(3):
        split = rollup_reads.split_window(zone, start, end)
        params: dict[str, object] = {"user_id": int(user_id), "first_day": split.first, "last_day": split.last}
        where = filter_sql(filters, params)
        picked = "".join(f", {name}" for name in names)
        # Column types come from the first part (the users row: NULL seconds and dimension values).
        parts = [f"SELECT 2 AS k, timezone AS tz, duration_mode AS mode, timeout, NULL::DOUBLE AS t, "
                 f"NULL::DOUBLE AS g, NULL::DOUBLE AS seconds{''.join(f', NULL::VARCHAR AS {n}' for n in names)} "
                 "FROM users WHERE id = $user_id"]
        if split.first <= split.last:  # whole local days: from the rollups
            parts.append(f"""SELECT 0, NULL, NULL, NULL, NULL, NULL, seconds{picked} FROM rollups
                 WHERE user_id = $user_id AND day BETWEEN DATE '1970-01-01' + $first_day::INTEGER
                                                      AND DATE '1970-01-01' + $last_day::INTEGER AND {where}""")
        if not (split.m1 == start and split.m2 == end):
            ranges = []
            for index, (lo, hi) in enumerate(rollup_reads.edge_ranges(start, end, [split])):
                params[f"range_lo_{index}"], params[f"range_hi_{index}"] = float(lo), float(hi)
                ranges.append(f"(time >= $range_lo_{index} AND time < $range_hi_{index})")
            # Rows with a NULL stored gap count nothing: each user's last row, and excluded sources.
            parts.append(f"""SELECT 1, NULL, NULL, NULL, time, gap, NULL{picked} FROM heartbeats
                 WHERE user_id = $user_id AND ({" OR ".join(ranges)}) AND gap IS NOT NULL AND {where}""")
        sql = "\nUNION ALL ".join(parts)
        # DuckDB refuses parameters the statement does not use (the parts above are optional).
        rows = cursor.execute(sql, {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}).fetchall()
        users = [row for row in rows if row[0] == 2]
        seen = zone_of(users[0][1]) if users else "UTC"
        if seen == zone:
            break
        zone = seen
    else:
        raise RuntimeError("time zones kept changing during one read")  # three zone changes within one read
    mode = (users[0][2] if users else None) or default_mode
    timeout = float(users[0][3] if users and users[0][3] is not None else default_timeout)
    keystroke = mode == "keystroke"
    m1, m2 = split.m1, split.m2
    total = 0.0
    sums: list[dict[str | None, float]] = [defaultdict(float) for _ in dims]
    for row in rows:
        kind = row[0]
        if kind == 0:
            seconds = float(row[6])
        elif kind == 1:
            # durations.rule_sql and rollup_reads' edge clipping, in Python (the same double arithmetic).
            t, gap = row[4], row[5]
            iv_end = t + ((gap if gap < timeout else 0.0) if keystroke else min(gap, timeout))
            seconds = max(min(iv_end, m1) - max(t, start), 0.0) + max(min(iv_end, end) - max(t, m2), 0.0)
            if seconds <= 0:
                continue
        else:
            continue
        total += seconds
        for index, value in enumerate(row[7:]):
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
