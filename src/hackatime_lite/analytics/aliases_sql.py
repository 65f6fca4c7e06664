"""What a user's read-time rules (hackatime_lite.aliases) need from the replica beyond the coding-time queries:
the stored values of a dimension (to resolve wildcard rules and filters on display values) and the time to move
between languages for the user's language-by-extension mappings.

Both work on stored values only, so they compose with any read strategy (raw rows or rollups): the rules map the
(value, seconds) pairs the queries return.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from hackatime_lite.analytics import timezones
from hackatime_lite.analytics.durations import DEFAULT_EXCLUDED_SOURCES, dimension_column
from hackatime_lite.analytics.query_base import Filters, window_of
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.analytics.windows import evenly_spaced, placed_sql

_DAY = 86400

# The lowercase last extension of the entity's file name, leading dots not counted ("x/.bashrc" has none):
# text.languages.entity_extension in SQL.
EXTENSION_SQL = ("lower(regexp_extract(ltrim(regexp_extract(entity, '[^/\\\\]*$', 0), '.'), "
                 "'\\.([^.]*)$', 1))")


def distinct_values(replica: Replica, user_id: int, dimension: str, *, sync: bool = True) -> list[str | None]:
    """Every value of `dimension` among the user's heartbeats (None for a missing one)."""
    column = dimension_column(dimension)
    sql = f"SELECT DISTINCT {column} FROM heartbeats WHERE user_id = $user_id"
    rows = replica.run(lambda cursor: cursor.execute(sql, {"user_id": int(user_id)}).fetchall(), sync=sync)
    return [row[0] for row in rows]


def extension_language_moves(replica: Replica, user_id: int, start: float | None, end: float | None,
                             extensions: Mapping[str, str], *, filters: Filters | None = None,
                             exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES,
                             sync: bool = True) -> list[tuple[str | None, str, float]]:
    """(stored language, mapped language, seconds) for the user's time in [start, end) on files whose
    extension is mapped: the seconds to move from one to the other in a language breakdown of the same window
    and filters (a CASE over the entity's extension, on the same intervals that breakdown counted)."""
    if not extensions:
        return []
    window = window_of(replica, user_id, start, end, filters, exclude_sources)
    params = window.with_params(map_ext=list(extensions), map_lang=list(extensions.values()))
    sql = (f"WITH {window.cte},\n"
           f"mapped AS (SELECT language, {EXTENSION_SQL} AS ext, seconds FROM intervals "
           f"WHERE seconds > 0 AND {window.filter_sql})\n"
           "SELECT language, $map_lang[list_position($map_ext, ext)] AS target, SUM(seconds) FROM mapped "
           "WHERE list_contains($map_ext, ext) GROUP BY ALL")
    rows = replica.run(lambda cursor: cursor.execute(sql, params).fetchall(), sync=sync)
    return [(language, target, float(seconds)) for language, target, seconds in rows
            if target is not None and target != language]


def extension_language_moves_by_day(replica: Replica, user_id: int, start_date: dt.date, end_date: dt.date,
                                    tz: str, extensions: Mapping[str, str], *, filters: Filters | None = None,
                                    sync: bool = True) -> dict[dt.date, list[tuple[str | None, str, float]]]:
    """extension_language_moves per local day of [start_date, end_date] in tz (daily_series's days: an interval
    over midnight is split the same way)."""
    if not extensions:
        return {}
    days = timezones.day_windows(tz, start_date, end_date)
    starts = [start for _, start, _ in days] + [days[-1][2]]
    if not evenly_spaced(starts, _DAY):  # a date-line jump inside the range: day by day
        return {day: extension_language_moves(replica, user_id, lo, hi, extensions, filters=filters, sync=sync)
                for day, lo, hi in days}
    window = window_of(replica, user_id, starts[0], starts[-1], filters, DEFAULT_EXCLUDED_SOURCES)
    params = window.with_params(map_ext=list(extensions), map_lang=list(extensions.values()), starts=starts,
                                last_idx=len(starts) - 2)
    sql = (f"WITH {window.cte},\n"
           f"mapped AS (SELECT language, {EXTENSION_SQL} AS ext, cs, ce FROM intervals "
           f"WHERE seconds > 0 AND {window.filter_sql}),\n"
           "picked AS (SELECT language, $map_lang[list_position($map_ext, ext)] AS target, cs, ce FROM mapped "
           "WHERE list_contains($map_ext, ext)),\n"
           f"{placed_sql('picked', _DAY)}\n"
           "SELECT idx, language, target, SUM(seconds) FROM (SELECT idx, language, target, head AS seconds FROM parts "
           "UNION ALL SELECT idx + 1, language, target, tail FROM parts WHERE tail > 0) GROUP BY ALL")
    rows = replica.run(lambda cursor: cursor.execute(sql, params).fetchall(), sync=sync)
    moves: dict[dt.date, list[tuple[str | None, str, float]]] = {}
    for idx, language, target, seconds in rows:
        if 0 <= idx < len(days) and target is not None and target != language and seconds > 0:
            moves.setdefault(days[idx][0], []).append((language, target, float(seconds)))
    return moves
