"""Read use cases shared by the API, the web dashboard and the CLI. Transport-free.

Every coding-time figure comes from the analytics queries (the one duration rule); this module picks the
window (from the app clock, in the user's zone), names missing values, and formats entries. Inputs that
cannot be answered raise `RangeError` / `AnalyticsError` (both ValueErrors with a safe message).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import msgspec

from hackatime_lite import aliases
from hackatime_lite.analytics import aliases_sql, catalog, leaderboards, queries, streaks
from hackatime_lite.analytics.durations import AnalyticsError
from hackatime_lite.analytics.ranges import DateRange, check_timezone, named_range, parse_date
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.analytics.timezones import date_range_window, day_window, local_date
from hackatime_lite.context import AppContext
from hackatime_lite.models import (
    DIMENSIONS,
    Board,
    BoardLanguage,
    BoardRow,
    BoardUser,
    DayReport,
    Span,
    Streak,
    User,
    dimension,
)
from hackatime_lite.store.records import STORED_COLUMNS, AliasRule, ChangeMarks, HeartbeatRow
from hackatime_lite.text import formatting
from hackatime_lite.text.formatting import Entry, Total

Filters = Mapping[str, Sequence[str | None]]
T = TypeVar("T")

# All from the one table of dimensions (models.DIMENSIONS).
# analytics dimension -> WakaTime's plural key
PLURALS = {d.name: d.plural for d in DIMENSIONS}
# Every day's breakdowns (status bar, summaries, stats); with a project filter also PROJECT_DIMENSIONS.
SUMMARY_DIMENSIONS = tuple(d.name for d in DIMENSIONS if d.summary == "always")
PROJECT_DIMENSIONS = tuple(d.name for d in DIMENSIONS if d.summary == "with_project")
# WakaTime durations' slice_by value -> analytics dimension
SLICE_BY = {value: d.name for d in DIMENSIONS for value in d.slice_by}
_CATEGORY_NAMES = {"ai coding": "AI Coding", "ui designing": "UI Designing"}
# Machine and user-agent ids are stable UUIDs derived from the value, so clients can key on them.
_ID_NAMESPACE = uuid.UUID("6f1d3c52-52b1-4d8e-9d0a-3e7a51f0c0de")
HEARTBEAT_FIELDS = ("id", "entity", "type", "category", "time", "project", "branch", "language", "dependencies",
                    "lines", "lineno", "cursorpos", "is_write", "project_root_count", "line_additions",
                    "line_deletions", "ai_line_changes", "human_line_changes", "user_agent", "editor",
                    "operating_system", "machine", "source", "created_at")


# -- shared helpers ---------------------------------------------------------------------------------
def replica_of(ctx: AppContext) -> Replica:
    return ctx.require_replica()


def timezone_of(user: User, override: str | None = None) -> str:
    return check_timezone(override) if override else user.timezone


def today_for(ctx: AppContext, tz: str) -> dt.date:
    """The local date in tz by the app clock (tests freeze it)."""
    return local_date(tz, ctx.clock())


def day_in_zone(ctx: AppContext, user: User, timezone: str | None, date_text: str | None) -> tuple[str, dt.date]:
    """The zone a one-day read asked for (default the user's) and the day in it (default today there)."""
    tz = timezone_of(user, timezone)
    return tz, parse_date(date_text) if date_text else today_for(ctx, tz)


@functools.lru_cache(maxsize=4096)
def stable_id(*parts: str) -> str:
    # Memoised: a SHA-1 and a UUID object per machine entry and per stats range were ~7 % of a stats request.
    return str(uuid.uuid5(_ID_NAMESPACE, "\x1f".join(parts)))


def display_name(name: str, value: str | None) -> str:
    """How a stored value of dimension `name` is shown (a missing one by the dimension's `unknown` label)."""
    if value in (None, ""):
        found = dimension(name)
        return found.unknown if found else "Unknown"
    if name == "category":
        return _CATEGORY_NAMES.get(value, value.title())
    return value


def named(dimension: str, pairs: Iterable[tuple[str | None, float]]) -> list[tuple[str, float]]:
    """Breakdown rows with display names; values that display alike (None and "") are merged."""
    merged: dict[str, float] = {}
    for value, seconds in pairs:
        if seconds > 0:
            name = display_name(dimension, value)
            merged[name] = merged.get(name, 0.0) + seconds
    return list(merged.items())


def entry_lists(breakdowns: Mapping[str, Iterable[tuple[str | None, float]]], *,
                with_seconds: bool = True) -> dict[str, list[Entry]]:
    # "label" (a user's project labels, hackatime_lite.aliases) is not a stored dimension: listed as "labels".
    lists: dict[str, list[Entry]] = {}
    for dim, pairs in breakdowns.items():
        rows = named(dim, pairs)
        # Most of a status bar's breakdowns are empty most of the day: no entries to format then.
        lists[PLURALS.get(dim, f"{dim}s")] = formatting.entries(rows, with_seconds=with_seconds) if rows else []
    return lists


# -- the user's read-time rules (aliases, labels, language mappings, exclusions) -----------------------------
def user_rules(ctx: AppContext, user: User) -> aliases.CompiledRules:
    """The user's rules as stored now (read on every call, so a change shows in the next read)."""
    return aliases.rules_for(ctx.store, user.id)


def read_filters(ctx: AppContext, user: User, filters: Filters | None,
                 rules: aliases.CompiledRules | None = None) -> dict[str, list[str | None]] | None:
    """Filters on display values (and "label") as the analytics filters on stored values, with the user's
    excluded projects left out of every figure. Every coding-time read of a user goes through this."""
    found = rules if rules is not None else user_rules(ctx, user)
    replica = replica_of(ctx)
    return found.query_filters(filters, lambda dim: aliases_sql.distinct_values(replica, user.id, dim))


def shown_breakdowns(ctx: AppContext, user: User, rules: aliases.CompiledRules,
                     breakdowns: Mapping[str, Iterable[tuple[str | None, float]]], *,
                     window: tuple[float | None, float | None] | None = None,
                     filters: Filters | None = None,
                     moves: Sequence[tuple[str | None, str, float]] | None = None,
                     ) -> dict[str, list[tuple[str | None, float]]]:
    """Breakdowns under the user's display values (re-summed), hidden projects left out of the project list,
    a "label" breakdown when they have labels. Languages also follow the user's by-extension mappings: `moves`
    (aliases_sql's (stored language, mapped language, seconds)), or computed for `window` (the [start, end) and
    the stored-value `filters` the breakdowns were read with)."""
    pairs = dict(breakdowns)
    if rules.extensions and "language" in pairs:
        if moves is None and window is not None:
            moves = aliases_sql.extension_language_moves(replica_of(ctx), user.id, window[0], window[1],
                                                         rules.extensions, filters=filters, sync=False)
        if moves:
            languages: dict[str | None, float] = {}
            for name, seconds in pairs["language"]:
                languages[name] = languages.get(name, 0.0) + seconds
            for source, target, seconds in moves:
                languages[source] = languages.get(source, 0.0) - seconds
                languages[target] = languages.get(target, 0.0) + seconds
            # What is left of a moved language can differ from 0 by rounding only.
            pairs["language"] = [(name, seconds) for name, seconds in languages.items() if seconds > 1e-6]
    return rules.map_breakdowns(pairs)


def _other_language_seconds(pairs: Iterable[tuple[str | None, float]]) -> float:
    return sum(seconds for name, seconds in pairs if name in (None, "", "Other"))


# -- cached reports ---------------------------------------------------------------------------------------
def _stored_rules(ctx: AppContext, user: User) -> tuple[AliasRule, ...]:
    """The user's rules as stored now (read on every call); frozen records, so they can key a cache."""
    return tuple(ctx.store.list_alias_rules(user.id))


class ReadStamp(NamedTuple):
    """What a finished answer of one user's read depends on besides the clock, the user's record and the
    request, read fresh from the store: its change marks (every heartbeat written or deleted and every change
    to any user moves them, and they never move back) and the user's stored rules (aliases, labels, exclusions;
    no mark covers them). An answer computed from a sync made after its stamp was read stays the answer while
    a newly read stamp is equal to it: equal marks mean nothing was written or deleted since, so the sync saw
    exactly that state. Two small store reads; what lets a polled read be answered without a replica sync."""

    marks: ChangeMarks
    rules: tuple[AliasRule, ...]


def read_stamp(ctx: AppContext, user: User) -> ReadStamp:
    return ReadStamp(ctx.store.change_marks(), _stored_rules(ctx, user))


def _filters_key(filters: Filters | None) -> tuple[tuple[str, tuple[str | None, ...]], ...]:
    return tuple(sorted((dim, tuple(values)) for dim, values in (filters or {}).items()))


def cached_report(ctx: AppContext, user: User, key: Hashable, compute: Callable[[Replica], T]) -> T:
    """compute(replica)'s report (which reads only `user`'s default stream, without syncing), reused until a
    sync changes the user's rows, any user's settings, or the replica file (Replica.cached_read).

    `key` must name everything else the report depends on: the window (and its day and zone), the stored
    filters, the user's stored rules — whatever the caller read fresh for this call. The replica syncs first,
    before the cache's version is taken, so a heartbeat is counted by the very next read; rollups that sync
    leaves pending are recomputed by any read that uses them (Replica.run). Reports are shared between calls:
    callers never modify them."""
    replica = replica_of(ctx)
    replica.sync(defer_rollups=True)
    return replica.cached_read(user.id, key, lambda: compute(replica))


# -- status bar / day reports ---------------------------------------------------------------------------
def _day_report(day: dt.date, start: float, end: float, tz: str, total_seconds: float,
                breakdowns: Mapping[str, Iterable[tuple[str | None, float]]]) -> DayReport:
    return DayReport(date=day, start=start, end=end, timezone=tz, grand_total=formatting.total(total_seconds),
                     breakdowns=entry_lists(breakdowns))


# A day's bounds in a zone never change (while the process runs on one tz database); editors poll today's
# status bar every few seconds, so each (zone, day) is converted once.
_day_window = functools.lru_cache(maxsize=4096)(day_window)


def status_bar_today(ctx: AppContext, user: User, *, today: dt.date | None = None,
                     stored_rules: tuple[AliasRule, ...] | None = None) -> DayReport:
    """Today in the user's zone, with every breakdown the editor plugins show. `today` and `stored_rules`: the
    caller's, when it read them already (a ReadStamp's rules; the day it keys its own cache by).

    Editors poll this every few seconds, so the finished report is cached per user (cached_report) until
    their next write, a change of their rules or settings, or midnight in their zone."""
    tz = user.timezone
    if today is None:
        today = today_for(ctx, tz)
    start, end = _day_window(tz, today)
    if stored_rules is None:
        stored_rules = _stored_rules(ctx, user)
    rules = aliases.compile_rules(stored_rules)
    filters = read_filters(ctx, user, None, rules)

    def compute(replica: Replica) -> DayReport:
        summary = queries.summarize(replica, user.id, start, end, filters=filters, dimensions=SUMMARY_DIMENSIONS,
                                    sync=False)
        return _day_report(today, start, end, tz, summary.total_seconds,
                           shown_breakdowns(ctx, user, rules, summary.breakdowns, window=(start, end),
                                            filters=filters))

    return cached_report(ctx, user, ("status_bar", tz, today, _filters_key(filters), stored_rules), compute)


# -- summaries ------------------------------------------------------------------------------------------
class DailyAverage(msgspec.Struct, kw_only=True):
    holidays: int
    days_including_holidays: int
    days_minus_holidays: int
    seconds: float
    seconds_including_other_language: float


class SummariesReport(msgspec.Struct, kw_only=True):
    range: DateRange
    days: list[DayReport]
    cumulative_total: Total
    daily_average: DailyAverage


def _daily_average(days: Sequence[tuple[float, float]], total_days: int) -> DailyAverage:
    """`days` are (total, other-language seconds) per day; holidays are days without coding time."""
    active = [d for d in days if d[0] > 0]
    divisor = max(1, len(active))
    total = sum(d[0] for d in active)
    other = sum(d[1] for d in active)
    return DailyAverage(holidays=total_days - len(active), days_including_holidays=total_days,
                        days_minus_holidays=len(active), seconds=(total - other) / divisor,
                        seconds_including_other_language=total / divisor)


def summaries(ctx: AppContext, user: User, rng: DateRange, *, filters: Filters | None = None) -> SummariesReport:
    """One DayReport per local day of the range (in rng.tz); with a project filter, branches and entities too."""
    dims = SUMMARY_DIMENSIONS + (PROJECT_DIMENSIONS if filters and filters.get("project") else ())
    rules = user_rules(ctx, user)
    stored_filters = read_filters(ctx, user, filters, rules)
    series = queries.daily_series(replica_of(ctx), user.id, rng.start, rng.end, rng.tz, filters=stored_filters,
                                  dimensions=dims)
    moves = aliases_sql.extension_language_moves_by_day(replica_of(ctx), user.id, rng.start, rng.end, rng.tz,
                                                        rules.extensions, filters=stored_filters, sync=False)
    days = [_day_report(d.date, d.start, d.end, rng.tz, d.total_seconds,
                        shown_breakdowns(ctx, user, rules, d.breakdowns, moves=moves.get(d.date, [])))
            for d in series]
    cumulative = sum(d.total_seconds for d in series)
    per_day = [(d.total_seconds, _other_language_seconds(d.breakdowns["language"])) for d in series]
    return SummariesReport(range=rng, days=days, cumulative_total=formatting.total(cumulative),
                           daily_average=_daily_average(per_day, len(series)))


# -- stats ------------------------------------------------------------------------------------------------
class BestDay(msgspec.Struct, kw_only=True):
    date: dt.date
    total_seconds: float


class StatsReport(msgspec.Struct, kw_only=True):
    """Totals over a range: `total_seconds` leaves out time without a language (WakaTime's "Other")."""

    range: DateRange
    start: float
    end: float
    total_seconds: float
    total_seconds_including_other_language: float
    daily_average: DailyAverage
    best_day: BestDay | None
    breakdowns: dict[str, list[Entry]]
    timeout: int
    duration_mode: str
    is_including_today: bool
    # Every local date of the range with its total (after today too), for charts: one series, not two.
    days: list[queries.DaySummary] = msgspec.field(default_factory=list)


# A range's window in its zone never changes either (see _day_window).
_range_window = functools.lru_cache(maxsize=4096)(date_range_window)


def stats(ctx: AppContext, user: User, rng: DateRange, *, filters: Filters | None = None,
          dimensions: Sequence[str] = SUMMARY_DIMENSIONS) -> StatsReport:
    """Totals and breakdowns over a range, with the daily average, best day and every day's total.

    Cached per user like the status bar (cached_report): dashboards and `stats` clients poll the same ranges,
    and all but the user's rule (read fresh) stays the same until their next write or rule change."""
    stored_rules = _stored_rules(ctx, user)
    rules = aliases.compile_rules(stored_rules)
    stored_filters = read_filters(ctx, user, filters, rules)
    today = today_for(ctx, rng.tz)
    key = ("stats", rng, today, tuple(dimensions), _filters_key(stored_filters), stored_rules)
    found = cached_report(ctx, user, key, lambda replica: _stats(ctx, replica, user, rng, today, rules,
                                                                   stored_filters, dimensions))
    rule = user.rule(ctx.settings.default_rule)
    return msgspec.structs.replace(found, timeout=rule.timeout, duration_mode=rule.mode, days=list(found.days))


def _stats(ctx: AppContext, replica: Replica, user: User, rng: DateRange, today: dt.date,
           rules: aliases.CompiledRules, filters: dict[str, list[str | None]] | None,
           dimensions: Sequence[str]) -> StatsReport:
    start, end = _range_window(rng.tz, rng.start, rng.end)
    dims = tuple(dict.fromkeys((*dimensions, "language")))
    summary = queries.summarize(replica, user.id, start, end, filters=filters, dimensions=dims, sync=False)
    summary_breakdowns = shown_breakdowns(ctx, user, rules, summary.breakdowns, window=(start, end), filters=filters)
    last_day = min(rng.end, today)
    days = queries.daily_series(replica, user.id, rng.start, rng.end, rng.tz, filters=filters, sync=False)
    series = [d for d in days if d.date <= last_day]
    other = _other_language_seconds(summary_breakdowns["language"])
    # Days after today have no time, so the range's "Other" seconds all fall on the days counted here.
    active = [d for d in series if d.total_seconds > 0]
    divisor = max(1, len(active))
    average = DailyAverage(holidays=len(series) - len(active), days_including_holidays=max(1, len(series)),
                           days_minus_holidays=len(active), seconds=(summary.total_seconds - other) / divisor,
                           seconds_including_other_language=summary.total_seconds / divisor)
    best = max(series, key=lambda d: (d.total_seconds, -d.date.toordinal()), default=None)
    breakdowns = {dim: pairs for dim, pairs in summary_breakdowns.items() if dim in dimensions or dim == "label"}
    return StatsReport(
        range=rng, start=start, end=end, total_seconds=summary.total_seconds - other,
        total_seconds_including_other_language=summary.total_seconds,
        daily_average=average,
        best_day=BestDay(date=best.date, total_seconds=best.total_seconds) if best and best.total_seconds > 0
        else None,
        breakdowns=entry_lists(breakdowns, with_seconds=False),
        timeout=0, duration_mode="",  # the user's rule, filled in by stats() on every call
        is_including_today=rng.start <= today <= rng.end,
        days=days,
    )


def total_seconds(ctx: AppContext, user: User, rng: DateRange, *, filters: Filters | None = None) -> float:
    """Just the coding time in a range (Hackatime's `total_seconds=true`)."""
    start, end = rng.window
    return window_seconds(ctx, user, start, end, filters=filters)


def window_seconds(ctx: AppContext, user: User, start: float | None, end: float | None, *,
                   filters: Filters | None = None) -> float:
    """Coding time in an arbitrary [start, end) (None: unbounded)."""
    return queries.summarize(replica_of(ctx), user.id, start, end, filters=read_filters(ctx, user, filters),
                             dimensions=()).total_seconds


def first_day(ctx: AppContext, user: User, tz: str) -> dt.date | None:
    """The local date of the user's first heartbeat (for `all_time` ranges)."""
    first = queries.first_heartbeat_time(replica_of(ctx), user.id)
    return local_date(tz, first) if first is not None else None


def resolve_named_range(ctx: AppContext, user: User, name: str, tz: str) -> DateRange:
    """A named range for this user; `all_time` starts at their first heartbeat."""
    first = first_day(ctx, user, tz) if name.strip().lower().replace(" ", "_") in ("all_time", "any", "all") \
        else None
    return named_range(name, today=today_for(ctx, tz), tz=tz, first_day=first)


# -- all time ---------------------------------------------------------------------------------------------
class AllTimeReport(msgspec.Struct, kw_only=True):
    total: Total
    first: float | None
    last: float | None
    start_date: dt.date
    end_date: dt.date
    timezone: str
    daily_average: float
    timeout: int


def all_time_since_today(ctx: AppContext, user: User, *, filters: Filters | None = None) -> AllTimeReport:
    tz = user.timezone
    total, first, last = queries.all_time_total(replica_of(ctx), user.id, filters=read_filters(ctx, user, filters))
    today = today_for(ctx, tz)
    start = min(local_date(tz, first), today) if first is not None else today
    days = (today - start).days + 1
    return AllTimeReport(total=formatting.total(total), first=first, last=last, start_date=start, end_date=today,
                         timezone=tz, daily_average=total / days,
                         timeout=user.rule(ctx.settings.default_rule).timeout)


# -- durations and spans ----------------------------------------------------------------------------------
class Duration(msgspec.Struct, kw_only=True):
    name: str
    time: float
    duration: float


class DurationsReport(msgspec.Struct, kw_only=True):
    date: dt.date
    start: float
    end: float
    timezone: str
    slice_by: str
    durations: list[Duration]
    branches: list[str]


def durations(ctx: AppContext, user: User, day: dt.date, tz: str, *, slice_by: str = "project",
              filters: Filters | None = None) -> DurationsReport:
    """Continuous blocks of one day, one series per value of `slice_by` (WakaTime's durations)."""
    dimension = SLICE_BY.get(slice_by)
    if dimension is None:
        raise AnalyticsError(f"unknown slice_by: {slice_by!r} (use one of {', '.join(sorted(SLICE_BY))})")
    replica = replica_of(ctx)
    start, end = day_window(tz, day)
    rules = user_rules(ctx, user)
    filters = read_filters(ctx, user, filters, rules)
    summary = queries.summarize(replica, user.id, start, end, filters=filters,
                                dimensions=tuple(dict.fromkeys((dimension, "branch"))))
    blocks: list[Duration] = []
    for value, _ in summary.breakdowns[dimension]:
        # Spans of the intervals credited to this value: the rule runs on the whole stream, the filter after.
        value_filters = {**(filters or {}), dimension: [value]}
        for span_start, span_end in queries.spans(replica, user.id, start, end, filters=value_filters, sync=False):
            blocks.append(Duration(name=display_name(dimension, rules.display(dimension, value)), time=span_start,
                                   duration=span_end - span_start))
    blocks.sort(key=lambda b: (b.time, b.name))
    branches = [name for name, _ in named("branch", summary.breakdowns["branch"])]
    return DurationsReport(date=day, start=start, end=end, timezone=tz, slice_by=slice_by, durations=blocks,
                           branches=branches)


def spans(ctx: AppContext, user: User, start: float | None, end: float | None, *,
          filters: Filters | None = None) -> list[Span]:
    """Merged coding sessions in [start, end) (Hackatime's heartbeats/spans)."""
    return [Span(start_time=a, end_time=b, duration=b - a)
            for a, b in queries.spans(replica_of(ctx), user.id, start, end,
                                      filters=read_filters(ctx, user, filters))]


# -- heartbeats ----------------------------------------------------------------------------------------------
_FIELD_POSITIONS = [(name, STORED_COLUMNS.index(name)) for name in HEARTBEAT_FIELDS]


def _heartbeat_dict(row: HeartbeatRow) -> dict[str, Any]:
    data = {name: row[position] for name, position in _FIELD_POSITIONS}
    data["dependencies"] = msgspec.json.decode(data["dependencies"]) if data["dependencies"] else []
    data["is_write"] = None if data["is_write"] is None else bool(data["is_write"])
    return data


def heartbeats_between(ctx: AppContext, user: User, start: float, end: float, *,
                       limit: int | None = None) -> list[dict[str, Any]]:
    """The user's stored heartbeats with start <= time < end, oldest first."""
    return [_heartbeat_dict(row) for row in ctx.store.heartbeat_rows(user.id, start, end, limit=limit)]


def heartbeats_on(ctx: AppContext, user: User, day: dt.date, tz: str) -> list[dict[str, Any]]:
    """One local day's heartbeats in tz."""
    start, end = day_window(tz, day)
    return heartbeats_between(ctx, user, start, end)


def most_recent_heartbeat(ctx: AppContext, user: User, *, editor: str | None = None) -> dict[str, Any] | None:
    """The newest heartbeat of any source but `test` (optionally from one editor, in any case)."""
    row = ctx.store.newest_heartbeat(user.id, editor=editor)
    return _heartbeat_dict(row) if row else None


def delete_heartbeats(ctx: AppContext, user: User, ids: Sequence[int], *, day: dt.date | None = None,
                      tz: str | None = None) -> int:
    """Delete some of the user's heartbeats by id (only within `day` when given); returns how many went.

    Deletion leaves tombstones, so the analytics replica drops them at its next sync (before any read).
    """
    if not ids:
        return 0
    start, end = day_window(tz or user.timezone, day) if day is not None else (None, None)
    return ctx.store.delete_heartbeats(user.id, ids=list(ids), start=start, end=end)


# -- projects, machines, user agents ------------------------------------------------------------------------
class ProjectInfo(msgspec.Struct, kw_only=True):
    id: str
    name: str
    first_heartbeat_at: float
    last_heartbeat_at: float
    total_seconds: float


def projects(ctx: AppContext, user: User, *, q: str | None = None) -> list[ProjectInfo]:
    """Named projects, most recently active first; `q` matches a part of the name (any case)."""
    needle = (q or "").lower()
    rules = user_rules(ctx, user)
    # Under display names: projects merged by an alias are one entry; excluded and hidden ones are left out.
    merged: dict[str, list[float]] = {}
    for stored, first, last, total in queries.project_first_last(replica_of(ctx), user.id):
        name = rules.display("project", stored)
        if not name or rules.is_excluded(stored) or rules.is_hidden(stored) or needle not in name.lower():
            continue
        if name in merged:
            seen = merged[name]
            merged[name] = [min(seen[0], first), max(seen[1], last), seen[2] + total]
        else:
            merged[name] = [first, last, total]
    ordered = sorted(merged.items(), key=lambda item: (-item[1][1], item[0]))
    return [ProjectInfo(id=stable_id(user.public_id, "project", name), name=name, first_heartbeat_at=first,
                        last_heartbeat_at=last, total_seconds=total) for name, (first, last, total) in ordered]


class ProjectDetails(msgspec.Struct, kw_only=True):
    name: str
    total_seconds: float
    languages: list[str]
    total_heartbeats: int
    first_heartbeat: float
    last_heartbeat: float


def project_details(ctx: AppContext, user: User, names: Sequence[str] | None, start: float | None,
                    end: float | None) -> list[ProjectDetails]:
    """Per project in [start, end): coding time, languages used, heartbeat count, first/last heartbeat."""
    replica = replica_of(ctx)
    rules = user_rules(ctx, user)
    filters = read_filters(ctx, user, {"project": list(names)} if names else None, rules)
    summary = queries.summarize(replica, user.id, start, end, filters=filters, dimensions=("project",))
    wanted = [name for name, _ in summary.breakdowns["project"] if name]
    if not wanted:
        return []
    stats_by_name = catalog.project_stats(replica, user.id, wanted, start, end, sync=False)
    result = []
    for name, seconds in summary.breakdowns["project"]:
        if name in stats_by_name:
            count, first, last, languages = stats_by_name[name]
            result.append(ProjectDetails(name=rules.display("project", name) or name, total_seconds=seconds, languages=languages,
                                         total_heartbeats=count, first_heartbeat=first, last_heartbeat=last))
    return result


class MachineInfo(msgspec.Struct, kw_only=True):
    id: str
    name: str
    first_seen_at: float
    last_seen_at: float


def machine_names(ctx: AppContext, user: User) -> list[MachineInfo]:
    return [MachineInfo(id=stable_id(user.public_id, "machine", name), name=name, first_seen_at=first,
                        last_seen_at=last) for name, first, last in catalog.machine_first_last(replica_of(ctx), user.id)]


class UserAgentInfo(msgspec.Struct, kw_only=True):
    id: str
    value: str
    editor: str | None
    os: str | None
    first_seen_at: float
    last_seen_at: float


def user_agents(ctx: AppContext, user: User) -> list[UserAgentInfo]:
    return [UserAgentInfo(id=stable_id(user.public_id, "user_agent", ua), value=ua, editor=editor, os=os_name,
                          first_seen_at=first, last_seen_at=last)
            for ua, editor, os_name, first, last in ctx.store.user_agents(user.id)]


def last_heartbeat(ctx: AppContext, user: User) -> dict[str, Any] | None:
    """The newest heartbeat (any source but `test`), for the profile's last_* fields."""
    return most_recent_heartbeat(ctx, user)


# -- streaks and leaderboards ------------------------------------------------------------------------------
def streak(ctx: AppContext, user: User, *, live: bool = True) -> Streak | None:
    """Current and longest streak (days with enough coding in the user's zone) from the scheduler's cache;
    before the first streaks job it is computed live (a whole-history query), or None when `live=False`."""
    today = today_for(ctx, user.timezone)
    found = streaks.get_streak(ctx.store, user.id, today=today)
    if found is None:
        if not live:
            return None
        found = streaks.user_streak(replica_of(ctx), user.id, user.timezone, ctx.clock(), ctx.settings)
    return found


def leaderboard(ctx: AppContext, board: str, *, language: str | None = None, page: int = 1,
                page_size: int = 50, viewer_id: int | None = None) -> leaderboards.LeaderboardPage | leaderboards.NotBuilt:
    """A page of a board built by the scheduler (`NotBuilt` until its first run; never computed here), as
    `viewer_id` sees it (a suspected user sees themselves; others do not)."""
    return leaderboards.get_leaderboard(ctx.store, board, language=language, page=page, page_size=page_size,
                                        viewer_id=viewer_id)


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC)


def board_page(found: leaderboards.LeaderboardPage) -> Board:
    """A built page for readers: public ids, display names of languages, whole-second UTC times."""
    return Board(
        period=found.board, title=found.title, language=found.language, date_range=found.title,
        start_date=_utc(found.range_start) if found.range_start is not None else None,
        generated_at=_utc(found.generated_at), page=found.page, total_pages=found.total_pages,
        total_entries=found.total_entries,
        entries=[BoardRow(rank=e.rank, total_seconds=e.total_seconds, daily_average=e.daily_average,
                          streak=e.current_streak,
                          user=BoardUser(id=e.user.public_id, username=e.user.username,
                                         display_name=e.user.display_name),
                          languages=[BoardLanguage(name=display_name("language", lang.name),
                                                   total_seconds=lang.total_seconds) for lang in e.languages])
                 for e in found.entries],
    )


def leaderboard_rank(ctx: AppContext, board: str, user: User, *,
                     language: str | None = None) -> leaderboards.LeaderboardEntry | leaderboards.NotBuilt | None:
    return leaderboards.get_user_rank(ctx.store, board, user.id, language=language)
