"""Reading coding time from the rollups: whole local days of the user's zone from `rollups`, only the partial
edge days from raw rows (replica_rollups explains why this is exact).

A window [start, end) splits, in a zone, into [start, m1) + whole days [m1, m2) + [m2, end), m1 the first local
midnight at or after start and m2 the last at or before end (no whole day: the whole window is an edge). Each
interval is credited clip(start, m1) + clip(m2, end) from raw rows — read only near the edges — and the days
between come from the rollups. The zones a query was built for are checked against the users table in the
same statement (checked), so a zone change committed by a concurrent sync is never half seen.

Used when every dimension and filter is a rollup column, the stream is the default one (stored gaps) and no
rule preview is asked for; the callers fall back to the raw path otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from hackatime_lite.analytics import timezones
from hackatime_lite.analytics.durations import (
    DEFAULT_EXCLUDED_SOURCES,
    MAX_TIMEOUT,
    filter_dimensions,
    filter_sql,
    intervals_cte,
)
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.analytics.replica_file import ROLLUP_DIMENSIONS
from hackatime_lite.analytics.replica_rollups import ROLLUP_COLUMNS, day_number, zone_of
from hackatime_lite.models import DurationRule

Filters = dict[str, list[str | None]]
_ROLLUP_SET = frozenset(ROLLUP_DIMENSIONS)
_NO_DAY = (1, 0)  # (first, last) day numbers of an empty run of whole days


def usable(replica: Replica, dimensions: Iterable[str], filters: Any, exclude_sources: Iterable[str],
           rule: DurationRule | None = None) -> bool:
    """Whether a query can be answered from the rollups (else the raw path answers it)."""
    return (replica.use_rollups and rule is None
            and sorted(set(exclude_sources)) == sorted(DEFAULT_EXCLUDED_SOURCES)
            and set(dimensions) <= _ROLLUP_SET and filter_dimensions(filters) <= _ROLLUP_SET)


@dataclass(frozen=True)
class ZoneSplit:
    """A window in one zone: raw edges [start, m1) and [m2, end), whole local days first..last (day numbers)."""

    zone: str
    m1: float
    m2: float
    first: int
    last: int


def split_window(zone: str, start: float, end: float) -> ZoneSplit:
    first_date = timezones.local_date(zone, start)
    m1 = timezones.local_midnight(zone, first_date)
    if m1 < start:
        first_date += dt.timedelta(days=1)
        m1 = timezones.local_midnight(zone, first_date)
    last_date = timezones.local_date(zone, end)
    m2 = timezones.local_midnight(zone, last_date)
    if m1 >= m2:
        return ZoneSplit(zone, end, end, *_NO_DAY)
    return ZoneSplit(zone, m1, m2, day_number(first_date), day_number(last_date) - 1)


def has_whole_days(zone: str, start: float, end: float) -> bool:
    split = split_window(zone, start, end)
    return split.first <= split.last


def worth_it(zones: Sequence[str], start: float, end: float) -> bool:
    """Whether the rollups help an every-user window: its raw edges (up to a day each side, more zones spread
    them) must be small beside it, since rows sorted by user let no time range skip row groups."""
    splits = [split_window(zone, start, end) for zone in zones]
    if not splits or any(s.first > s.last for s in splits):
        return False
    edges = (max(s.m1 for s in splits) - start) + (end - min(s.m2 for s in splits))
    return edges <= (end - start) / 4


def edge_ranges(start: float, end: float, splits: Sequence[ZoneSplit]) -> list[tuple[float, float]]:
    """The rows whose intervals can reach an edge: [start - MAX_TIMEOUT, max m1) and [min m2 - MAX_TIMEOUT, end),
    one range when they overlap."""
    head = (start - MAX_TIMEOUT, max(s.m1 for s in splits))
    tail = (min(s.m2 for s in splits) - MAX_TIMEOUT, end)
    if tail[0] <= head[1]:
        return [(head[0], end)]
    return [head, tail]


def checked(cursor: duckdb.DuckDBPyConnection, zones: list[str],
            build: Callable[[list[str]], tuple[str, dict[str, Any]]], zone_sql: str, *,
            one_user: bool) -> list[tuple[Any, ...]]:
    """Run build(zones)'s query — its rows start with a 0 marker — with `zone_sql` appended: rows (1, time zone
    name, …) from the users table, as the statement's own snapshot holds them. When those are not the zones the
    query was built for (a zone change committed since the caller looked), it is built again for them: a read
    never mixes one zone's day boundaries with another zone's rollups. `one_user`: zones is the one user's
    zone (no row: a user the users table does not know, counted in UTC); else it must hold every zone (and UTC
    when users the table does not know may have heartbeats: Replica.zones_in_use)."""
    for _ in range(3):
        sql, params = build(zones)
        rows = cursor.execute(f"{sql}\nUNION ALL {zone_sql}", params).fetchall()
        found = {zone_of(row[1]) for row in rows if row[0] == 1}
        seen = (sorted(found) or ["UTC"]) if one_user else sorted(found)
        if (seen == zones) if one_user else set(seen) <= set(zones):
            return [row for row in rows if row[0] == 0]
        zones = seen
    raise RuntimeError("time zones kept changing during one read")  # three zone changes within one read


def zone_rows_sql(columns: int, *, one_user: bool, members: bool = False) -> str:
    """checked()'s rows (1, time zone, NULL × columns): the user's (`$user_id`) or every distinct zone (of the
    users in `$stream_members` when `members`)."""
    nulls = ", NULL" * columns
    if one_user:
        return f"SELECT 1, timezone{nulls} FROM users WHERE id = $user_id"
    where = " WHERE list_contains($stream_members, id)" if members else ""
    return f"SELECT 1, tz{nulls} FROM (SELECT DISTINCT timezone AS tz FROM users{where})"


def _clip_sql(m1: str, m2: str) -> str:
    return (f"GREATEST(LEAST(iv_end, {m1}) - GREATEST(iv_start, $start), 0.0) "
            f"+ GREATEST(LEAST(iv_end, $end) - GREATEST(iv_start, {m2}), 0.0)")


def user_picked_sql(replica: Replica, user_id: int, zone: str, start: float, end: float,
                    filters: Any) -> tuple[str, dict[str, Any]]:
    """CTE text (after WITH) ending in `picked(user_id, rollup columns, seconds)`: one user's time in
    [start, end) as edge rows and whole-day rollup rows."""
    split = split_window(zone, start, end)
    if split.m1 == start and split.m2 == end:
        # Whole days only (a date range in the user's own zone): no raw rows at all.
        params: dict[str, Any] = {"user_id": int(user_id), "first_day": split.first, "last_day": split.last}
        where = filter_sql(filters, params)
        return f"""picked AS (
    SELECT user_id, {ROLLUP_COLUMNS}, seconds FROM rollups
    WHERE user_id = $user_id AND day BETWEEN DATE '1970-01-01' + $first_day::INTEGER
                                         AND DATE '1970-01-01' + $last_day::INTEGER AND {where}
)""", params
    window = intervals_cte(user_id=user_id, start=start, end=end, default_timeout=replica.settings.default_timeout,
                           default_mode=replica.settings.default_mode, filters=filters,
                           ranges=edge_ranges(start, end, [split]))
    params = window.with_params(m1=split.m1, m2=split.m2, first_day=split.first, last_day=split.last)
    sql = f"""{window.cte},
