"""Export in WakaTime's data-dump layout, so tools that read WakaTime dumps read ours, streamed.

    {"user": {...}, "range": {...}, "days": [{"date", "grand_total", "projects", "languages", "editors",
     "operating_systems", "machines", "categories", "dependencies", "entities", "heartbeats": [...]}, ...],
     "user_agents": [{"id", "value", "editor", "os"}], "machines": [{"id", "name", "value"}]}

Each day's figures come from the read use cases (`reports.summaries`), so they are the numbers every other
read shows. Heartbeats are in WakaTime's shape: they name their user agent and machine by id, resolved through
the `user_agents` and `machines` lists; those lists come last because they are collected while the days
stream (the importer reads them wherever they are). The format is a list of days, so a range is widened to
whole days in the user's zone. `doctor`'s test heartbeats are left out: they count in no figure, and a tool
reading the dump could not tell them apart. Re-importing the file (`import wakatime-dump`) into the same
account adds no rows; into an empty one it gives the same figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import msgspec

from hackatime_lite import reports
from hackatime_lite.analytics import queries
from hackatime_lite.analytics.ranges import DateRange
from hackatime_lite.analytics.timezones import date_range_window, local_date
from hackatime_lite.context import AppContext
from hackatime_lite.models import DayReport, User
from hackatime_lite.store.records import STORED_COLUMNS, HeartbeatRow
from hackatime_lite.text import formatting

CHUNK_ROWS = 2000
# Days whose figures are computed in one query: few queries over long histories, little held at once.
BLOCK_DAYS = 31
_HIDDEN_SOURCE = "test"
# Stored columns a WakaTime heartbeat carries under its own name (the rest: ids, created_at as ISO time).
_PLAIN_FIELDS = ("entity", "type", "category", "time", "project", "project_root_count", "branch", "language",
                 "lines", "lineno", "cursorpos", "line_additions", "line_deletions", "ai_line_changes",
                 "human_line_changes", "ai_session", "ai_model", "ai_input_tokens", "ai_output_tokens",
                 "ai_prompt_length")
_AT = {name: STORED_COLUMNS.index(name) for name in STORED_COLUMNS}
_encoder = msgspec.json.Encoder()


class _Lookups:
    """The user agents and machines the exported heartbeats refer to, collected while they stream.

    Ids are the ones the heartbeats API gives (`stable_id` of the value); a user agent stored with another
    editor / OS reading than its first one gets its own entry, so every heartbeat gets back exactly its own."""

    def __init__(self, user: User) -> None:
        self._owner = user.public_id
        self.agents: dict[tuple[str, str | None, str | None], dict[str, Any]] = {}
        self._agent_values: set[str] = set()
        self.machines: dict[str, dict[str, Any]] = {}

    def agent_id(self, value: str | None, editor: str | None, os_name: str | None) -> str | None:
        if not (value or editor or os_name):
            return None
        key = (value or "", editor, os_name)
        entry = self.agents.get(key)
        if entry is None:
            first = bool(value) and value not in self._agent_values
            ident = reports.stable_id(self._owner, "user_agent", *((value,) if first else
                                                                   (value or "", editor or "", os_name or "")))
            entry = self.agents[key] = {"id": ident, "value": value or "", "editor": editor, "os": os_name}
            self._agent_values.add(value or "")
        return str(entry["id"])

    def machine_id(self, name: str | None) -> str | None:
        if not name:
            return None
        entry = self.machines.get(name)
        if entry is None:
            entry = self.machines[name] = {"id": reports.stable_id(self._owner, "machine", name), "name": name,
                                           "value": name}
        return str(entry["id"])


def _heartbeat(row: HeartbeatRow, user: User, lookups: _Lookups) -> dict[str, Any]:
    record = {name: row[_AT[name]] for name in _PLAIN_FIELDS}
    deps = row[_AT["dependencies"]]
    is_write = row[_AT["is_write"]]
    record.update(
        id=str(row[_AT["id"]]),
        user_id=user.public_id,
        dependencies=msgspec.json.decode(deps) if deps else [],
        is_write=None if is_write is None else bool(is_write),
        user_agent_id=lookups.agent_id(row[_AT["user_agent"]], row[_AT["editor"]], row[_AT["operating_system"]]),
        machine_name_id=lookups.machine_id(row[_AT["machine"]]),
        created_at=formatting.iso_utc(row[_AT["created_at"]]) if row[_AT["created_at"]] is not None else None,
    )
    return record


class _Rows:
    """The user's heartbeats in [start, end) but the hidden source, oldest first, read a chunk at a time, with
    a look at the next one (days take the rows before their end)."""

    def __init__(self, ctx: AppContext, user_id: int, start: float, end: float) -> None:
        self._ctx, self._user_id, self._end = ctx, user_id, end
        self._buffer: list[HeartbeatRow] = []
        self._after: tuple[float, int] | None = None
        self._low: float | None = start
        self._done = False

    def _fill(self) -> None:
        while not self._buffer and not self._done:
            rows = self._ctx.store.heartbeat_rows(self._user_id, self._low, self._end, after=self._after,
                                                  limit=CHUNK_ROWS)
            if len(rows) < CHUNK_ROWS:
                self._done = True
            if rows:
                self._after = (rows[-1][_AT["time"]], rows[-1][_AT["id"]])
            self._buffer = [r for r in reversed(rows) if r[_AT["source"]] != _HIDDEN_SOURCE]

    def before(self, moment: float) -> bool:
        self._fill()
        return bool(self._buffer) and self._buffer[-1][_AT["time"]] < moment

    def take_before(self, moment: float, limit: int) -> list[HeartbeatRow]:
        taken: list[HeartbeatRow] = []
        while len(taken) < limit and self.before(moment):
            taken.append(self._buffer.pop())
        return taken


def _date_span(ctx: AppContext, user: User, start: float | None,
               end: float | None) -> tuple[dt.date, dt.date] | None:
    """The local days from the first to the last counted heartbeat within [start, end), or None."""
    tz = user.timezone
    first = queries.first_heartbeat_time(reports.replica_of(ctx), user.id)
    newest = ctx.store.newest_heartbeat(user.id)
    if first is None or newest is None:
        return None
    low = first if start is None else max(first, start)
    high = newest[_AT["time"]]
    if end is not None and high >= end:
        high = end - 0.001  # `end` is exclusive: a range up to midnight ends on the day before
    if high < low:
        return None
    return local_date(tz, low), local_date(tz, high)


def _user_object(user: User) -> dict[str, Any]:
    return {"id": user.public_id, "username": user.username, "display_name": user.display_name or user.username,
            "full_name": user.display_name or user.username, "timezone": user.timezone,
            "created_at": formatting.iso_utc(user.created_at)}


def _blocks(first: dt.date, last: dt.date) -> Iterator[tuple[dt.date, dt.date]]:
    day = first
    while day <= last:
        block_end = min(last, day + dt.timedelta(days=BLOCK_DAYS - 1))
        yield day, block_end
        day = block_end + dt.timedelta(days=1)


def _day_head(report: DayReport, entities: queries.DaySummary) -> bytes:
    day = {"date": report.date.isoformat(), "grand_total": report.grand_total, **report.breakdowns,
           **reports.entry_lists({"entity": entities.breakdowns.get("entity", [])})}
    return _encoder.encode(day)[:-1] + b', "heartbeats": ['


def wakatime_stream(ctx: AppContext, user: User, start: float | None = None,
                    end: float | None = None) -> Iterator[bytes]:
    """The user's days from `start` to `end` (widened to whole local days) as a WakaTime data dump."""
    tz = user.timezone
    span = _date_span(ctx, user, start, end)
    head: dict[str, Any] = {"user": _user_object(user), "range": None}
    if span is not None:
        window = date_range_window(tz, *span)
        head["range"] = {"start": window[0], "end": window[1], "start_date": span[0].isoformat(),
                         "end_date": span[1].isoformat(), "timezone": tz}
    yield _encoder.encode(head)[:-1] + b', "days": ['
    lookups = _Lookups(user)
    separator = b"\n"
    if span is not None:
        rows = _Rows(ctx, user.id, *date_range_window(tz, *span))
        for first, last in _blocks(*span):
            summaries = reports.summaries(ctx, user, DateRange("custom", "", first, last, tz))
            entities = queries.daily_series(reports.replica_of(ctx), user.id, first, last, tz,
                                            dimensions=("entity",), sync=False)
            for report, entity_day in zip(summaries.days, entities, strict=True):
                if report.grand_total.total_seconds <= 0 and not rows.before(report.end):
                    continue  # a day without heartbeats or time, as WakaTime leaves out
                yield separator + _day_head(report, entity_day)
                beat_separator = b"\n"
                while batch := rows.take_before(report.end, CHUNK_ROWS):
                    yield beat_separator + b",\n".join(_encoder.encode(_heartbeat(r, user, lookups)) for r in batch)
                    beat_separator = b",\n"
                yield b"\n]}"
                separator = b",\n"
    tail = {"user_agents": list(lookups.agents.values()), "machines": list(lookups.machines.values())}
    yield b"\n], " + _encoder.encode(tail)[1:] + b"\n"
