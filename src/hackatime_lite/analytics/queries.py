"""Transport-free analytics queries over the replica. Each calls `replica.sync()` first unless sync=False.

Times are epoch seconds; windows are [start, end). Breakdown names are the stored values, None for a missing
one (callers render it, e.g. as "Unknown"). Heartbeats from `exclude_sources` (default: 'test', sent by
`doctor`) are left out of the stream entirely. Filters are {dimension: allowed values}; see
durations.filter_sql for how None/"" match missing values.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb
import msgspec

from hackatime_lite.analytics import timezones
from hackatime_lite.analytics.durations import (
    DEFAULT_EXCLUDED_SOURCES,
    MAX_TIMEOUT,
    AnalyticsError,
    Window,
    breakdown_source,
    check_dimensions,
    dimension_column,
    excluded_sources_sql,
    intervals_cte,
)
from hackatime_lite.analytics.replica import Replica

Filters = Mapping[str, Iterable[str | None]]
Breakdown = list[tuple[str | None, float]]
DEFAULT_DIMENSIONS: tuple[str, ...] = ("project", "language", "editor", "operating_system", "machine", "category")
_ONE_DAY = dt.timedelta(days=1)
_BUCKET = 900  # seconds: every UTC offset in use is a multiple of a quarter hour


class Summary(msgspec.Struct, frozen=True):
    """Coding time in [start, end) (None: unbounded) with breakdowns {dimension: [(name, seconds)]}."""

    start: float | None
    end: float | None
    total_seconds: float
    breakdowns: dict[str, Breakdown]


class DaySummary(msgspec.Struct, frozen=True):
    """One local date: its [start, end) window (23/24/25 h long) and the time counted in it."""

    date: dt.date
    start: float
    end: float
    total_seconds: float
    breakdowns: dict[str, Breakdown]


class ReplicaUser(msgspec.Struct, frozen=True):
    """A user's settings as the replica sees them (timeout and mode already resolved to server defaults)."""

    id: int
    username: str | None
    timezone: str
    timeout: int
    duration_mode: str
    trust_level: str
    leaderboard_opt_out: bool
    is_disabled: bool


def _sorted_breakdown(pairs: Iterable[tuple[str | None, float]]) -> Breakdown:
    # Seconds descending, then name; a missing name sorts after every named entry with the same seconds.
    return sorted(((name, float(seconds)) for name, seconds in pairs),
                  key=lambda item: (-item[1], item[0] is None, item[0] or ""))


def _window(replica: Replica, user_id: int | None, start: float | None, end: float | None,
            filters: Filters | None, exclude_sources: Iterable[str],
            rule: tuple[str, int] | None = None) -> Window:
    return intervals_cte(user_id=user_id, start=start, end=end,
                         default_timeout=replica.settings.default_timeout,
                         default_mode=replica.settings.default_mode,
                         filters=filters, exclude_sources=exclude_sources, rule=rule)


def _check_dates(start_date: dt.date, end_date: dt.date) -> None:
    if end_date < start_date:
        raise AnalyticsError("end date is before start date")


