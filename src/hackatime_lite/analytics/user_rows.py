"""Per-user reads from memory: one user's counted rows as numpy columns, so the reads every status bar,
dashboard and API call makes cost no DuckDB statement.

A DuckDB statement costs milliseconds to plan and run however few rows it reads; a user's 60 days are a few
thousand rows, which numpy clips and sums in tens of microseconds. So for each user read recently this holds
their counted rows (those with a stored gap: the default stream, without excluded sources and without the
last row, which counts nothing), sorted by time, as three columns: time, interval end under the user's rule
(time + rule(gap), durations.rule_sql in numpy) and a combo number — the index of the row's rollup dimension
values (project, language, editor, operating system, machine, category, branch) in the user's list of distinct
combinations. A read clips every interval to its windows (window_combo_seconds), sums seconds per (window,
combo) with one bincount, and folds combos into each dimension's values: the one duration rule exactly as the
SQL path computes it (the same double arithmetic per interval; sums differ from DuckDB's only in rounding order).

Never stale: an entry carries the replica version it was read at — file generation, users version (any rule or
zone change), the user's change counter, which every sync that adds, deletes or re-gaps a row of the user bumps
(Replica._sync_changes). A read first syncs, then compares: an entry of an older counter is brought forward by
reading again only the rows from the earliest time those syncs changed (the floor Replica keeps per counter),
else read whole. Loads run under the replica's sync lock, so a load never straddles a sync. The cache is
bounded by rows (LRU by user); a user larger than the bound is answered by the SQL path.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb
import numpy as np

from hackatime_lite.analytics.durations import (
    CASE_INSENSITIVE,
    DEFAULT_EXCLUDED_SOURCES,
    MAX_TIMEOUT,
    NEGATED,
    filter_dimensions,
)
from hackatime_lite.analytics.replica_file import ROLLUP_DIMENSIONS

if TYPE_CHECKING:
    from hackatime_lite.models import DurationRule

Combo = tuple[str | None, ...]
Filters = Mapping[str, Iterable[str | None]]
# Rows held in memory over all users (≈ 20 bytes each: two float64 and an int32; plus each user's combos).
DEFAULT_MAX_ROWS = 2_000_000
_DIM_INDEX = {name: index for index, name in enumerate(ROLLUP_DIMENSIONS)}
_COLUMNS = ", ".join(ROLLUP_DIMENSIONS)
# The rows from a time on, each with its combo's rank among the distinct combos of those rows (0-based), and
# those combos in the same order (both ORDER BY the dimension columns, DuckDB's default NULLS LAST alike).
_ROWS_SQL = (f"SELECT time, gap, (dense_rank() OVER (ORDER BY {_COLUMNS}) - 1)::INTEGER AS combo FROM heartbeats "
             "WHERE user_id = $user_id AND gap IS NOT NULL AND time >= $floor ORDER BY time")
_COMBOS_SQL = (f"SELECT DISTINCT {_COLUMNS} FROM heartbeats WHERE user_id = $user_id AND gap IS NOT NULL "
               "AND time >= $floor ORDER BY ALL")
_TAIL_SQL = (f"SELECT time, gap, {_COLUMNS} FROM heartbeats WHERE user_id = $user_id AND gap IS NOT NULL "
             "AND time >= $floor ORDER BY time")


def usable(dimensions: Iterable[str], filters: Filters | None, exclude_sources: Iterable[str],
           rule: DurationRule | None) -> bool:
    """Whether memory can answer: rollup dimensions and filters only, the default stream, no rule preview."""
    return (rule is None and sorted(set(exclude_sources)) == sorted(DEFAULT_EXCLUDED_SOURCES)
            and set(dimensions) <= _DIM_INDEX.keys() and filter_dimensions(filters) <= _DIM_INDEX.keys())


@dataclass(frozen=True)
class Version:
    generation: int
    users_version: str
    counter: int


@dataclass(frozen=True)
class UserRows:
    """One user's counted rows as of `version` (immutable: a refresh makes a new one)."""

    version: Version
    mode: str
    timeout: float
    time: np.ndarray  # float64, ascending
    iv_end: np.ndarray  # float64: time + the rule's interval length
    combo: np.ndarray  # int32 indexes into combos
    combos: tuple[Combo, ...]
    index: dict[Combo, int] = field(repr=False)
    # Per dimension: its distinct values and, per combo, the position of the combo's value among them.
    values: tuple[tuple[str | None, ...], ...] = field(repr=False)
    codes: tuple[np.ndarray, ...] = field(repr=False)

    @property
    def rows(self) -> int:
        return len(self.time)


