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
reading again only the rows between the earliest and latest times those syncs changed (Replica keeps that span
per counter),
else read whole. A load reads in a DuckDB snapshot taken under the replica's sync lock together with its version,
so a load never straddles a sync, and syncs go on while it reads (Replica._load_user_rows). The cache is
bounded by rows (LRU by user); a user larger than the bound is answered by the SQL path.
"""

from __future__ import annotations

import bisect
import functools
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
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

# The rollup dimensions' values, then the row's dependencies (a tuple; none: empty).
Combo = tuple[object, ...]
Filters = Mapping[str, Iterable[str | None]]
# Rows held in memory over all users (≈ 20 bytes each: two float64 and an int32; plus each user's combos).
DEFAULT_MAX_ROWS = 2_000_000
DEPENDENCY = "dependency"
# Each dimension's position in a combo; "dependency" is a list (a row counts for each of its dependencies).
_DIM_INDEX = {name: index for index, name in enumerate((*ROLLUP_DIMENSIONS, DEPENDENCY))}
_COLUMNS = ", ".join(ROLLUP_DIMENSIONS) + ", COALESCE(dependencies, []::VARCHAR[])"
# The rows from a time on, each with its combo's rank among the distinct combos of those rows (0-based), and
# those combos in the same order (both ORDER BY the dimension columns, DuckDB's default NULLS LAST alike).
_ROWS_SQL = (f"SELECT time, gap, (dense_rank() OVER (ORDER BY {_COLUMNS}) - 1)::INTEGER AS combo FROM heartbeats "
             "WHERE user_id = $user_id AND gap IS NOT NULL AND time BETWEEN $floor AND $ceiling ORDER BY time")
_COMBOS_SQL = (f"SELECT DISTINCT {_COLUMNS} FROM heartbeats WHERE user_id = $user_id AND gap IS NOT NULL "
               "AND time BETWEEN $floor AND $ceiling ORDER BY ALL")
# Up to this many changed rows are numbered in Python; more take the whole-load statements.
_SMALL_TAIL = 2000
# Up to this many changed times of a user (one sync's, or those of the syncs a read catches up with) are
# re-read exactly: a window per time, every row at it and no other (change_windows, exact_or_coarse). Past it,
# times less than WINDOW_SPLIT apart are re-read as one window with every row between them, at most
# MAX_WINDOWS windows (the closest merged first).
MAX_POINTS = 1024
WINDOW_SPLIT = 900.0
MAX_WINDOWS = 8
# One window with up to this many (combo) cells is folded into breakdowns in plain Python (a status bar).
_FEW_CELLS = 64


def usable(dimensions: Iterable[str], filters: Filters | None, exclude_sources: Iterable[str],
           rule: DurationRule | None) -> bool:
    """Whether memory can answer: rollup dimensions and dependencies (as breakdowns and filters), the default
    stream, no rule preview."""
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
    # Per dimension (_DIM_INDEX order): its distinct values, and (combo, value position) pairs — one per combo
    # for a scalar dimension, one per dependency for "dependency".
    values: tuple[tuple[str | None, ...], ...] = field(repr=False)
    pairs: tuple[tuple[np.ndarray, np.ndarray], ...] = field(repr=False)
    # Per dimension, each value's rank in breakdowns.sorted_breakdown's name order (None after every name).
    ranks: tuple[np.ndarray, ...] = field(repr=False)

    @property
    def rows(self) -> int:
        return len(self.time)

    # Plain lists for the few-cells fold (_scalar_breakdowns_few): list indexing costs a fraction of numpy's
    # per-element access. Made on first use; the entry is immutable, so they never go stale.
    @cached_property
    def code_lists(self) -> tuple[list[int], ...]:
        """Per scalar dimension: each combo's value position."""
        return tuple(self.pairs[p][1].tolist() for p in range(len(ROLLUP_DIMENSIONS)))

    @cached_property
    def rank_lists(self) -> tuple[list[int], ...]:
        return tuple(ranks.tolist() for ranks in self.ranks)


def _interval_ends(time: np.ndarray, gap: np.ndarray, mode: str, timeout: float) -> np.ndarray:
    """time + c_i (durations.rule_sql): keystroke counts a gap only below the timeout, else gaps are capped."""
    if mode == "keystroke":
        return time + np.where(gap < timeout, gap, 0.0)
    return time + np.minimum(gap, timeout)