def _check_tz(tz: str) -> str:
    try:
        timezones.zone(tz)
    except (KeyError, ValueError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise AnalyticsError(f"unknown time zone: {tz!r}") from exc
    return tz


# -- windows: attributing intervals to days / hours --------------------------------------------------
_WINDOWED_COLUMNS = ("user_id", "tz", "cs", "ce", "project", "language", "editor", "operating_system", "machine",
                     "branch", "category", "entity", '"type"', "dependencies")


def _windowed_cte(window: Window, windows: Sequence[tuple[str, int, float, float]], *,
                  tz_expr: str = "tz") -> tuple[str, dict[str, Any]]:
    """CTE text (after the intervals CTE) defining `split(…, idx, part)`: each picked interval's seconds in
    each window it overlaps. `windows` are (tz, idx, start, end), contiguous per tz with consecutive idx.

    Fast path: when windows after the first of their tz are at least MAX_TIMEOUT long, an interval touches
    at most two consecutive windows; and when every boundary between windows falls on a quarter hour (true
    for local midnights and hours in every current zone: offsets are multiples of 15 minutes), the window
    holding an interval's start is found by an equi-join on (tz, quarter-hour bucket) and any remainder goes
    to idx + 1. Otherwise a plain range join is used.
    """
    zones = sorted({w[0] for w in windows})
    # Zones are joined as small integers (their position in this list): hashing strings per row is slower.
    params = window.with_params(
        zones=zones, w_zone=[zones.index(w[0]) + 1 for w in windows], w_idx=[w[1] for w in windows],
        w_start=[w[2] for w in windows], w_end=[w[3] for w in windows],
    )
    firsts: dict[str, int] = {}
    for tz, idx, _, _ in windows:
        firsts[tz] = min(idx, firsts.get(tz, idx))
    interior = [(start, end) for tz, idx, start, end in windows if idx != firsts[tz]]
    bucketed = all(end - start >= MAX_TIMEOUT and start % _BUCKET == 0 for start, end in interior)
    columns = ", ".join(c if c != "tz" else f"list_position($zones, {tz_expr}) AS zone" for c in _WINDOWED_COLUMNS)
    head = f""",
picked AS (SELECT {columns} FROM intervals WHERE seconds > 0 AND {window.filter_sql}),
wins AS (SELECT UNNEST($w_zone) AS w_zone, UNNEST($w_idx) AS idx, UNNEST($w_start) AS w_start,
                UNNEST($w_end) AS w_end)"""
    if bucketed:
        body = f""",
buckets AS (
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
    else:
        body = """,
split AS (
    SELECT p.*, w.idx, LEAST(p.ce, w.w_end) - GREATEST(p.cs, w.w_start) AS part
    FROM picked p JOIN wins w ON p.zone = w.w_zone AND p.cs < w.w_end AND p.ce > w.w_start
)"""
    return head + body, params


def _grouped_by_window(cursor: duckdb.DuckDBPyConnection, window: Window,
                       windows: Sequence[tuple[str, int, float, float]], dimensions: Sequence[str], *,
                       tz_expr: str = "tz", lo: int | None = None,
                       hi: int | None = None) -> dict[str, list[tuple[int, int, str | None, float]]]:
    """{"": [(user_id, idx, None, seconds)], dim: [(user_id, idx, name, seconds)]}; idx limited to [lo, hi]."""
    split, params = _windowed_cte(window, windows, tz_expr=tz_expr)
    keep = "TRUE"
    if lo is not None and hi is not None:
        keep = "idx BETWEEN $idx_lo AND $idx_hi"
        params.update(idx_lo=lo, idx_hi=hi)
    selects = ["SELECT '' AS dim, user_id, idx, NULL::VARCHAR AS name, SUM(part) FROM kept GROUP BY ALL"]
    for dim in dimensions:
        suffix, expr = breakdown_source(dim)
        selects.append(f"SELECT '{dim}', user_id, idx, {expr}, SUM(part) FROM kept{suffix} GROUP BY ALL")
    sql = (f"WITH {window.cte}{split},\nkept AS MATERIALIZED (SELECT * FROM split WHERE {keep})\n"
           + "\nUNION ALL ".join(selects))
    grouped: dict[str, list[tuple[int, int, str | None, float]]] = {"": [], **{d: [] for d in dimensions}}
    for dim, user_id, idx, name, seconds in cursor.execute(sql, params).fetchall():
        grouped[dim].append((user_id, idx, name, seconds))
    return grouped


def _day_rows(tz: str, start_date: dt.date, end_date: dt.date) -> list[tuple[str, int, float, float]]:
    """Day windows with idx -1 .. n (one spare day each side absorbs intervals from outside the range)."""
    days = timezones.day_windows(tz, start_date - _ONE_DAY, end_date + _ONE_DAY)
    return [(tz, i - 1, start, end) for i, (_, start, end) in enumerate(days)]


# -- per-user queries -------------------------------------------------------------------------------
def _breakdown_parts(dims: Sequence[str]) -> tuple[list[tuple[int, str]], int | None]:
    """([(k, column)] for the scalar dimensions, k of "dependency" or None); k = position in dims + 1."""
    scalar = [(k, dimension_column(dim)) for k, dim in enumerate(dims, start=1) if dim != "dependency"]
    return scalar, (dims.index("dependency") + 1 if "dependency" in dims else None)


def _rollup_sql(source: str, columns: Sequence[tuple[int, str]], key: str | None = None) -> str:
    """SELECT (k, [key,] name, seconds) from `source` ([key,] the columns, seconds): k = 0 is the total
    [per key], k > 0 the breakdown by that column. `source` is already aggregated by every column together
    (few rows), so one GROUPING SETS pass over it replaces one hash aggregation per dimension over every
    interval (measured ≈ 3× faster for six dimensions)."""
    keyed = f"{key}, " if key else ""
    if not columns:
        return (f"SELECT 0 AS k, {keyed}NULL::VARCHAR AS name, SUM(seconds) FROM {source}"
                + (f" GROUP BY {key}" if key else ""))
    k = "CASE " + " ".join(f"WHEN GROUPING({c}) = 0 THEN {i}" for i, c in columns) + " ELSE 0 END"
    name = "CASE " + " ".join(f"WHEN GROUPING({c}) = 0 THEN {c}" for _, c in columns) + " END"
    sets = ", ".join([f"({key or ''})"] + [f"({keyed}{c})" for _, c in columns])
    return f"SELECT {k} AS k, {keyed}{name} AS name, SUM(seconds) FROM {source} GROUP BY GROUPING SETS ({sets})"


def _combos_sql(source: str, columns: Sequence[tuple[int, str]], sums: str, key: str | None = None) -> str:
    group = [*([key] if key else []), *(c for _, c in columns)]
    select = ", ".join([*group, sums])
    return f"SELECT {select} FROM {source}" + (f" GROUP BY {', '.join(group)}" if group else "")


# -- per-user queries -------------------------------------------------------------------------------
def summarize(replica: Replica, user_id: int, start: float | None, end: float | None, *,
              filters: Filters | None = None, dimensions: Sequence[str] = DEFAULT_DIMENSIONS,
              exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES, sync: bool = True,
              rule: tuple[str, int] | None = None) -> Summary:
    """Total coding time in [start, end) and a breakdown per dimension (seconds desc, then name).
    `rule` = (mode, timeout) computes as if the user had that rule (a preview before saving it)."""
    dims = tuple(dict.fromkeys(check_dimensions(dimensions)))
    window = _window(replica, user_id, start, end, filters, exclude_sources, rule)
    columns, dependency = _breakdown_parts(dims)
    picked = ", ".join([c for _, c in columns] + (["dependencies"] if dependency else []) + ["seconds"])
    # Two consumers when dependencies are asked for: computing the intervals once is cheaper.
    materialized = "MATERIALIZED " if dependency else ""
    sql = (f"WITH {window.cte},\npicked AS {materialized}(SELECT {picked} FROM intervals WHERE seconds > 0 "
           f"AND {window.filter_sql}),\n"
           f"combos AS ({_combos_sql('picked', columns, 'SUM(seconds) AS seconds')})\n"
           + _rollup_sql("combos", columns))
    if dependency:
        # Only rows with dependencies are unnested (a projection UNNEST, not a lateral join: ≈ 30× faster).
        sql += (f"\nUNION ALL SELECT {dependency}, value, SUM(seconds) FROM (SELECT UNNEST(dependencies) AS value, "
                "seconds FROM picked WHERE len(dependencies) > 0) GROUP BY value")

    def query(cursor: duckdb.DuckDBPyConnection) -> list[tuple[int, str | None, float | None]]:
        return cursor.execute(sql, window.params).fetchall()

    rows = replica.run(query, sync=sync)
    total = 0.0
    pairs: dict[int, list[tuple[str | None, float]]] = {k: [] for k in range(1, len(dims) + 1)}
    for k, name, seconds in rows:
        if k == 0:
            total = float(seconds or 0.0)
        else:
            pairs[k].append((name, seconds))
    return Summary(start=start, end=end, total_seconds=total,
                   breakdowns={d: _sorted_breakdown(pairs[k]) for k, d in enumerate(dims, start=1)})


def _evenly_spaced(starts: Sequence[float], length: float) -> bool:
    """Whether `starts` (window starts plus the last end) allow _placed_sql: the i-th start is within one
    `length` of start + i·length (so a guessed index is off by at most one), and every window after the first
    is at least MAX_TIMEOUT long (so an interval reaches at most into the next window). True for local days
    in every zone unless a date line jump falls in the range."""
    first = starts[0]
    return (all(abs(s - first - i * length) <= length for i, s in enumerate(starts))
            and all(b - a >= MAX_TIMEOUT for a, b in itertools.pairwise(starts[1:])))


def _placed_sql(source: str, length: float) -> str:
    """Rows of `source` (cs, ce inside [$starts[1], $starts[-1])) with `idx` (0-based window holding cs),
    `head` (seconds in that window) and `tail` (seconds in window idx + 1). The index is guessed from the
    nominal window length and corrected by one against the neighbouring starts: no join, one scan."""
    guess = f"GREATEST(0, LEAST($last_idx, floor((cs - $starts[1]) / {float(length)})::INTEGER))"
    return f"""guessed AS (SELECT *, {guess} AS g FROM {source}),
placed AS (
    SELECT * EXCLUDE (g), g + (cs >= $starts[g + 2])::INTEGER - (cs < $starts[g + 1])::INTEGER AS idx FROM guessed
),
parts AS (
    SELECT * EXCLUDE (cs, ce), LEAST(ce, $starts[idx + 2]) - cs AS head,
           GREATEST(ce - $starts[idx + 2], 0.0) AS tail
    FROM placed
)"""


def _daily_series_scan(cursor: duckdb.DuckDBPyConnection, window: Window, starts: Sequence[float],
                       dims: Sequence[str]) -> list[tuple[int, int, str | None, float]]:
    """(k, day index, name, seconds) as in _rollup_sql, for windows that pass _evenly_spaced (days)."""
    columns, dependency = _breakdown_parts(dims)
    picked = ", ".join([c for _, c in columns] + (["dependencies"] if dependency else []) + ["cs", "ce"])
    names = ", ".join(c for _, c in columns)
    cols = f"{names}, " if names else ""
    sql = f"""WITH {window.cte},
picked AS (SELECT {picked} FROM intervals WHERE seconds > 0 AND {window.filter_sql}),
{_placed_sql("picked", 86400)},
combos AS ({_combos_sql("parts", columns, "SUM(head) AS head, SUM(tail) AS tail", key="idx")}),
shifted AS (
    SELECT idx, {cols}head AS seconds FROM combos
    UNION ALL SELECT idx + 1, {cols}tail FROM combos WHERE tail > 0
)
{_rollup_sql("shifted", columns, key="idx")}"""
    if dependency:
        sql = sql.replace("parts AS (", "parts AS MATERIALIZED (", 1)
        sql += f"""
UNION ALL SELECT {dependency}, idx, value, SUM(seconds) FROM (
    SELECT idx, value, head AS seconds FROM dep_combos
    UNION ALL SELECT idx + 1, value, tail FROM dep_combos WHERE tail > 0
) GROUP BY idx, value"""
        sql = sql.replace("\ncombos AS (", """
dep_combos AS (
    SELECT idx, value, SUM(head) AS head, SUM(tail) AS tail
    FROM (SELECT idx, UNNEST(dependencies) AS value, head, tail FROM parts WHERE len(dependencies) > 0)
    GROUP BY idx, value
),
combos AS (""", 1)
    params = window.with_params(starts=list(starts), last_idx=len(starts) - 2)
    return cursor.execute(sql, params).fetchall()


def daily_series(replica: Replica, user_id: int, start_date: dt.date, end_date: dt.date, tz: str, *,
                 filters: Filters | None = None, dimensions: Sequence[str] = (),
                 exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES, sync: bool = True) -> list[DaySummary]:
    """One DaySummary per local date in tz from start_date to end_date inclusive (zero days included)."""
    _check_dates(start_date, end_date)
    dims = tuple(dict.fromkeys(check_dimensions(dimensions)))
    _check_tz(tz)
    days = timezones.day_windows(tz, start_date, end_date)
    window = _window(replica, user_id, days[0][1], days[-1][2], filters, exclude_sources)
    starts = [start for _, start, _ in days] + [days[-1][2]]
    totals: dict[int, float] = {}
    per_day: dict[str, dict[int, list[tuple[str | None, float]]]] = {d: {} for d in dims}
    if _evenly_spaced(starts, 86400):
        rows = replica.run(lambda cursor: _daily_series_scan(cursor, window, starts, dims), sync=sync)
        for k, idx, name, seconds in rows:
            if k == 0:
                totals[idx] = seconds
            elif seconds > 0:
                per_day[dims[k - 1]].setdefault(idx, []).append((name, seconds))
    else:
        rows = _day_rows(tz, start_date, end_date)
        window.params["tz_override"] = tz
        grouped = replica.run(lambda cursor: _grouped_by_window(
            cursor, window, rows, dims, tz_expr="$tz_override", lo=0, hi=len(days) - 1), sync=sync)
        totals = {idx: seconds for _, idx, _, seconds in grouped[""]}
        for dim in dims:
            for _, idx, name, seconds in grouped[dim]:
                per_day[dim].setdefault(idx, []).append((name, seconds))
    return [DaySummary(date=day, start=start, end=end, total_seconds=float(totals.get(i, 0.0)),
                       breakdowns={d: _sorted_breakdown(per_day[d].get(i, [])) for d in dims})
            for i, (day, start, end) in enumerate(days)]


def spans(replica: Replica, user_id: int, start: float | None, end: float | None, *, min_gap: float = 0.0,
          filters: Filters | None = None, exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES,
          sync: bool = True) -> list[tuple[float, float]]:
    """Maximal runs of coding in [start, end): intervals merge when the gap between them is ≤ min_gap."""
    if min_gap < 0:
        raise AnalyticsError("min_gap must not be negative")
    window = _window(replica, user_id, start, end, filters, exclude_sources)
    sql = f"""WITH {window.cte},
picked AS (SELECT cs, ce FROM intervals WHERE seconds > 0 AND {window.filter_sql}),
marked AS (
    SELECT cs, ce,
           CASE WHEN cs - MAX(ce) OVER (ORDER BY cs, ce ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                     > $min_gap THEN 1 ELSE 0 END AS opens
    FROM picked
),
grouped AS (SELECT cs, ce, SUM(opens) OVER (ORDER BY cs, ce ROWS UNBOUNDED PRECEDING) AS grp FROM marked)
SELECT MIN(cs), MAX(ce) FROM grouped GROUP BY grp ORDER BY 1"""
    rows = replica.run(lambda cursor: cursor.execute(sql, window.with_params(min_gap=float(min_gap))).fetchall(),
                       sync=sync)
    return [(float(a), float(b)) for a, b in rows]


def project_first_last(replica: Replica, user_id: int, *,
                       exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES,
                       sync: bool = True) -> list[tuple[str | None, float, float, float]]:
    """(project, first heartbeat time, last heartbeat time, all-time seconds) per project, newest first."""
    window = _window(replica, user_id, None, None, None, exclude_sources)
    sql = (f"WITH {window.cte}\nSELECT project, MIN(time), MAX(time), SUM(seconds) FROM intervals "
           "GROUP BY project ORDER BY 3 DESC, 1")
    rows = replica.run(lambda cursor: cursor.execute(sql, window.params).fetchall(), sync=sync)
    return [(project, float(first), float(last), float(total)) for project, first, last, total in rows]


def all_time_total(replica: Replica, user_id: int, *, filters: Filters | None = None,
                   exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES,
                   sync: bool = True) -> tuple[float, float | None, float | None]:
    """(all-time seconds, first heartbeat time, last heartbeat time) of the heartbeats matching filters."""
    window = _window(replica, user_id, None, None, filters, exclude_sources)
    sql = (f"WITH {window.cte}\nSELECT COALESCE(SUM(seconds), 0), MIN(time), MAX(time) FROM intervals "
           f"WHERE {window.filter_sql}")
    total, first, last = replica.run(lambda cursor: cursor.execute(sql, window.params).fetchone(), sync=sync)
    return float(total), first, last


def first_heartbeat_time(replica: Replica, user_id: int, *,
                         exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES, sync: bool = True) -> float | None:
    """The time of the user's first heartbeat in their stream (the `first` of all_time_total without filters),
    read from the time column alone instead of computing every interval."""
    sources = set(exclude_sources)
    where = "user_id = $user_id" + (f" AND NOT ({excluded_sources_sql('source', sources)})" if sources else "")
    first = replica.run(lambda cursor: cursor.execute(f"SELECT MIN(time) FROM heartbeats WHERE {where}",
                                                      {"user_id": int(user_id)}).fetchone()[0], sync=sync)
    return float(first) if first is not None else None


def best_day(replica: Replica, user_id: int, start_date: dt.date, end_date: dt.date, tz: str, *,
             filters: Filters | None = None, exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES,
             sync: bool = True) -> tuple[dt.date, float] | None:
    """The local date with the most coding time (earliest on ties), or None if there was none."""
    days = daily_series(replica, user_id, start_date, end_date, tz, filters=filters,
                        exclude_sources=exclude_sources, sync=sync)
    best = max(days, key=lambda day: (day.total_seconds, -day.date.toordinal()))
    return (best.date, best.total_seconds) if best.total_seconds > 0 else None


def hour_weekday_matrix(replica: Replica, user_id: int, start: float, end: float, tz: str, *,
                        filters: Filters | None = None,
                        exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES,
                        sync: bool = True) -> list[list[float]]:
    """matrix[weekday][hour] (Monday = 0, local hours in tz) of coding seconds in [start, end)."""
    _check_tz(tz)
    hours = timezones.hour_windows(tz, start, end)
    matrix = [[0.0] * 24 for _ in range(7)]
    if not hours:
        return matrix
    window = _window(replica, user_id, start, end, filters, exclude_sources)
    rows = [(tz, i, w_start, w_end) for i, (_, _, w_start, w_end) in enumerate(hours)]
    window.params["tz_override"] = tz
    grouped = replica.run(lambda cursor: _grouped_by_window(cursor, window, rows, (), tz_expr="$tz_override"),
                          sync=sync)
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


# -- all-user queries (leaderboards, streaks) ------------------------------------------------------
def replica_users(replica: Replica, *, sync: bool = True) -> list[ReplicaUser]:
    """Every user the replica knows, with effective settings."""
    rows = replica.run(lambda cursor: cursor.execute(
        "SELECT id, username, timezone, timeout, duration_mode, trust_level, leaderboard_opt_out, is_disabled "
        "FROM users ORDER BY id").fetchall(), sync=sync)
    return [ReplicaUser(id=r[0], username=r[1], timezone=r[2], timeout=r[3], duration_mode=r[4],
                        trust_level=r[5], leaderboard_opt_out=bool(r[6]), is_disabled=bool(r[7])) for r in rows]


def _known_zone(name: str) -> bool:
    try:
        timezones.zone(name)
    except (KeyError, ValueError):
        return False
    return True


def daily_totals_all_users(replica: Replica, start_date: dt.date, end_date: dt.date, *,
                           categories: Iterable[str] | None = None,
                           exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES,
                           sync: bool = True) -> list[tuple[int, dt.date, float]]:
    """(user_id, local date, seconds) for every user-day with coding time, each user in their own zone.

    One query for everyone. Users whose stored zone is unknown to this machine count in UTC.
    """
    _check_dates(start_date, end_date)
    if sync:
        replica.sync()
    zones = replica.run(lambda cursor: [r[0] for r in cursor.execute(
        "SELECT DISTINCT timezone FROM users").fetchall()], sync=False)
    zones = sorted({z for z in zones if _known_zone(z)} | {"UTC"})
    rows = [row for tz in zones for row in _day_rows(tz, start_date, end_date)]
    starts = [timezones.local_midnight(tz, start_date) for tz in zones]
    ends = [timezones.local_midnight(tz, end_date + _ONE_DAY) for tz in zones]
    filters = {"category": list(categories)} if categories is not None else None
    window = _window(replica, None, min(starts), max(ends), filters, exclude_sources)
    known = ", ".join("'" + z.replace("'", "''") + "'" for z in zones)
    n = (end_date - start_date).days
    grouped = replica.run(lambda cursor: _grouped_by_window(
        cursor, window, rows, (), tz_expr=f"CASE WHEN tz IN ({known}) THEN tz ELSE 'UTC' END", lo=0, hi=n),
        sync=False)
    return sorted((user_id, start_date + dt.timedelta(days=idx), float(seconds))
                  for user_id, idx, _, seconds in grouped[""])


def window_totals_all_users(replica: Replica, start: float, end: float, *,
                            categories: Iterable[str] | None = None, with_languages: bool = True,
                            top_languages: int | None = None,
                            exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES,
                            sync: bool = True) -> list[tuple[int, float, Breakdown]]:
    """(user_id, seconds, languages [(name, seconds)] desc) for every user with time in [start, end).

    Sorted by seconds descending, then user id. `top_languages` keeps only the first N languages.
    """
    filters = {"category": list(categories)} if categories is not None else None
    window = _window(replica, None, start, end, filters, exclude_sources)
    language = "language" if with_languages else "NULL::VARCHAR"
    sql = (f"WITH {window.cte}\nSELECT user_id, {language} AS language, SUM(seconds) FROM intervals "
           f"WHERE seconds > 0 AND {window.filter_sql} GROUP BY ALL")
    rows = replica.run(lambda cursor: cursor.execute(sql, window.params).fetchall(), sync=sync)
    totals: dict[int, float] = {}
    languages: dict[int, list[tuple[str | None, float]]] = {}
    for user_id, name, seconds in rows:
        totals[user_id] = totals.get(user_id, 0.0) + seconds
        languages.setdefault(user_id, []).append((name, seconds))
    result = []
    for user_id, total in totals.items():
        langs = _sorted_breakdown(languages[user_id]) if with_languages else []
        result.append((user_id, total, langs[:top_languages] if top_languages is not None else langs))
    result.sort(key=lambda row: (-row[1], row[0]))
    return result
