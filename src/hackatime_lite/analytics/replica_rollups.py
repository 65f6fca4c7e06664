"""Rollups: seconds per (user, local day in the user's zone, rollup dimensions), kept exact by sync.

The duration rule credits each interval's seconds to the windows it overlaps, so days add up exactly and a
range of whole local days is the sum of its days' rollups (docs/architecture.md, "The one duration rule").
A day's rollup depends only on the intervals that overlap it; an interval starts at its heartbeat and lasts at
most MAX_TIMEOUT. So when a sync changes a heartbeat (new, deleted, or its stored gap changed), only the days
its old and new intervals overlap can change: the local dates of [t, t + MAX_TIMEOUT] in the user's zone
(affected_days). A user whose zone or rule changed has every day recomputed, in the new zone.

Rollups use the stream without excluded sources (the stored gaps) and each user's own rule and zone, a zone
unknown to this machine counting as UTC, like the queries.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping, Sequence

import duckdb
import numpy as np

from hackatime_lite.analytics import timezones
from hackatime_lite.analytics.durations import (
    MAX_TIMEOUT,
    excluded_sources_sql,
    in_list_sql,
    intervals_cte,
    rule_sql,
)
from hackatime_lite.analytics.replica_file import ROLLUP_DIMENSIONS
from hackatime_lite.analytics.replica_gaps import user_chunks
from hackatime_lite.analytics.windows import day_rows, windowed_cte
from hackatime_lite.config import Settings

_DAY = 86400
_EPOCH = dt.date(1970, 1, 1)
# Days per recompute query: bounds the day windows (and their quarter-hour buckets) one query joins against.
_CHUNK_DAYS = 92
# Up to this many users, recompute names them in its scan (see there).
_FEW_USERS = 16
ROLLUP_COLUMNS = ", ".join(ROLLUP_DIMENSIONS)
# day_totals' rows from the rollups (replica_file: seconds per user, local day and category).
_DAY_TOTALS_SELECT = "SELECT rollups.user_id, rollups.day, rollups.category, SUM(rollups.seconds) FROM rollups"

# (user ids, UTC day numbers) of rows a sync changed: see affected_days.
Changes = tuple[np.ndarray, np.ndarray]


def known_zone(name: str | None) -> bool:
    if not name:
        return False
    try:
        timezones.zone(name)
    except (KeyError, ValueError, OSError):
        return False
    return True


def zone_of(name: str | None) -> str:
    """The zone a user's days are counted in: their own, or UTC when this machine does not know it."""
    return name if name is not None and known_zone(name) else "UTC"


def day_number(day: dt.date) -> int:
    return (day - _EPOCH).days


def date_of(number: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(number))


_HOUR = 3600


# A (user, number) pair as one int64 (np.unique on 1-D keys: axis=1 is slower and imports numpy.ma).
_KEY_SHIFT = 1 << 32