def _combo(row: Sequence[object]) -> Combo:
    return (*row[:-1], tuple(row[-1]))  # type: ignore[arg-type]  # the last column is the dependency list


def _name_ranks(names: Sequence[str | None]) -> np.ndarray:
    ranks = np.empty(len(names), dtype=np.int64)
    ranks[sorted(range(len(names)), key=lambda i: (names[i] is None, names[i] or ""))] = np.arange(len(names))
    return ranks


def _with_combos(combos: Sequence[Combo]) -> tuple[dict[Combo, int], tuple[tuple[str | None, ...], ...],
                                                   tuple[tuple[np.ndarray, np.ndarray], ...],
                                                   tuple[np.ndarray, ...]]:
    index = {combo: number for number, combo in enumerate(combos)}
    values: list[tuple[str | None, ...]] = []
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    for position in range(len(_DIM_INDEX)):
        found: dict[str | None, int] = {}
        if position < len(ROLLUP_DIMENSIONS):
            codes = [found.setdefault(combo[position], len(found)) for combo in combos]  # type: ignore[arg-type]
            pairs.append((np.arange(len(combos), dtype=np.int64), np.array(codes, dtype=np.int64)))
        else:
            owners: list[int] = []
            codes = []
            for number, combo in enumerate(combos):
                for name in combo[position]:  # type: ignore[attr-defined]  # the dependency tuple
                    owners.append(number)
                    codes.append(found.setdefault(name, len(found)))
            pairs.append((np.array(owners, dtype=np.int64), np.array(codes, dtype=np.int64)))
        values.append(tuple(found))
    return index, tuple(values), tuple(pairs), tuple(_name_ranks(names) for names in values)


Window = tuple[float, float]


def change_windows(times: Sequence[float]) -> tuple[Window, ...]:
    """The changed row times of one user in one sync as windows to re-read: each time on its own (a [t, t]
    window) up to MAX_POINTS of them, else coarse_windows. Every row whose time, gap or presence a sync changes
    is at one of its changed times (the same times decide which rollup days it recomputes), so re-reading the
    rows at exactly those times brings a user's rows forward; re-reading the span between them instead read,
    under a user's stream of interleaved heartbeats, every row of the last hour at every refresh (issue 13's
    mixed load: 24 ms per status bar at the median)."""
    return exact_or_coarse(tuple((time, time) for time in sorted(set(times))))


def exact_or_coarse(windows: tuple[Window, ...]) -> tuple[Window, ...]:
    """Disjoint, increasing `windows` as they are, if at most MAX_POINTS; else coarse_windows of them."""
    return windows if len(windows) <= MAX_POINTS else coarse_windows(windows)


def coarse_windows(windows: Sequence[Window]) -> tuple[Window, ...]:
    """Disjoint, increasing windows joined into a few: those less than WINDOW_SPLIT apart become one (a late batch
    beside today's rows changes two places, not the hours between them), at most MAX_WINDOWS of them (the
    closest merged first)."""
    joined: list[list[float]] = []
    for low, high in windows:
        if joined and low - joined[-1][1] <= WINDOW_SPLIT:
            joined[-1][1] = max(joined[-1][1], high)
        else:
            joined.append([low, high])
    while len(joined) > MAX_WINDOWS:
        closest = min(range(len(joined) - 1), key=lambda i: joined[i + 1][0] - joined[i][1])
        joined[closest][1] = joined.pop(closest + 1)[1]
    return tuple((low, high) for low, high in joined)


def merged_windows(windows: Iterable[Window]) -> tuple[Window, ...]:
    """Windows sorted, overlapping ones joined: disjoint and increasing."""
    merged: list[list[float]] = []
    for low, high in sorted(windows):
        if merged and low <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return tuple((low, high) for low, high in merged)


