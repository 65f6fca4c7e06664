"""Every user's daily totals from memory: the replica's day_totals table (seconds per user, local day and
category) held as numpy columns, so the all-user daily totals that streaks and the daily-totals API read cost
a mask and one reduceat instead of a DuckDB aggregate and ten thousand Python dates from its result.

Never stale: the copy carries the version of the rollup tables it was read at — the replica's file generation
and the store's change marks it had synced to, with no rollup days pending (Replica.rollups_version). Any sync
that commits changes the marks, any rebuild the generation, so a copy of another version is read again. The
version is taken before the rows are read: rows newer than their version only cost a reload, never a stale
answer.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import duckdb
import numpy as np

from hackatime_lite.analytics.user_rows import value_matches

# Rows held at most (≈ 28 bytes each); a larger table is read through DuckDB every time.
DEFAULT_MAX_ROWS = 2_000_000
_EPOCH = dt.date(1970, 1, 1)
_COUNT_SQL = "SELECT COUNT(*) FROM day_totals"
# Ordered by (user, day), so each (user, day)'s categories are adjacent: one reduceat folds them. The category
# code is its rank among the distinct categories (NULL last); its name is read off its first row.
_LOAD_SQL = ("SELECT user_id::BIGINT AS user_id, (day - DATE '1970-01-01')::BIGINT AS day, "
             "(dense_rank() OVER (ORDER BY category NULLS LAST) - 1)::BIGINT AS code, category, seconds "
             "FROM day_totals ORDER BY user_id, day")


@dataclass(frozen=True)
class DayTotals:
    version: Hashable
    user_id: np.ndarray  # int64, ascending, then day ascending
    day: np.ndarray  # int64: days since 1970-01-01
    code: np.ndarray  # int64 positions in categories
    seconds: np.ndarray  # float64
    categories: tuple[str | None, ...]

    @property
    def rows(self) -> int:
        return len(self.day)


def load(cursor: duckdb.DuckDBPyConnection, version: Hashable, max_rows: int) -> DayTotals | None:
    """The day_totals table as `version`, or None when it holds more than max_rows rows. Both statements run
    in one transaction: the count and the rows are of the same snapshot."""
    cursor.execute("BEGIN TRANSACTION")
    try:
        count = cursor.execute(_COUNT_SQL).fetchone()
        if count is None or int(count[0]) > max_rows:
            return None
        found = cursor.execute(_LOAD_SQL).fetchnumpy()
    finally:
        cursor.execute("ROLLBACK")
    code = np.asarray(found["code"], dtype=np.int64)
    names = np.asarray(found["category"], dtype=object)
    _, first_rows = np.unique(code, return_index=True)
    categories = tuple(None if names[i] is None else str(names[i]) for i in first_rows.tolist())
    return DayTotals(version=version, user_id=np.asarray(found["user_id"], dtype=np.int64),
                     day=np.asarray(found["day"], dtype=np.int64), code=code,
                     seconds=np.asarray(found["seconds"], dtype=np.float64), categories=categories)


def daily_totals(entry: DayTotals, first: dt.date, last: dt.date,
                 categories: Iterable[str | None] | None) -> list[tuple[int, dt.date, float]]:
    """(user_id, local date, seconds > 0) per user-day in [first, last], sorted, over the categories given
    (durations.filter_sql's rules for a category list: case-insensitive names, None or "" a missing one)."""
    first_day, last_day = (first - _EPOCH).days, (last - _EPOCH).days
    keep = (entry.day >= first_day) & (entry.day <= last_day)
    if categories is not None:
        keep &= value_matches("category", entry.categories, list(categories))[entry.code] \
            if entry.categories else np.zeros(len(keep), dtype=bool)
    users, days, seconds = entry.user_id[keep], entry.day[keep], entry.seconds[keep]
    if not len(days):
        return []
    # Rows are in (user, day) order: a group starts wherever the user or the day changes.
    starts = np.flatnonzero(np.concatenate(([True], (users[1:] != users[:-1]) | (days[1:] != days[:-1]))))
    sums = np.add.reduceat(seconds, starts)
    counted = sums > 0
    dates = [first + dt.timedelta(days=offset) for offset in range(last_day - first_day + 1)]
    return [(user, dates[day - first_day], total) for user, day, total in
            zip(users[starts][counted].tolist(), days[starts][counted].tolist(), sums[counted].tolist(), strict=True)]


class DayTotalsCache:
    """The one current copy of day_totals (all users share it)."""

    def __init__(self, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        self.max_rows = max_rows
        self._entry: DayTotals | None = None
        self._lock = threading.Lock()
        self.loads = 0
        # The version at which the table held more than max_rows: not counted again until it changes.
        self.too_large_at: Hashable | None = None

    def get(self, version: Hashable) -> DayTotals | None:
        entry = self._entry
        return entry if entry is not None and entry.version == version else None

    def put(self, entry: DayTotals) -> None:
        with self._lock:
            self._entry = entry
            self.loads += 1

    def clear(self) -> None:
        with self._lock:
            self._entry = None
            self.too_large_at = None