def _pair_keys(users: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    return users.astype(np.int64) * _KEY_SHIFT + (numbers.astype(np.int64) + _KEY_SHIFT // 2)


def _split_keys(keys: np.ndarray) -> Changes:
    users = keys // _KEY_SHIFT
    return users, keys - users * _KEY_SHIFT - _KEY_SHIFT // 2


def affected_days(user_ids: Iterable[int], times: Iterable[float], zones: Mapping[int, str]) -> Changes:
    """(user, day number) pairs whose rollup a change of the heartbeats at (user, time) can alter: the local
    dates, in the user's zone (`zones`; UTC if absent), of [t, t + MAX_TIMEOUT], unique.

    Worked out per UTC hour touched (every zone's offset is a multiple of a quarter hour, so an hour holds at
    most two local dates: those of its first and last second), not per heartbeat."""
    users = np.fromiter(user_ids, dtype=np.int64)
    stamps = np.fromiter(times, dtype=np.float64)
    if not len(users):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    first = np.floor(stamps / _HOUR).astype(np.int64)
    last = np.floor((stamps + MAX_TIMEOUT) / _HOUR).astype(np.int64)  # first + 1 (MAX_TIMEOUT is an hour)
    hour_users, hours = _split_keys(np.unique(_pair_keys(np.concatenate([users, users]),
                                                         np.concatenate([first, last]))))
    found_users: list[int] = []
    found_days: list[int] = []
    dates: dict[tuple[str, int], int] = {}
    for user_id, hour in zip(hour_users.tolist(), hours.tolist(), strict=True):
        zone = zone_of(zones.get(user_id))
        for instant in (hour * _HOUR, hour * _HOUR + _HOUR - 1):
            number = dates.get((zone, instant))
            if number is None:
                number = dates[(zone, instant)] = day_number(timezones.local_date(zone, instant))
            found_users.append(user_id)
            found_days.append(number)
    return merge((np.array(found_users, dtype=np.int64), np.array(found_days, dtype=np.int64)))


def merge(*changes: Changes) -> Changes:
    """The union of (user, day number) pairs, unique, ordered by user then day."""
    users = np.concatenate([c[0] for c in changes])
    days = np.concatenate([c[1] for c in changes])
    if not len(users):
        return users.astype(np.int64), days.astype(np.int64)
    return _split_keys(np.unique(_pair_keys(users, days)))


def note_pending(cursor: duckdb.DuckDBPyConnection, changes: Changes) -> bool:
    """Add (user, day number) pairs to rollup_pending, in the caller's transaction; whether there were any."""
    users, days = changes
    if not len(users):
        return False
    cursor.register("pending_pairs", {"user_id": users.astype(np.int32), "day_number": days.astype(np.int32)})
    try:
        cursor.execute("INSERT INTO rollup_pending SELECT user_id, day_number FROM pending_pairs")
    finally:
        cursor.unregister("pending_pairs")
    return True


def not_noted(changes: Changes, noted: set[tuple[int, int]]) -> Changes:
    """The pairs of `changes` not in `noted` (pairs already in rollup_pending need no second row)."""
    users, days = changes
    if not noted or not len(users):
        return changes
    keep = np.array([(u, d) not in noted for u, d in zip(users.tolist(), days.tolist(), strict=True)], dtype=bool)
    return users[keep], days[keep]


def take_pending(cursor: duckdb.DuckDBPyConnection) -> Changes:
    """Every pending (user, day number) pair, unique, emptying rollup_pending (in the caller's transaction)."""
    rows = cursor.execute("SELECT user_id, day_number FROM rollup_pending").fetchnumpy()
    cursor.execute("DELETE FROM rollup_pending")
    return merge((np.asarray(rows["user_id"], dtype=np.int64), np.asarray(rows["day_number"], dtype=np.int64)))


def user_data_days(cursor: duckdb.DuckDBPyConnection, user_ids: Sequence[int]) -> Changes:
    """Every (user, day number) pair a user's rollups can have: their whole stream's days (zone/rule change)."""
    if not user_ids:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    excluded, params = excluded_sources_sql()
    rows = cursor.execute(
        f"SELECT user_id, MIN(time), MAX(time) FROM heartbeats WHERE list_contains($users, user_id) "
        f"AND NOT ({excluded}) GROUP BY user_id", {"users": [int(u) for u in user_ids], **params}).fetchall()
    users: list[int] = []
    days: list[int] = []
    for user_id, lo, hi in rows:
        first, last = int(lo // _DAY) - 1, int((hi + MAX_TIMEOUT) // _DAY) + 1
        users += [user_id] * (last - first + 1)
        days += range(first, last + 1)
    return np.array(users, dtype=np.int64), np.array(days, dtype=np.int64)


def _zones(cursor: duckdb.DuckDBPyConnection) -> list[str]:
    names = [row[0] for row in cursor.execute("SELECT DISTINCT timezone FROM users").fetchall()]
    return sorted({zone_of(name) for name in names} | {"UTC"})


def _runs(days: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive day numbers grouped into [first, last] runs of at most _CHUNK_DAYS days."""
    runs: list[tuple[int, int]] = []
    for _, group in itertools.groupby(enumerate(sorted(set(days))), key=lambda item: item[1] - item[0]):
        members = [day for _, day in group]
        for start in range(0, len(members), _CHUNK_DAYS):
            piece = members[start:start + _CHUNK_DAYS]
            runs.append((piece[0], piece[-1]))
    return runs


def _computed_sql(cursor: duckdb.DuckDBPyConnection, settings: Settings, zones: Sequence[str], first: int,
                  last: int, users: Sequence[int] | None) -> tuple[str, dict[str, object]]:
    """SELECT (user_id, day, rollup columns, seconds) for local days first..last of every user (or `users`)."""
    start_date, end_date = date_of(first), date_of(last)
    rows = [row for tz in zones for row in day_rows(tz, start_date, end_date)]
    start = min(timezones.local_midnight(tz, start_date) for tz in zones)
    end = max(timezones.local_midnight(tz, end_date + dt.timedelta(days=1)) for tz in zones)
    window = intervals_cte(user_id=None, start=start, end=end, default_timeout=settings.default_timeout,
                           default_mode=settings.default_mode, users=users)
    split, params = windowed_cte(window, rows, zone=None)
    params.update(first_day=first, last_idx=last - first)
    sql = (f"WITH {window.cte}{split}\n"
           f"SELECT user_id, (DATE '1970-01-01' + ($first_day + idx)::INTEGER) AS day, {ROLLUP_COLUMNS}, "
           "SUM(part) AS seconds FROM split WHERE idx BETWEEN 0 AND $last_idx GROUP BY ALL")
    return sql, params


def rebuild_all(cursor: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """Fill the empty rollups table from every heartbeat (a rebuild); returns the rows written."""
    excluded, params = excluded_sources_sql()
    row = cursor.execute(f"SELECT MIN(time), MAX(time) FROM heartbeats WHERE NOT ({excluded})", params).fetchone()
    if row is None or row[0] is None:
        return 0
    first, last = int(row[0] // _DAY) - 1, int((row[1] + MAX_TIMEOUT) // _DAY) + 1
    zones = _zones(cursor)
    # A range of users at a time (heartbeats are sorted by user: each query reads only their row groups), so
    # memory stays bounded and the rows land in (user, day) order.
    for low, high in user_chunks(cursor, "heartbeats"):
        members = [r[0] for r in cursor.execute("SELECT DISTINCT user_id FROM heartbeats WHERE user_id BETWEEN "
                                                "$low AND $high ORDER BY 1", {"low": low, "high": high}).fetchall()]
        for lo, hi in _runs(range(first, last + 1)):
            sql, query_params = _computed_sql(cursor, settings, zones, lo, hi, members)
            cursor.execute(f"INSERT INTO rollups SELECT * FROM ({sql}) ORDER BY user_id, day", query_params)
    cursor.execute(f"INSERT INTO day_totals {_DAY_TOTALS_SELECT} GROUP BY ALL ORDER BY user_id, day")
    counted = cursor.execute("SELECT COUNT(*) FROM rollups").fetchone()
    return int(counted[0]) if counted is not None else 0


def _dirty_windows(users: np.ndarray, days: np.ndarray, zones: Mapping[int, str]) -> dict[str, np.ndarray]:
    """The [start, end) of each (user, local day number) in the user's zone (`zones`; UTC if absent), as the
    columns of the `rollup_dirty` table recompute joins against; midnights computed once per (zone, day)."""
    midnights: dict[tuple[str, int], float] = {}

    def midnight(zone: str, number: int) -> float:
        key = (zone, number)
        found = midnights.get(key)
        if found is None:
            found = midnights[key] = timezones.local_midnight(zone, date_of(number))
        return found

    starts, ends = np.empty(len(users), dtype=np.float64), np.empty(len(users), dtype=np.float64)
    for index, (user_id, number) in enumerate(zip(users.tolist(), days.tolist(), strict=True)):
        zone = zone_of(zones.get(user_id))
        starts[index], ends[index] = midnight(zone, number), midnight(zone, number + 1)
    return {"user_id": users.astype(np.int32), "day_number": days.astype(np.int32), "ds": starts, "de": ends}


def recompute(cursor: duckdb.DuckDBPyConnection, settings: Settings, changes: Changes,
              zones: Mapping[int, str]) -> int:
    """Replace the rollups of every (user, local day number) in `changes` by freshly computed ones, in the
    caller's transaction; returns the rows written. `zones`: {user: zone their days are counted in}.

    Set-based, one DELETE and one INSERT whatever the number of pairs: the touched days' [start, end) in each
    user's zone are registered as `rollup_dirty`, and the intervals of those users in [first start, last end)
    are split among them by a join on the user and overlap (a user has few dirty days, so the join is small;
    a sync touches the days around its new rows, a zone or rule change a user's whole stream)."""
    users, days = changes
    if not len(users):
        return 0
    dirty = _dirty_windows(users, days, zones)
    members = sorted(set(users.tolist()))
    excluded, params = excluded_sources_sql("h.source")
    # One plain join, not intervals_cte's chain of CTEs: planning that costs more than a small sync's work.
    # Rows from MAX_TIMEOUT before the first dirty day (their intervals can reach into it) to the last one's end.
    params.update(lo=float(dirty["ds"].min()) - MAX_TIMEOUT, hi=float(dirty["de"].max()),
                  default_timeout=int(settings.default_timeout), default_mode=settings.default_mode)
    scope = rollup_scope = ""
    if len(members) <= _FEW_USERS:  # their ids bound the scans: user_id zone maps prune row groups
        scope, member_params = in_list_sql("h.user_id", "dirty_user", members)
        rollup_scope = " AND " + scope.replace("h.user_id", "rollups.user_id", 1)
        scope = f" AND {scope}"
        params.update(member_params)
    delete_params = {k: v for k, v in params.items() if k.startswith("dirty_user")}
    delete_params.update(first_day=int(days.min()), last_day=int(days.max()))
    length = rule_sql("h.gap", "COALESCE(u.timeout, $default_timeout)", "COALESCE(u.duration_mode, $default_mode)")
    picked = ", ".join(f"h.{name}" for name in ROLLUP_DIMENSIONS)
    cursor.register("rollup_dirty", dirty)
    try:
        # The constant day range (and user list) lets zone maps skip the rollups rows no dirty pair can match.
        cursor.execute("DELETE FROM rollups USING rollup_dirty d WHERE rollups.user_id = d.user_id "
                       "AND rollups.day = DATE '1970-01-01' + d.day_number "
                       "AND rollups.day BETWEEN DATE '1970-01-01' + $first_day::INTEGER "
                       f"AND DATE '1970-01-01' + $last_day::INTEGER{rollup_scope}", delete_params)
        inserted = cursor.execute(f"""
            INSERT INTO rollups
            SELECT user_id, day, {ROLLUP_COLUMNS}, SUM(LEAST(iv_end, de) - GREATEST(iv_start, ds)) FROM (
                SELECT d.user_id, DATE '1970-01-01' + d.day_number AS day, d.ds, d.de, {picked},
                       h.time AS iv_start, h.time + {length} AS iv_end
                FROM heartbeats h JOIN rollup_dirty d ON h.user_id = d.user_id
                LEFT JOIN users u ON u.id = h.user_id
                WHERE h.time >= $lo AND h.time < $hi AND h.gap IS NOT NULL AND NOT ({excluded}){scope}
            ) WHERE iv_end > iv_start AND iv_start < de AND iv_end > ds
            GROUP BY ALL""", params).fetchone()
        # The same days' totals, from the rollup rows just written.
        cursor.execute("DELETE FROM day_totals USING rollup_dirty d WHERE day_totals.user_id = d.user_id "
                       "AND day_totals.day = DATE '1970-01-01' + d.day_number "
                       "AND day_totals.day BETWEEN DATE '1970-01-01' + $first_day::INTEGER "
                       "AND DATE '1970-01-01' + $last_day::INTEGER", {k: v for k, v in delete_params.items()
                                                                       if not k.startswith("dirty_user")})
        cursor.execute(f"""INSERT INTO day_totals {_DAY_TOTALS_SELECT} JOIN rollup_dirty d
            ON rollups.user_id = d.user_id AND rollups.day = DATE '1970-01-01' + d.day_number
            WHERE rollups.day BETWEEN DATE '1970-01-01' + $first_day::INTEGER
                                  AND DATE '1970-01-01' + $last_day::INTEGER{rollup_scope}
            GROUP BY ALL""", delete_params)
    finally:
        cursor.unregister("rollup_dirty")
    return int(inserted[0]) if inserted is not None else 0