def load_user_rows(cursor: duckdb.DuckDBPyConnection, user_id: int, version: Version, mode: str, timeout: float,
                   base: UserRows | None = None, windows: Sequence[Window] = ()) -> UserRows:
    """The user's rows as `version` under their rule (mode, timeout): `base`'s rows outside `windows` (disjoint,
    increasing [first, last] times) and the stored rows inside them (every row whose time, gap or presence a
    sync changed lies inside one), or (no base) every row. `cursor` is in a DuckDB snapshot the caller took under
    the replica's sync lock together with `version` (no sync commits in between), and the caller passes a base
    only of the same file and users version (the same rule)."""
    if base is not None and windows:
        # Usually a few rows (a sync's new ones and their predecessors): one statement for every window, values
        # numbered here. Many rows are numbered by DuckDB, window by window (a few windows: statements each).
        pieces = _tail_pieces(cursor, user_id, windows)
        if pieces is not None:
            return _brought_forward(base, version, mode, timeout, windows, pieces)
        windows = coarse_windows(windows)
        return _brought_forward_numbered(cursor, user_id, base, version, mode, timeout, windows)
    params = {"user_id": int(user_id), "floor": -1e300, "ceiling": 1e300}
    fetched = cursor.execute(_ROWS_SQL, params).fetchnumpy()
    combos = [_combo(row) for row in cursor.execute(_COMBOS_SQL, params).fetchall()]
    time = np.asarray(fetched["time"], dtype=np.float64)
    iv_end = _interval_ends(time, np.asarray(fetched["gap"], dtype=np.float64), mode, timeout)
    index, values, pairs, ranks = _with_combos(combos)
    combo = np.asarray(fetched["combo"], dtype=np.int32)
    return UserRows(version=version, mode=mode, timeout=timeout, time=time, iv_end=iv_end, combo=combo,
                    combos=tuple(combos), index=index, values=values, pairs=pairs, ranks=ranks)


@functools.cache
def _tail_sql(spans: int) -> str:
    """The rows (time, gap, the dimension columns) at the listed times ($points, any number: one hash lookup a
    row) or in `spans` [floor, ceiling] ranges, in one scan: the unsorted tail a sync appended is read once, not
    once per window (issue 13's mixed load: one statement per window was a tenth of the server's CPU). The outer
    bounds keep the zone maps' pruning of the sorted part."""
    ranges = "".join(f" OR time BETWEEN $floor{i} AND $ceiling{i}" for i in range(spans))
    return (f"SELECT time, gap, {_COLUMNS} FROM heartbeats WHERE user_id = $user_id AND gap IS NOT NULL "
            f"AND time BETWEEN $low AND $high AND (time IN (SELECT UNNEST($points::DOUBLE[])){ranges}) "
            "ORDER BY time LIMIT $limit")


def _tail_pieces(cursor: duckdb.DuckDBPyConnection, user_id: int,
                 windows: Sequence[Window]) -> list[list[tuple[object, ...]]] | None:
    """Each window's stored rows (time, gap, values…), in time order, one list per window; None past
    _SMALL_TAIL rows in all."""
    points = [float(low) for low, high in windows if low == high]
    spans = [(float(low), float(high)) for low, high in windows if low != high]
    params: dict[str, object] = {"user_id": int(user_id), "limit": _SMALL_TAIL + 1, "points": points,
                                 "low": float(windows[0][0]), "high": float(windows[-1][1])}
    for i, (floor, ceiling) in enumerate(spans):
        params[f"floor{i}"], params[f"ceiling{i}"] = floor, ceiling
    rows = cursor.execute(_tail_sql(len(spans)), params).fetchall()
    if len(rows) > _SMALL_TAIL:
        return None
    pieces: list[list[tuple[object, ...]]] = [[] for _ in windows]
    floors = [floor for floor, _ in windows]
    for row in rows:  # windows are disjoint and increasing: the last one starting at or before the row holds it
        pieces[bisect.bisect_right(floors, row[0]) - 1].append(row)
    return pieces