def _interval_ends(time: np.ndarray, gap: np.ndarray, mode: str, timeout: float) -> np.ndarray:
    """time + c_i (durations.rule_sql): keystroke counts a gap only below the timeout, else gaps are capped."""
    if mode == "keystroke":
        return time + np.where(gap < timeout, gap, 0.0)
    return time + np.minimum(gap, timeout)


def _with_combos(combos: list[Combo]) -> tuple[dict[Combo, int], tuple[tuple[str | None, ...], ...],
                                                  tuple[np.ndarray, ...]]:
    index = {combo: number for number, combo in enumerate(combos)}
    values: list[tuple[str | None, ...]] = []
    codes: list[np.ndarray] = []
    for position in range(len(ROLLUP_DIMENSIONS)):
        found: dict[str | None, int] = {}
        column = [found.setdefault(combo[position], len(found)) for combo in combos]
        values.append(tuple(found))
        codes.append(np.array(column, dtype=np.int32))
    return index, tuple(values), tuple(codes)


def load_user_rows(cursor: duckdb.DuckDBPyConnection, user_id: int, version: Version, mode: str, timeout: float,
                   base: UserRows | None = None, floor: float = -math.inf) -> UserRows:
    """The user's rows as `version` under their rule (mode, timeout): `base`'s rows before `floor` and the stored
    rows from `floor` on, or (no base) every row. The caller holds the replica's sync lock, so no sync commits
    in between, and passes a base only of the same file and users version (the same rule)."""
    if base is None:
        params = {"user_id": int(user_id), "floor": -1e300}
        fetched = cursor.execute(_ROWS_SQL, params).fetchnumpy()
        combos = [tuple(row) for row in cursor.execute(_COMBOS_SQL, params).fetchall()]
        time = np.asarray(fetched["time"], dtype=np.float64)
        iv_end = _interval_ends(time, np.asarray(fetched["gap"], dtype=np.float64), mode, timeout)
        index, values, codes = _with_combos(combos)
        return UserRows(version=version, mode=mode, timeout=timeout, time=time, iv_end=iv_end,
                        combo=np.asarray(fetched["combo"], dtype=np.int32), combos=tuple(combos), index=index,
                        values=values, codes=codes)
    # Brought forward: the few rows a sync changed, with their values (numbered here, new combos appended).
    rows = cursor.execute(_TAIL_SQL, {"user_id": int(user_id), "floor": float(floor)}).fetchall()
    combos = list(base.combos)
    index = base.index
    numbers: list[int] = []
    for row in rows:
        found = tuple(row[2:])
        number = index.get(found)
        if number is None:
            if index is base.index:
                index = dict(base.index)  # base is shared with concurrent readers: never changed in place
            number = index[found] = len(combos)
            combos.append(found)
        numbers.append(number)
    kept = int(np.searchsorted(base.time, floor, side="left"))
    time = np.array([row[0] for row in rows], dtype=np.float64)
    iv_end = _interval_ends(time, np.array([row[1] for row in rows], dtype=np.float64), mode, timeout)
    if len(combos) == len(base.combos):
        values, codes = base.values, base.codes
    else:
        index, values, codes = _with_combos(combos)
    return UserRows(version=version, mode=mode, timeout=timeout, time=np.concatenate([base.time[:kept], time]),
                    iv_end=np.concatenate([base.iv_end[:kept], iv_end]),
                    combo=np.concatenate([base.combo[:kept], np.array(numbers, dtype=np.int32)]),
                    combos=tuple(combos), index=index, values=values, codes=codes)


