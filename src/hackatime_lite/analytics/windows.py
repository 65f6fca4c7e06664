"""Attributing intervals to many windows at once (local days, local hours): the SQL strategies that split
each interval's seconds among the windows it overlaps, so days add up exactly to the whole range.

Two strategies, chosen by the windows' shape:
- placed_sql: evenly spaced windows (local days) — each interval's window index is computed, no join;
- grouped_by_window: any windows, per zone (hours, days in several zones) — an equi-join on quarter-hour
  buckets when every boundary is on a quarter hour, else a range join.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

import duckdb

from hackatime_lite.analytics import timezones
from hackatime_lite.analytics.durations import MAX_TIMEOUT, Window, breakdown_source, in_list_sql

# Not query_base's: that imports the replica, which computes its rollups with this module.
ONE_DAY = dt.timedelta(days=1)
# (zone, idx, start, end): one window of a grouped_by_window query.
WindowRow = tuple[str, int, float, float]
_BUCKET = 900  # seconds: every UTC offset in use is a multiple of a quarter hour
# `intervals` columns carried into the split rows; "zone" is the interval's zone as its position in $zones.
_CARRIED_COLUMNS = ("user_id", "zone", "cs", "ce", "project", "language", "editor", "operating_system", "machine",
                    "branch", "category", "entity", '"type"', "dependencies")
_WINS_CTE = """wins AS (SELECT UNNEST($w_zone) AS w_zone, UNNEST($w_idx) AS idx, UNNEST($w_start) AS w_start,
                UNNEST($w_end) AS w_end)"""
# Interval → windows when an interval reaches at most the next window and boundaries are on quarter hours.
_BUCKETED_SPLIT = f"""buckets AS (
    SELECT w_zone, idx, w_start, w_end,
           UNNEST(range(floor(w_start / {_BUCKET})::BIGINT, ceil(w_end / {_BUCKET})::BIGINT)) AS bucket
    FROM wins
),
pieces AS (
    SELECT p.*, b.idx, b.w_end FROM picked p
    JOIN buckets b ON p.zone = b.w_zone AND floor(p.cs / {_BUCKET})::BIGINT = b.bucket
    WHERE p.cs >= b.w_start AND p.cs < b.w_end
),
split_raw AS (
    SELECT * EXCLUDE (w_end), LEAST(ce, w_end) - cs AS part FROM pieces
    UNION ALL
    SELECT * EXCLUDE (w_end) REPLACE (idx + 1 AS idx), ce - w_end AS part FROM pieces WHERE ce > w_end
),
split AS (SELECT * FROM split_raw WHERE part > 0)"""
# Interval → windows in general: a range join.
_RANGE_SPLIT = """split AS (
    SELECT p.*, w.idx, LEAST(p.ce, w.w_end) - GREATEST(p.cs, w.w_start) AS part
    FROM picked p JOIN wins w ON p.zone = w.w_zone AND p.cs < w.w_end AND p.ce > w.w_start
)"""


def day_rows(tz: str, start_date: dt.date, end_date: dt.date) -> list[WindowRow]:
    """Day windows with idx -1 .. n (one spare day each side absorbs intervals from outside the range)."""
    days = timezones.day_windows(tz, start_date - ONE_DAY, end_date + ONE_DAY)
    return [(tz, i - 1, start, end) for i, (_, start, end) in enumerate(days)]


def windowed_cte(window: Window, windows: Sequence[WindowRow], *, zone: str | None) -> tuple[str, dict[str, Any]]:
    """CTE text (after the intervals CTE) defining `split(…, idx, part)`: each picked interval's seconds in
    each window it overlaps, and the query's parameters. `windows` are contiguous per zone with consecutive
    idx. `zone` puts every interval in that zone; None puts each in its user's zone, where a zone not among
    the windows' counts as UTC (which must then be among them).

    Fast path: when windows after the first of their zone are at least MAX_TIMEOUT long, an interval touches
    at most two consecutive windows; and when every boundary between windows falls on a quarter hour (true
    for local midnights and hours in every current zone: offsets are multiples of 15 minutes), the window
    holding an interval's start is found by an equi-join on (zone, quarter-hour bucket) and any remainder
    goes to idx + 1. Otherwise a plain range join is used.
    """
    zones = sorted({w[0] for w in windows})
    # Zones are joined as small integers (their position in this list): hashing strings per row is slower.
    params = window.with_params(
        zones=zones, w_zone=[zones.index(w[0]) + 1 for w in windows], w_idx=[w[1] for w in windows],
        w_start=[w[2] for w in windows], w_end=[w[3] for w in windows],
    )
    if zone is None:
        known, known_params = in_list_sql("tz", "known_zone", zones)
        zone_sql = f"list_position($zones, CASE WHEN {known} THEN tz ELSE 'UTC' END)"
        params.update(known_params)
    else:
        zone_sql = "list_position($zones, $zone)"
        params["zone"] = zone
    firsts: dict[str, int] = {}
    for tz, idx, _, _ in windows:
        firsts[tz] = min(idx, firsts.get(tz, idx))
    interior = [(start, end) for tz, idx, start, end in windows if idx != firsts[tz]]
    bucketed = all(end - start >= MAX_TIMEOUT and start % _BUCKET == 0 for start, end in interior)
    columns = ", ".join(f"{zone_sql} AS zone" if c == "zone" else c for c in _CARRIED_COLUMNS)
    picked = f"picked AS (SELECT {columns} FROM intervals WHERE seconds > 0 AND {window.filter_sql})"
    return ",\n".join(["", picked, _WINS_CTE, _BUCKETED_SPLIT if bucketed else _RANGE_SPLIT]), params


def grouped_by_window(cursor: duckdb.DuckDBPyConnection, window: Window, windows: Sequence[WindowRow],
                      dimensions: Sequence[str], *, zone: str | None, lo: int | None = None,
                      hi: int | None = None) -> dict[str, list[tuple[int, int, str | None, float]]]:
    """{"": [(user_id, idx, None, seconds)], dim: [(user_id, idx, name, seconds)]}; idx limited to [lo, hi].
    `zone` as in windowed_cte."""
    split, params = windowed_cte(window, windows, zone=zone)
    keep = "TRUE"
    if lo is not None and hi is not None:
        keep = "idx BETWEEN $idx_lo AND $idx_hi"
        params.update(idx_lo=lo, idx_hi=hi)
    # k = 0: the totals; k = i: the breakdown by dimensions[i - 1].
    selects = ["SELECT 0 AS k, user_id, idx, NULL::VARCHAR AS name, SUM(part) FROM kept GROUP BY ALL"]
    for k, dim in enumerate(dimensions, start=1):
        suffix, expr = breakdown_source(dim)
        selects.append(f"SELECT {k}, user_id, idx, {expr}, SUM(part) FROM kept{suffix} GROUP BY ALL")
    sql = (f"WITH {window.cte}{split},\nkept AS MATERIALIZED (SELECT * FROM split WHERE {keep})\n"
           + "\nUNION ALL ".join(selects))
    names = ["", *dimensions]
    grouped: dict[str, list[tuple[int, int, str | None, float]]] = {name: [] for name in names}
    for k, user_id, idx, name, seconds in cursor.execute(sql, params).fetchall():
        grouped[names[k]].append((user_id, idx, name, seconds))
    return grouped


def evenly_spaced(starts: Sequence[float], length: float) -> bool:
    """Whether `starts` (window starts plus the last end) allow placed_sql: the i-th start is within one
    `length` of start + i·length (so a guessed index is off by at most one), and every window after the first
    is at least MAX_TIMEOUT long (so an interval reaches at most into the next window). True for local days
    in every zone unless a date line jump falls in the range."""
    first = starts[0]
    return (all(abs(s - first - i * length) <= length for i, s in enumerate(starts))
            and all(b - a >= MAX_TIMEOUT for a, b in itertools.pairwise(starts[1:])))


def placed_sql(source: str, length: float, *, materialize: bool = False) -> str:
    """CTEs ending in `parts`: rows of `source` (cs, ce inside [$starts[1], $starts[-1])) with `idx` (0-based
    window holding cs), `head` (seconds in that window) and `tail` (seconds in window idx + 1). The index is
    guessed from the nominal window length and corrected by one against the neighbouring starts: no join, one
    scan. `materialize` computes `parts` once for several consumers."""
    guess = f"GREATEST(0, LEAST($last_idx, floor((cs - $starts[1]) / {float(length)})::INTEGER))"
    parts = "parts AS MATERIALIZED" if materialize else "parts AS"
    return f"""guessed AS (SELECT *, {guess} AS g FROM {source}),
placed AS (
    SELECT * EXCLUDE (g), g + (cs >= $starts[g + 2])::INTEGER - (cs < $starts[g + 1])::INTEGER AS idx FROM guessed
),
{parts} (
    SELECT * EXCLUDE (cs, ce), LEAST(ce, $starts[idx + 2]) - cs AS head,
           GREATEST(ce - $starts[idx + 2], 0.0) AS tail
    FROM placed
)"""