def _brought_forward_numbered(cursor: duckdb.DuckDBPyConnection, user_id: int, base: UserRows, version: Version,
                              mode: str, timeout: float, windows: Sequence[Window]) -> UserRows:
    """base's rows outside `windows` and each window's stored rows inside it, numbered by DuckDB one window at a
    time. (Numbering the windows' whole span at once read every row between two windows far apart: issue 13's
    mixed load saw a 2.5 s refresh, a 50 MB sort, for two windows an hour apart.)"""
    combos = list(base.combos)
    index = base.index
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for floor, ceiling in windows:
        params = {"user_id": int(user_id), "floor": float(floor), "ceiling": float(ceiling)}
        fetched = cursor.execute(_ROWS_SQL, params).fetchnumpy()
        found = [_combo(row) for row in cursor.execute(_COMBOS_SQL, params).fetchall()]
        remap = np.empty(len(found), dtype=np.int64)
        for number, values_of in enumerate(found):
            known = index.get(values_of)
            if known is None:
                if index is base.index:
                    index = dict(base.index)  # base is shared with concurrent readers: never changed in place
                known = index[values_of] = len(combos)
                combos.append(values_of)
            remap[number] = known
        numbers = np.asarray(fetched["combo"], dtype=np.int64)
        time = np.asarray(fetched["time"], dtype=np.float64)
        parts.append((time, _interval_ends(time, np.asarray(fetched["gap"], dtype=np.float64), mode, timeout),
                      (remap[numbers] if len(found) else numbers).astype(np.int32)))
    if len(combos) == len(base.combos):
        values, pairs, ranks = base.values, base.pairs, base.ranks
    else:
        index, values, pairs, ranks = _with_combos(combos)
    times, ends, combo_parts = [], [], []
    kept_from = 0
    for (floor, ceiling), (time, iv_end, combo) in zip(windows, parts, strict=True):
        low, high = _span(base, floor, ceiling)
        times += [base.time[kept_from:low], time]
        ends += [base.iv_end[kept_from:low], iv_end]
        combo_parts += [base.combo[kept_from:low], combo]
        kept_from = high
    return UserRows(version=version, mode=mode, timeout=timeout,
                    time=np.concatenate([*times, base.time[kept_from:]]),
                    iv_end=np.concatenate([*ends, base.iv_end[kept_from:]]),
                    combo=np.concatenate([*combo_parts, base.combo[kept_from:]]),
                    combos=tuple(combos), index=index, values=values, pairs=pairs, ranks=ranks)


def _span(base: UserRows, floor: float, ceiling: float) -> tuple[int, int]:
    """The positions of base's rows inside [floor, ceiling] (they are replaced): [low, high)."""
    return (int(np.searchsorted(base.time, floor, side="left")),
            int(np.searchsorted(base.time, ceiling, side="right")))


def _brought_forward(base: UserRows, version: Version, mode: str, timeout: float, windows: Sequence[Window],
                     pieces: Sequence[Sequence[Sequence[object]]]) -> UserRows:
    """base's rows outside `windows` and each window's stored rows (time, gap, values…: `pieces`, one list per
    window) inside it, numbered here."""
    combos = list(base.combos)
    index = base.index
    numbers: list[int] = []
    for rows in pieces:
        for row in rows:
            found = _combo(row[2:])
            number = index.get(found)
            if number is None:
                if index is base.index:
                    index = dict(base.index)  # base is shared with concurrent readers: never changed in place
                number = index[found] = len(combos)
                combos.append(found)
            numbers.append(number)
    rows = [row for piece in pieces for row in piece]
    time = np.array([row[0] for row in rows], dtype=np.float64)
    iv_end = _interval_ends(time, np.array([row[1] for row in rows], dtype=np.float64), mode, timeout)
    combo = np.array(numbers, dtype=np.int32)
    if len(combos) == len(base.combos):
        values, pairs, ranks = base.values, base.pairs, base.ranks
    else:
        index, values, pairs, ranks = _with_combos(combos)
    times, ends, combo_parts = [], [], []
    kept_from, taken = 0, 0
    for (floor, ceiling), piece in zip(windows, pieces, strict=True):
        low, high = _span(base, floor, ceiling)
        times += [base.time[kept_from:low], time[taken:taken + len(piece)]]
        ends += [base.iv_end[kept_from:low], iv_end[taken:taken + len(piece)]]
        combo_parts += [base.combo[kept_from:low], combo[taken:taken + len(piece)]]
        kept_from, taken = high, taken + len(piece)
    return UserRows(version=version, mode=mode, timeout=timeout,
                    time=np.concatenate([*times, base.time[kept_from:]]),
                    iv_end=np.concatenate([*ends, base.iv_end[kept_from:]]),
                    combo=np.concatenate([*combo_parts, base.combo[kept_from:]]),
                    combos=tuple(combos), index=index, values=values, pairs=pairs, ranks=ranks)


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
    """Per combo, whether it passes `filters` (durations.filter_sql's rules: values of one dimension are
    alternatives, None or "" a missing value, "!dimension" leaves values out; a dependency filter matches a
    row with any of the dependencies), or None without filters."""
    if not filters:
        return None
    width = len(entry.combos)
    keep = np.ones(width, dtype=bool)
    for key, wanted in filters.items():
        negated = key.startswith(NEGATED)
        dimension = key.removeprefix(NEGATED)
        position = _DIM_INDEX[dimension]
        listed = list(wanted)
        owners, codes = entry.pairs[position]
        values = entry.values[position]
        if dimension == DEPENDENCY:
            matches = _named_matches(dimension, values, listed)
            passes = np.bincount(owners[matches[codes]] if len(matches) else owners[:0], minlength=width) > 0
            if _wants_missing(listed):
                passes |= np.bincount(owners, minlength=width) == 0  # no dependencies
        else:
            passes = value_matches(dimension, values, listed)[codes] if values else np.zeros(width, dtype=bool)
        keep &= ~passes if negated else passes
    return keep