edge AS (SELECT user_id, {ROLLUP_COLUMNS}, {_clip_sql("$m1", "$m2")} AS seconds FROM intervals),
picked AS (
    SELECT * FROM edge WHERE seconds > 0 AND {window.filter_sql}
    UNION ALL
    SELECT user_id, {ROLLUP_COLUMNS}, seconds FROM rollups
    WHERE user_id = $user_id AND day BETWEEN DATE '1970-01-01' + $first_day::INTEGER
                                         AND DATE '1970-01-01' + $last_day::INTEGER AND {window.filter_sql}
)"""
    return sql, params


def all_users_picked_sql(replica: Replica, zones: Sequence[str], start: float, end: float,
                         filters: Any, users: Sequence[int] | None = None) -> tuple[str, dict[str, Any]]:
    """As user_picked_sql for every user (or just `users`, in `$stream_members`), each in their own zone
    (`zones`: every zone those users are in, known ones, and UTC)."""
    splits = [split_window(zone, start, end) for zone in zones]
    window = intervals_cte(user_id=None, start=start, end=end, default_timeout=replica.settings.default_timeout,
                           default_mode=replica.settings.default_mode, filters=filters,
                           ranges=edge_ranges(start, end, splits), users=users)
    members = ""
    if users is not None:
        window.params["stream_members"] = [int(u) for u in users]
        members = " AND list_contains($stream_members, r.user_id)"
    params = window.with_params(zb_zone=[s.zone for s in splits], zb_m1=[s.m1 for s in splits],
                                zb_m2=[s.m2 for s in splits], zb_first=[s.first for s in splits],
                                zb_last=[s.last for s in splits], zb_lowest=min(s.first for s in splits),
                                zb_highest=max(s.last for s in splits))

    def zone_index(column: str) -> str:
        # Position of the row's zone in $zb_zone (a zone this machine does not know counts as UTC). Looked up
        # by list index rather than joined: a join on this expression is planned as a cross product.
        return f"list_position($zb_zone, CASE WHEN list_contains($zb_zone, {column}) THEN {column} ELSE 'UTC' END)"

    sql = f"""{window.cte},
edge AS (
    SELECT user_id, {ROLLUP_COLUMNS}, {_clip_sql("$zb_m1[zi]", "$zb_m2[zi]")} AS seconds
    FROM (SELECT *, {zone_index("tz")} AS zi FROM intervals)
),
whole AS (
    SELECT user_id, {ROLLUP_COLUMNS}, seconds
    FROM (SELECT r.*, {zone_index("COALESCE(u.timezone, 'UTC')")} AS zi
          FROM rollups r LEFT JOIN users u ON u.id = r.user_id
          WHERE r.day BETWEEN DATE '1970-01-01' + $zb_lowest::INTEGER AND DATE '1970-01-01' + $zb_highest::INTEGER
          {members})
    WHERE day BETWEEN DATE '1970-01-01' + $zb_first[zi]::INTEGER AND DATE '1970-01-01' + $zb_last[zi]::INTEGER
),
picked AS (
    SELECT * FROM edge WHERE seconds > 0 AND {window.filter_sql}
    UNION ALL
    SELECT * FROM whole WHERE {window.filter_sql}
)"""
    return sql, params


