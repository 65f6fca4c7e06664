"""The one duration rule in plain Python: slow, small and obviously correct. Used only by tests."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Beat:
    id: int
    user_id: int
    time: float
    project: str | None = None
    language: str | None = None
    editor: str | None = None
    operating_system: str | None = None
    machine: str | None = None
    branch: str | None = None
    category: str | None = "coding"
    entity: str | None = "file.py"
    type: str | None = "file"
    dependencies: tuple[str, ...] = ()
    source: str = "direct"


@dataclass(frozen=True)
class Rule:
    timeout: float
    mode: str  # "capped" or "keystroke"


@dataclass(frozen=True)
class Interval:
    beat: Beat
    start: float
    end: float


def intervals(beats: Iterable[Beat], rules: Mapping[int, Rule], *,
              exclude_sources: Iterable[str] = ("test",)) -> list[Interval]:
    """Every heartbeat's interval [t_i, t_i + c_i), over each user's whole stream."""
    excluded = set(exclude_sources)
    by_user: dict[int, list[Beat]] = defaultdict(list)
    for beat in beats:
        if beat.source not in excluded:
            by_user[beat.user_id].append(beat)
    result = []
    for user_id, stream in by_user.items():
        stream.sort(key=lambda b: (b.time, b.id))
        rule = rules[user_id]
        for i, beat in enumerate(stream):
            if i + 1 == len(stream):
                length = 0.0
            else:
                gap = stream[i + 1].time - beat.time
                if rule.mode == "capped":
                    length = min(gap, rule.timeout)
                else:
                    length = gap if gap < rule.timeout else 0.0
            result.append(Interval(beat, beat.time, beat.time + length))
    return result


def clipped(interval: Interval, start: float | None, end: float | None) -> float:
    lo = interval.start if start is None else max(interval.start, start)
    hi = interval.end if end is None else min(interval.end, end)
    return max(0.0, hi - lo)


def _value(beat: Beat, dimension: str) -> object:
    return beat.dependencies if dimension == "dependency" else getattr(beat, dimension)


def matches(beat: Beat, filters: Mapping[str, Iterable[str | None]] | None) -> bool:
    """None or "" in a filter's values matches a missing value (for dependency: no dependencies)."""
    for dimension, values in (filters or {}).items():
        wanted = set(values)
        wants_missing = None in wanted or "" in wanted
        if dimension == "dependency":
            ok = bool(set(beat.dependencies) & wanted) or (wants_missing and not beat.dependencies)
        else:
            value = getattr(beat, dimension)
            if dimension == "category":  # matched in any case, as durations.filter_sql does
                value = value.lower() if value else value
                wanted = {v.lower() if v else v for v in wanted}
            ok = value in wanted or (wants_missing and value in (None, ""))
        if not ok:
            return False
    return True


def total(ivs: Iterable[Interval], user_id: int, start: float | None, end: float | None,
          filters: Mapping[str, Iterable[str | None]] | None = None) -> float:
    return sum(clipped(iv, start, end) for iv in ivs if iv.beat.user_id == user_id and matches(iv.beat, filters))


def breakdown(ivs: Iterable[Interval], user_id: int, start: float | None, end: float | None, dimension: str,
              filters: Mapping[str, Iterable[str | None]] | None = None) -> dict[object, float]:
    """{value: seconds} with zero entries dropped; for "dependency" each dependency gets the whole interval."""
    sums: dict[object, float] = defaultdict(float)
    for iv in ivs:
        if iv.beat.user_id != user_id or not matches(iv.beat, filters):
            continue
        seconds = clipped(iv, start, end)
        if seconds <= 0:
            continue
        if dimension == "dependency":
            for dep in iv.beat.dependencies:
                sums[dep] += seconds
        else:
            sums[_value(iv.beat, dimension)] += seconds
    return dict(sums)


def day_bounds(tz: str, day: dt.date) -> tuple[float, float]:
    zone = ZoneInfo(tz)
    nxt = day + dt.timedelta(days=1)
    return (dt.datetime(day.year, day.month, day.day, tzinfo=zone).timestamp(),
            dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone).timestamp())


def daily(ivs: list[Interval], user_id: int, tz: str, start_date: dt.date, end_date: dt.date,
          filters: Mapping[str, Iterable[str | None]] | None = None) -> dict[dt.date, float]:
    days = {}
    day = start_date
    while day <= end_date:
        lo, hi = day_bounds(tz, day)
        days[day] = total(ivs, user_id, lo, hi, filters)
        day += dt.timedelta(days=1)
    return days


def hour_weekday(ivs: list[Interval], user_id: int, start: float, end: float, tz: str) -> list[list[float]]:
    """Seconds per (local weekday, local hour), by walking each interval second-boundary by boundary."""
    zone = ZoneInfo(tz)
    matrix = [[0.0] * 24 for _ in range(7)]
    for iv in ivs:
        if iv.beat.user_id != user_id:
            continue
        lo, hi = max(iv.start, start), min(iv.end, end)
        cursor = lo
        while cursor < hi:
            # Local hours change only at multiples of 15 minutes UTC.
            step = min(hi, (cursor // 900 + 1) * 900)
            local = dt.datetime.fromtimestamp(cursor, zone)
            matrix[local.weekday()][local.hour] += step - cursor
            cursor = step
    return matrix


def merged_spans(ivs: Iterable[Interval], user_id: int, start: float | None, end: float | None,
                 min_gap: float = 0.0) -> list[tuple[float, float]]:
    pieces = []
    for iv in ivs:
        if iv.beat.user_id != user_id:
            continue
        lo = iv.start if start is None else max(iv.start, start)
        hi = iv.end if end is None else min(iv.end, end)
        if hi > lo:
            pieces.append((lo, hi))
    pieces.sort()
    spans: list[list[float]] = []
    for lo, hi in pieces:
        if spans and lo - spans[-1][1] <= min_gap:
            spans[-1][1] = max(spans[-1][1], hi)
        else:
            spans.append([lo, hi])
    return [(a, b) for a, b in spans]
