"""One user's coding time per local day: days in the chosen zone (23, 24 or 25 h long) that add up exactly
to the range."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

import duckdb
import msgspec

from hackatime_lite.analytics import rollup_reads, timezones, user_rows
from hackatime_lite.analytics.breakdowns import (
    Breakdown,
    breakdown_columns,
    combos_sql,
    rollup_sql,
    sorted_breakdown,
)
from hackatime_lite.analytics.durations import (
    DEFAULT_EXCLUDED_SOURCES,
    Window,
    check_dimensions,
    dimension_column,
    filter_sql,
)
from hackatime_lite.analytics.query_base import Filters, check_dates, check_tz, window_of
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.analytics.replica_rollups import zone_of
from hackatime_lite.analytics.windows import day_rows, evenly_spaced, grouped_by_window, placed_sql

_DAY = 86400
# The dependency breakdown per day: each interval's head and tail credited to every dependency it has.
_DEPENDENCY_COMBOS = """dep_combos AS (
    SELECT idx, value, SUM(head) AS head, SUM(tail) AS tail
    FROM (SELECT idx, UNNEST(dependencies) AS value, head, tail FROM parts WHERE len(dependencies) > 0)
    GROUP BY idx, value
)"""
_DEPENDENCY_ROWS = """SELECT {k}, idx, value, SUM(seconds) FROM (
    SELECT idx, value, head AS seconds FROM dep_combos
    UNION ALL SELECT idx + 1, value, tail FROM dep_combos WHERE tail > 0
) GROUP BY idx, value"""


def _days_from_rollups(cursor: duckdb.DuckDBPyConnection, user_id: int, start_date: dt.date, end_date: dt.date,
                       tz: str, filters: Filters | None,
                       dims: Sequence[str]) -> list[tuple[int, int, str | None, float]] | None:
    """(k, day index, name, seconds) as _daily_series_scan, read from the rollups; None when `tz` is not the
    zone the user's rollups are kept in (checked in the same statement; the raw path answers then)."""
    names = [dimension_column(d) for d in dims]
    params: dict[str, object] = {"user_id": int(user_id), "first": start_date, "last": end_date}
    where = filter_sql(filters, params)
    group = "".join(f", {name}" for name in names)
    sql = (f"SELECT 0, NULL::VARCHAR, (day - $first::DATE)::INTEGER AS idx{group}, SUM(seconds) FROM rollups "
           f"WHERE user_id = $user_id AND day BETWEEN $first::DATE AND $last::DATE AND {where} GROUP BY ALL\n"
           f"UNION ALL {rollup_reads.zone_rows_sql(len(names) + 2, one_user=True)}")
    rows = cursor.execute(sql, params).fetchall()
    zone = next((zone_of(row[1]) for row in rows if row[0] == 1), "UTC")
    if zone != tz:
        return None
    totals: dict[int, float] = defaultdict(float)
    sums: dict[tuple[int, int, str | None], float] = defaultdict(float)
    for row in rows:
        if row[0] != 0:
            continue
        idx, seconds = row[2], float(row[-1])
        totals[idx] += seconds
        for k, value in enumerate(row[3:-1], start=1):
            sums[(k, idx, value)] += seconds
    return ([(0, idx, None, seconds) for idx, seconds in totals.items()]
            + [(k, idx, value, seconds) for (k, idx, value), seconds in sums.items()])


class DaySummary(msgspec.Struct, frozen=True):
    """One local date: its [start, end) window (23/24/25 h long) and the time counted in it."""

    date: dt.date
    start: float
    end: float
    total_seconds: float
    breakdowns: dict[str, Breakdown]