class UserRowsCache:
    """Recently read users' rows, least recently used first, bounded by rows."""

    def __init__(self, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        self._max_rows = max_rows
        self._entries: OrderedDict[int, UserRows] = OrderedDict()
        self._rows = 0
        self._lock = threading.Lock()
        self.loads = 0
        self.refreshes = 0

    @property
    def max_rows(self) -> int:
        return self._max_rows

    @max_rows.setter
    def max_rows(self, value: int) -> None:
        with self._lock:
            self._max_rows = value
            self._evict()

    def _evict(self) -> None:
        while self._rows > self._max_rows and self._entries:
            _, dropped = self._entries.popitem(last=False)
            self._rows -= dropped.rows

    def peek(self, user_id: int) -> UserRows | None:
        with self._lock:
            entry = self._entries.get(user_id)
            if entry is not None:
                self._entries.move_to_end(user_id)
            return entry

    def put(self, user_id: int, entry: UserRows) -> None:
        with self._lock:
            old = self._entries.pop(user_id, None)
            if old is not None:
                self._rows -= old.rows
            if entry.rows > self._max_rows:
                return
            self._entries[user_id] = entry
            self._rows += entry.rows
            self._evict()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._rows = 0

    @property
    def rows(self) -> int:
        return self._rows


# -- reads --------------------------------------------------------------------------------------------------
def allowed(entry: UserRows, filters: Filters | None) -> np.ndarray | None:
    """Per combo, whether it passes `filters` (durations.filter_sql's rules), or None without filters."""
    if not filters:
        return None
    keep = np.ones(len(entry.combos), dtype=bool)
    for key, wanted in filters.items():
        negated = key.startswith(NEGATED)
        dimension = key.removeprefix(NEGATED)
        position = _DIM_INDEX[dimension]
        wanted = list(wanted)
        named = [v for v in wanted if v not in (None, "")]
        wants_missing = len(named) != len(wanted)
        insensitive = dimension in CASE_INSENSITIVE
        names = {v.lower() for v in named if v is not None} if insensitive else set(named)
        matches = np.array([
            (value is not None and (value.lower() if insensitive else value) in names)
            or (wants_missing and value in (None, ""))
            for value in entry.values[position]], dtype=bool)
        passes = matches[entry.codes[position]] if len(matches) else np.zeros(len(entry.combos), dtype=bool)
        keep &= ~passes if negated else passes
    return keep


def window_combo_seconds(entry: UserRows, bounds: Sequence[float]) -> np.ndarray:
    """Seconds per (window, combo), shape (len(bounds) - 1, combos): windows [bounds[i], bounds[i+1]), each at
    least MAX_TIMEOUT long (so an interval, at most MAX_TIMEOUT, overlaps at most two of them)."""
    edges = np.asarray(bounds, dtype=np.float64)
    windows, width = len(edges) - 1, len(entry.combos)
    lo = int(np.searchsorted(entry.time, edges[0] - MAX_TIMEOUT, side="left"))
    hi = int(np.searchsorted(entry.time, edges[-1], side="left"))
    out = np.zeros(windows * width, dtype=np.float64)
    if hi <= lo or width == 0:
        return out.reshape(windows, width)
    start, end, combo = entry.time[lo:hi], entry.iv_end[lo:hi], entry.combo[lo:hi]
    # The window each interval starts in (-1: before the first); its part there and in the next window.
    at = np.searchsorted(edges, start, side="right") - 1
    for shift in (0, 1):
        window = at + shift
        inside = (window >= 0) & (window < windows)
        if not inside.any():
            continue
        w = window[inside]
        seconds = np.minimum(end[inside], edges[w + 1]) - np.maximum(start[inside], edges[w])
        positive = seconds > 0
        out += np.bincount(w[positive] * width + combo[inside][positive], weights=seconds[positive],
                           minlength=windows * width)
    return out.reshape(windows, width)


def breakdowns(entry: UserRows, seconds: np.ndarray, dims: Sequence[str],
               allowed: np.ndarray | None) -> tuple[np.ndarray, dict[str, list[list[tuple[str | None, float]]]]]:
    """(total per window, {dimension: per window [(value, seconds > 0)]}) from window_combo_seconds' matrix;
    each list in breakdowns.sorted_breakdown's order already."""
    if allowed is not None:
        seconds = seconds * allowed
    totals = seconds.sum(axis=1)
    out: dict[str, list[list[tuple[str | None, float]]]] = {}
    windows = seconds.shape[0]
    rows, cols = np.nonzero(seconds)
    weights = seconds[rows, cols]
    for dim in dims:
        position = _DIM_INDEX[dim]
        names = entry.values[position]
        width = len(names)
        summed = np.bincount(rows * width + entry.codes[position][cols], weights=weights, minlength=windows * width)
        found = np.nonzero(summed > 0)[0]
        window_of, code_of = np.divmod(found, width)
        values = summed[found]
        # breakdowns.sorted_breakdown's order within each window: seconds descending, then name, a missing name
        # after every named one with the same seconds (np.lexsort: the last key is the primary one).
        name_rank = np.empty(width, dtype=np.int64)
        name_rank[sorted(range(width), key=lambda i: (names[i] is None, names[i] or ""))] = np.arange(width)
        order = np.lexsort((name_rank[code_of], -values, window_of))
        per_window: list[list[tuple[str | None, float]]] = [[] for _ in range(windows)]
        for window, code, value in zip(window_of[order].tolist(), code_of[order].tolist(), values[order].tolist(),
                                       strict=True):
            per_window[window].append((names[code], value))
        out[dim] = per_window
    return totals, out
