"""A goal's definition: reading it from a client's JSON (or a form, or the CLI's options), checking it, and the
title WakaTime would give it ("Code 2 hrs per day in Python").

Everything a caller got wrong is a `GoalError` (an InputError: 400 in the API, a message in the dashboard and
the CLI).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from hackatime_lite.errors import InputError
from hackatime_lite.store.records import GoalSpec
from hackatime_lite.text import formatting

DELTAS = {"day": "day", "daily": "day", "week": "week", "weekly": "week"}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# The longest goal a period can hold: all of it.
MAX_SECONDS = {"day": 24 * 3600, "week": 7 * 24 * 3600}
MAX_NAMES = 50
MAX_NAME_LENGTH = 256
MAX_TITLE_LENGTH = 200
LIST_FIELDS = ("languages", "projects", "editors", "categories")
BOOL_FIELDS = ("is_inverse", "ignore_zero_days", "is_enabled")
# What a client may send; anything else (WakaTime's read-only fields echoed back) is ignored.
FIELDS = ("delta", "seconds", *BOOL_FIELDS, *LIST_FIELDS, "ignore_days", "improve_by_percent", "title",
          "custom_title", "type")


class GoalError(InputError):
    """A goal definition we cannot accept; the message says which field and why."""


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise GoalError(f"{name} must be true or false")


def _names(name: str, value: Any) -> tuple[str, ...]:
    """A list of non-empty names (duplicates dropped, order kept); a comma-separated string is read as one."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise GoalError(f"{name} must be a list of names")
    found: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise GoalError(f"{name} must be a list of names")
        text = item.strip()
        if not text:
            continue
        if len(text) > MAX_NAME_LENGTH:
            raise GoalError(f"a name in {name} is longer than {MAX_NAME_LENGTH} characters")
        if text not in found:
            found.append(text)
    if len(found) > MAX_NAMES:
        raise GoalError(f"{name} may hold at most {MAX_NAMES} names")
    return tuple(found)


def weekday_name(value: str) -> str:
    """`sat`, `Saturday`, `SATURDAY` → `saturday`."""
    text = value.strip().lower()
    for day in WEEKDAYS:
        if text == day or (len(text) >= 3 and day.startswith(text)):
            return day
    raise GoalError(f"ignore_days: {value!r} is not a weekday (monday … sunday)")


def _weekdays(value: Any) -> tuple[str, ...]:
    names = {weekday_name(day) for day in _names("ignore_days", value)}
    if len(names) == len(WEEKDAYS):
        raise GoalError("ignore_days cannot hold every day of the week")
    return tuple(day for day in WEEKDAYS if day in names)


def _seconds(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GoalError("seconds must be a number of seconds")
    if value != value or value in (float("inf"), float("-inf")) or value != int(value):
        raise GoalError("seconds must be a whole number of seconds")
    return int(value)


def _title(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise GoalError("title must be text")
    text = " ".join(value.split())
    if len(text) > MAX_TITLE_LENGTH:
        raise GoalError(f"title is longer than {MAX_TITLE_LENGTH} characters")
    return text or None


def parse_spec(data: Any, base: GoalSpec | None = None) -> GoalSpec:
    """A checked GoalSpec from a client's JSON object: every field for a new goal (`delta` and `seconds` are
    required), or the fields to change on `base` (a PATCH). `title` sets WakaTime's `custom_title`."""
    if not isinstance(data, Mapping):
        raise GoalError("the body must be a JSON object")
    given = {name: data[name] for name in FIELDS if name in data}
    values: dict[str, Any] = msgspec.structs.asdict(base) if base is not None else {}
    if "type" in given and given["type"] not in (None, "coding"):
        raise GoalError("type must be \"coding\" (the only kind of goal)")
    if "delta" in given:
        delta = DELTAS.get(str(given["delta"]).strip().lower()) if isinstance(given["delta"], str) else None
        if delta is None:
            raise GoalError("delta must be \"day\" or \"week\"")
        values["delta"] = delta
    elif base is None:
        raise GoalError("delta is required (\"day\" or \"week\")")
    if "seconds" in given:
        values["seconds"] = _seconds(given["seconds"])
    elif base is None:
        raise GoalError("seconds is required (the goal's coding time per day or week)")
    for name in BOOL_FIELDS:
        if name in given:
            values[name] = _bool(name, given[name])
    for name in LIST_FIELDS:
        if name in given:
            values[name] = _names(name, given[name])
    if "categories" in values:
        # Stored as heartbeats carry them ("coding", "ai coding"); shown as "Coding".
        values["categories"] = tuple(dict.fromkeys(c.lower() for c in values["categories"]))
    if "ignore_days" in given:
        values["ignore_days"] = _weekdays(given["ignore_days"])
    if "improve_by_percent" in given and given["improve_by_percent"] is not None:
        raise GoalError("improve_by_percent is not supported: leave it null")
    for name in ("custom_title", "title"):
        if name in given:
            values["custom_title"] = _title(given[name])
    spec = GoalSpec(**values)
    if not 1 <= spec.seconds <= MAX_SECONDS[spec.delta]:
        period = "daily" if spec.delta == "day" else "weekly"
        raise GoalError(f"seconds must be between 1 and {MAX_SECONDS[spec.delta]} for a {period} goal")
    return spec


def _either(names: Iterable[str]) -> str:
    items = list(names)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def auto_title(spec: GoalSpec) -> str:
    """WakaTime's generated title: `Code 1 hr per day using VS Code`, `Code at most 2 hrs per week in Python`."""
    from hackatime_lite.reports import display_name  # the one place values get their display names

    amount = formatting.human_text(spec.seconds)
    parts = [f"Code {'at most ' if spec.is_inverse else ''}{amount} per {spec.delta}"]
    if spec.languages:
        parts.append(f"in {_either(spec.languages)}")
    if spec.projects:
        parts.append(f"on {_either(spec.projects)}")
    if spec.editors:
        parts.append(f"using {_either(spec.editors)}")
    if spec.categories:
        parts.append(f"while {_either(display_name('category', c) for c in spec.categories)}")
    return " ".join(parts)


def title_of(spec: GoalSpec) -> str:
    return spec.custom_title or auto_title(spec)