def _wants_missing(listed: Sequence[str | None]) -> bool:
    return any(value in (None, "") for value in listed)


def _named_matches(dimension: str, values: Sequence[str | None], listed: Sequence[str | None]) -> np.ndarray:
    """Per value, whether it is one of the names listed (case-insensitively where filter_sql is)."""
    insensitive = dimension in CASE_INSENSITIVE
    named = [v for v in listed if v not in (None, "")]
    names = {v.lower() for v in named if v is not None} if insensitive else set(named)
    return np.array([value is not None and (value.lower() if insensitive else value) in names for value in values],
                    dtype=bool)


def value_matches(dimension: str, values: Sequence[str | None], listed: Sequence[str | None]) -> np.ndarray:
    """Per value of a scalar dimension, whether a filter listing `listed` for it passes the value
    (durations.filter_sql: listed values are alternatives, None or "" stands for a missing value)."""
    missing = np.array([value in (None, "") for value in values], dtype=bool)
    return _named_matches(dimension, values, listed) | (missing & _wants_missing(listed))


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
    if windows == 1:  # one window (a summary): every interval's part in it, no window numbers needed
        seconds = np.minimum(end, edges[1]) - np.maximum(start, edges[0])
        positive = seconds > 0
        return np.bincount(combo[positive], weights=seconds[positive], minlength=width).reshape(1, width)
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
    each list in breakdowns.sorted_breakdown's order already. A row counts for each of its dependencies."""
    if allowed is not None:
        seconds = seconds * allowed
    totals = seconds.sum(axis=1)
    out: dict[str, list[list[tuple[str | None, float]]]] = {}
    windows = seconds.shape[0]
    # Only the (window, combo) cells with time: a window touches few of a user's combos.
    cell_window, cell_combo = np.nonzero(seconds)
    cell_seconds = seconds[cell_window, cell_combo]
    scalar = [dim for dim in dims if dim != DEPENDENCY]
    if scalar and windows == 1 and len(cell_combo) <= _FEW_CELLS:
        _scalar_breakdowns_few(entry, scalar, cell_combo, cell_seconds, out)
    elif scalar:
        _scalar_breakdowns(entry, scalar, windows, cell_window, cell_combo, cell_seconds, out)
    if DEPENDENCY in dims:
        _dependency_breakdown(entry, windows, cell_window, cell_combo, cell_seconds, out)
    out = {dim: out[dim] for dim in dims}  # the caller's order
    return totals, out


