"""Local-time windows in IANA zones as [start, end) epoch-second pairs (DST days are 23 h or 25 h long)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

# Every offset in the tz database is a multiple of 15 minutes, so stepping in quarter hours never
# skips a change of local hour.
_QUARTER_HOUR = 900


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name (raises ZoneInfoNotFoundError / ValueError for unknown names)."""
    return ZoneInfo(name)


@lru_cache(maxsize=8192)  # pure; every per-day read asks for the same midnights again
def local_midnight(tz: str, day: dt.date) -> float:
    """The first instant of `day` in `tz`, as epoch seconds.

    A midnight skipped by a DST jump resolves (fold=0) to the transition instant; an ambiguous midnight to
    its first occurrence — in both cases the first instant whose local date is `day`.
    """
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone(tz)).timestamp()


def day_window(tz: str, day: dt.date) -> tuple[float, float]:
    """[start, end) of one local day."""
    return local_midnight(tz, day), local_midnight(tz, day + dt.timedelta(days=1))


def day_windows(tz: str, start_date: dt.date, end_date: dt.date) -> list[tuple[dt.date, float, float]]:
    """(date, start, end) for every local date from start_date to end_date inclusive."""
    if end_date < start_date:
        return []
    count = (end_date - start_date).days + 1
    bounds = [local_midnight(tz, start_date + dt.timedelta(days=i)) for i in range(count + 1)]
    return [(start_date + dt.timedelta(days=i), bounds[i], bounds[i + 1]) for i in range(count)]


def local_date(tz: str, epoch: float) -> dt.date:
    """The local date of an instant."""
    return dt.datetime.fromtimestamp(epoch, zone(tz)).date()


def date_range_window(tz: str, start_date: dt.date, end_date: dt.date) -> tuple[float, float]:
    """[start, end) covering local dates start_date..end_date inclusive."""
    return local_midnight(tz, start_date), local_midnight(tz, end_date + dt.timedelta(days=1))


def hour_windows(tz: str, start: float, end: float) -> list[tuple[int, int, float, float]]:
    """(weekday 0=Monday, local hour, start, end) windows tiling [start, end).

    Built by labelling quarter-hour steps, so a repeated hour (DST end) is one longer window and a skipped
    hour simply does not occur.
    """
    if end <= start:
        return []
    tzinfo = zone(tz)
    windows: list[tuple[int, int, float, float]] = []
    cursor = start
    step = (start // _QUARTER_HOUR + 1) * _QUARTER_HOUR
    while cursor < end:
        local = dt.datetime.fromtimestamp(cursor, tzinfo)
        label = (local.weekday(), local.hour)
        stop = min(step, end)
        if windows and windows[-1][:2] == label and windows[-1][3] == cursor:
            windows[-1] = (label[0], label[1], windows[-1][2], stop)
        else:
            windows.append((label[0], label[1], cursor, stop))
        cursor, step = stop, step + _QUARTER_HOUR
    return windows
