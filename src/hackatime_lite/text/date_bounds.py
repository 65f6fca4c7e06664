"""`--from` / `--to` values (CLI and API) as epoch seconds in a user's time zone.

A date `YYYY-MM-DD` means that whole day in the user's zone: as `from` its start, as `to` its end (the day is
included). A date-time (ISO 8601; without an offset it is in the user's zone) or epoch seconds is exact.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hackatime_lite.errors import InputError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Epoch seconds: ten digits or more, so that a bare year is never read as 1970.
_NUMBER = re.compile(r"^\d{10,}(\.\d+)?$")


class BoundError(InputError):
    """A date we cannot read; the message is safe to show."""


def parse_bound(value: str | None, timezone: str, *, is_end: bool = False) -> float | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    zone = ZoneInfo(timezone)
    if _NUMBER.match(value):
        return float(value)
    try:
        if _DATE.match(value):
            day = date.fromisoformat(value) + timedelta(days=1 if is_end else 0)
            return datetime.combine(day, time(), tzinfo=zone).timestamp()
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BoundError(f"cannot read {value!r} as a date (YYYY-MM-DD) or ISO date-time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()


def parse_range(start: str | None, end: str | None, timezone: str) -> tuple[float | None, float | None]:
    low, high = parse_bound(start, timezone), parse_bound(end, timezone, is_end=True)
    if low is not None and high is not None and high < low:
        raise BoundError("the end of the range is before its start")
    return low, high


def parse_day(value: str | None) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError as exc:
        raise BoundError(f"cannot read {value!r} as a date (YYYY-MM-DD)") from exc
