"""Every user at once, for the scheduler's leaderboards and streaks: the replica's users with their
effective settings, window totals with languages, and daily totals each in the user's own zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

import duckdb
import msgspec

from hackatime_lite.analytics import day_totals_memory, rollup_reads, timezones
from hackatime_lite.analytics.breakdowns import Breakdown, sorted_breakdown
from hackatime_lite.analytics.durations import DEFAULT_EXCLUDED_SOURCES, filter_sql
from hackatime_lite.analytics.query_base import ONE_DAY, check_dates, window_of
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.analytics.windows import day_rows, grouped_by_window


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
    check_dates(start_date, end_date)
    if sync:
        replica.sync()
    filters = {"category": list(categories)} if categories is not None else None
    if rollup_reads.usable(replica, (), filters, exclude_sources):
        in_memory = replica.day_totals()
        if in_memory is not None:
            return day_totals_memory.daily_totals(in_memory, start_date, end_date,
                                                  filters["category"] if filters else None)
        params: dict[str, object] = {"first": start_date, "last": end_date}
        # day_totals: the rollups summed per user, day and category (a category filter is all it needs).
        sql = ("SELECT user_id, day, SUM(seconds) FROM day_totals WHERE day BETWEEN $first::DATE AND $last::DATE "
               f"AND {filter_sql(filters, params)} GROUP BY user_id, day HAVING SUM(seconds) > 0")
        rows = replica.run(lambda cursor: cursor.execute(sql, params).fetchall(), sync=False)
        return sorted((user_id, day, float(seconds)) for user_id, day, seconds in rows)
    zones = replica.run(lambda cursor: [r[0] for r in cursor.execute(
        "SELECT DISTINCT timezone FROM users").fetchall()], sync=False)
    zones = sorted({z for z in zones if _known_zone(z)} | {"UTC"})
    rows = [row for tz in zones for row in day_rows(tz, start_date, end_date)]
    starts = [timezones.local_midnight(tz, start_date) for tz in zones]
    ends = [timezones.local_midnight(tz, end_date + ONE_DAY) for tz in zones]
    window = window_of(replica, None, min(starts), max(ends), filters, exclude_sources)
    n = (end_date - start_date).days
    # zone=None: each user's own zone; zones outside `zones` (unknown here) count as UTC.
    grouped = replica.run(lambda cursor: grouped_by_window(cursor, window, rows, (), zone=None, lo=0, hi=n),
                          sync=False)
    return sorted((user_id, start_date + dt.timedelta(days=idx), float(seconds))
                  for user_id, idx, _, seconds in grouped[""])


def window_totals_all_users(replica: Replica, start: float, end: float, *,
                            categories: Iterable[str] | None = None, with_languages: bool = True,
                            exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES,
                            sync: bool = True, users: Collection[int] | None = None,
                            ) -> list[tuple[int, float, Breakdown]]:
    """(user_id, seconds, languages [(name, seconds)] desc) for every user (or only `users`) with time in
    [start, end).

    Sorted by seconds descending, then user id.
    """
    members = sorted(users) if users is not None else None
    wanted = set(users) if users is not None else None
    filters = {"category": list(categories)} if categories is not None else None
    language = "language" if with_languages else "NULL::VARCHAR"
    zones = (replica.zones_in_use() if members is None
             else sorted({replica.user_zone(u) for u in members}))
    if end >= start and rollup_reads.usable(replica, ("language",), filters, exclude_sources) and \
            rollup_reads.worth_it(zones, start, end):
        def build(zones: list[str]) -> tuple[str, dict[str, object]]:
            picked, params = rollup_reads.all_users_picked_sql(replica, zones, start, end, filters, members)
            return (f"WITH {picked}\nSELECT 0, NULL::VARCHAR, user_id, {language} AS language, SUM(seconds) "
                    "FROM picked GROUP BY ALL"), params

        def query(cursor: duckdb.DuckDBPyConnection) -> list[tuple[int, str | None, float]]:
            # Only the members' zones: a window of whole days in their zone then has (almost) no edges.
            found = rollup_reads.checked(cursor, zones, build, rollup_reads.zone_rows_sql(
                3, one_user=False, members=members is not None), one_user=False)
            return [(row[2], row[3], row[4]) for row in found]

        rows = replica.run(query, sync=sync)
    else:
        window = window_of(replica, None, start, end, filters, exclude_sources)
        sql = (f"WITH {window.cte}\nSELECT user_id, {language} AS language, SUM(seconds) FROM intervals "
               f"WHERE seconds > 0 AND {window.filter_sql} GROUP BY ALL")
        rows = replica.run(lambda cursor: cursor.execute(sql, window.params).fetchall(), sync=sync)
    totals: dict[int, float] = {}
    languages: dict[int, list[tuple[str | None, float]]] = {}
    for user_id, name, seconds in rows:
        if wanted is not None and user_id not in wanted:  # the raw path reads everyone
            continue
        totals[user_id] = totals.get(user_id, 0.0) + seconds
        languages.setdefault(user_id, []).append((name, seconds))
    result = [(user_id, total, sorted_breakdown(languages[user_id]) if with_languages else [])
              for user_id, total in totals.items()]
    result.sort(key=lambda row: (-row[1], row[0]))
    return result