def _daily_series_scan(cursor: duckdb.DuckDBPyConnection, window: Window, starts: Sequence[float],
                       dims: Sequence[str]) -> list[tuple[int, int, str | None, float]]:
    """(k, day index, name, seconds) as in breakdowns.rollup_sql, for windows that pass evenly_spaced (days)."""
    columns, dependency = breakdown_columns(dims)
    picked = ", ".join([c for _, c in columns] + (["dependencies"] if dependency else []) + ["cs", "ce"])
    names = ", ".join(c for _, c in columns)
    cols = f"{names}, " if names else ""
    ctes = [
        f"picked AS (SELECT {picked} FROM intervals WHERE seconds > 0 AND {window.filter_sql})",
        # Two consumers of `parts` when dependencies are asked for: compute it once.
        placed_sql("picked", _DAY, materialize=bool(dependency)),
        *([_DEPENDENCY_COMBOS] if dependency else []),
        f"combos AS ({combos_sql('parts', columns, 'SUM(head) AS head, SUM(tail) AS tail', key='idx')})",
        f"""shifted AS (
    SELECT idx, {cols}head AS seconds FROM combos
    UNION ALL SELECT idx + 1, {cols}tail FROM combos WHERE tail > 0
)""",
    ]
    sql = f"WITH {window.cte},\n" + ",\n".join(ctes) + "\n" + rollup_sql("shifted", columns, key="idx")
    if dependency:
        sql += "\nUNION ALL " + _DEPENDENCY_ROWS.format(k=dependency)
    params = window.with_params(starts=list(starts), last_idx=len(starts) - 2)
    return cursor.execute(sql, params).fetchall()


def daily_series(replica: Replica, user_id: int, start_date: dt.date, end_date: dt.date, tz: str, *,
                 filters: Filters | None = None, dimensions: Sequence[str] = (),
                 exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES, sync: bool = True) -> list[DaySummary]:
    """One DaySummary per local date in tz from start_date to end_date inclusive (zero days included)."""
    check_dates(start_date, end_date)
    dims = tuple(dict.fromkeys(check_dimensions(dimensions)))
    check_tz(tz)
    days = timezones.day_windows(tz, start_date, end_date)
    totals: dict[int, float] = {}
    per_day: dict[str, dict[int, list[tuple[str | None, float]]]] = {d: {} for d in dims}
    starts = [start for _, start, _ in days] + [days[-1][2]]
    if user_rows.usable(dims, filters, exclude_sources, None):
        entry = replica.user_rows(user_id, sync=sync)
        if entry is not None:
            matrix = user_rows.window_combo_seconds(entry, starts)  # local days: each ≥ 23 h
            day_totals, found = user_rows.breakdowns(entry, matrix, dims, user_rows.allowed(entry, filters))
            return [DaySummary(date=day, start=start, end=end, total_seconds=float(day_totals[i]),
                               breakdowns={d: found[d][i] for d in dims})  # sorted already
                    for i, (day, start, end) in enumerate(days)]
        sync = False  # synced by user_rows
    rolled = None
    if rollup_reads.usable(replica, dims, filters, exclude_sources) and replica.user_zone(user_id) == tz:
        rolled = replica.run(lambda cursor: _days_from_rollups(cursor, user_id, start_date, end_date, tz, filters,
                                                                dims), sync=sync)
        sync = False  # synced just now (the raw path answers when tz is not the user's zone)
    window = window_of(replica, user_id, days[0][1], days[-1][2], filters, exclude_sources)
    if rolled is not None:
        for k, idx, name, seconds in rolled:
            if k == 0:
                totals[idx] = seconds
            elif seconds > 0:
                per_day[dims[k - 1]].setdefault(idx, []).append((name, seconds))
    elif evenly_spaced(starts, _DAY):
        rows = replica.run(lambda cursor: _daily_series_scan(cursor, window, starts, dims), sync=sync)
        for k, idx, name, seconds in rows:
            if k == 0:
                totals[idx] = seconds
            elif seconds > 0:
                per_day[dims[k - 1]].setdefault(idx, []).append((name, seconds))
    else:
        grouped = replica.run(lambda cursor: grouped_by_window(
            cursor, window, day_rows(tz, start_date, end_date), dims, zone=tz, lo=0, hi=len(days) - 1), sync=sync)
        totals = {idx: seconds for _, idx, _, seconds in grouped[""]}
        for dim in dims:
            for _, idx, name, seconds in grouped[dim]:
                per_day[dim].setdefault(idx, []).append((name, seconds))
    return [DaySummary(date=day, start=start, end=end, total_seconds=float(totals.get(i, 0.0)),
                       breakdowns={d: sorted_breakdown(per_day[d].get(i, [])) for d in dims})
            for i, (day, start, end) in enumerate(days)]