def _scalar_breakdowns(entry: UserRows, dims: Sequence[str], windows: int, cell_window: np.ndarray,
                       cell_combo: np.ndarray, cell_seconds: np.ndarray,
                       out: dict[str, list[list[tuple[str | None, float]]]]) -> None:
    """Every scalar dimension at once: each dimension's values get their own range of one key space (offset
    + value position), so one bincount, one nonzero and one lexsort serve them all (numpy's per-call cost,
    not the few hundred cells, is what a read pays)."""
    positions = [_DIM_INDEX[dim] for dim in dims]
    widths = np.array([len(entry.values[p]) for p in positions], dtype=np.int64)
    offsets = np.cumsum(widths) - widths
    space = int(widths.sum())
    codes = np.stack([entry.pairs[p][1] for p in positions])[:, cell_combo] + offsets[:, None]
    keys = (cell_window[None, :] * space + codes).ravel()
    summed = np.bincount(keys, weights=np.tile(cell_seconds, len(positions)), minlength=windows * space)
    found = np.flatnonzero(summed > 0)
    window_of, slot = np.divmod(found, space)
    dim_of = np.searchsorted(offsets, slot, side="right") - 1
    values = summed[found]
    rank_of = np.concatenate([entry.ranks[p] for p in positions])[slot]
    # breakdowns.sorted_breakdown's order within each (dimension, window): seconds descending, then name, a
    # missing name after every named one with the same seconds (np.lexsort: the last key is the primary one).
    order = np.lexsort((rank_of, -values, window_of, dim_of))
    lists: list[list[list[tuple[str | None, float]]]] = [[[] for _ in range(windows)] for _ in dims]
    names = [entry.values[p] for p in positions]
    starts = offsets.tolist()
    for d, window, at, value in zip(dim_of[order].tolist(), window_of[order].tolist(), slot[order].tolist(),
                                    values[order].tolist(), strict=True):
        lists[d][window].append((names[d][at - starts[d]], value))
    for index, dim in enumerate(dims):
        out[dim] = lists[index]


def _scalar_breakdowns_few(entry: UserRows, dims: Sequence[str], cell_combo: np.ndarray, cell_seconds: np.ndarray,
                           out: dict[str, list[list[tuple[str | None, float]]]]) -> None:
    """_scalar_breakdowns for one window with few cells (a status bar: today's handful of combos), in plain
    Python: dozens of numpy calls cost more than folding a few dozen numbers. The same sums in the same order
    (cells in combo order, as np.bincount adds them) and the same sort, so both paths give identical answers."""
    combos, seconds = cell_combo.tolist(), cell_seconds.tolist()
    for dim in dims:
        position = _DIM_INDEX[dim]
        codes, ranks, names = entry.code_lists[position], entry.rank_lists[position], entry.values[position]
        summed: dict[int, float] = {}
        for combo, value in zip(combos, seconds, strict=True):
            code = codes[combo]
            summed[code] = summed.get(code, 0.0) + value
        ordered = sorted(((-value, ranks[code], code) for code, value in summed.items() if value > 0))
        out[dim] = [[(names[code], -negative) for negative, _, code in ordered]]


def _dependency_breakdown(entry: UserRows, windows: int, cell_window: np.ndarray, cell_combo: np.ndarray,
                          cell_seconds: np.ndarray, out: dict[str, list[list[tuple[str | None, float]]]]) -> None:
    """Each cell once per dependency of its combo (pairs are in combo order)."""
    position = _DIM_INDEX[DEPENDENCY]
    names = entry.values[position]
    width = len(names)
    owners, codes = entry.pairs[position]
    counts = np.bincount(owners, minlength=len(entry.combos))
    starts = np.cumsum(counts) - counts
    repeat = counts[cell_combo]
    first = np.repeat(starts[cell_combo] - (np.cumsum(repeat) - repeat), repeat)
    keys = np.repeat(cell_window, repeat) * width + codes[first + np.arange(int(repeat.sum()))]
    summed = np.bincount(keys, weights=np.repeat(cell_seconds, repeat), minlength=windows * width)
    found = np.flatnonzero(summed > 0)
    window_of, code_of = np.divmod(found, width)
    values = summed[found]
    order = np.lexsort((entry.ranks[position][code_of], -values, window_of))
    per_window: list[list[tuple[str | None, float]]] = [[] for _ in range(windows)]
    for window, code, value in zip(window_of[order].tolist(), code_of[order].tolist(), values[order].tolist(),
                                   strict=True):
        per_window[window].append((names[code], value))
    out[DEPENDENCY] = per_window
