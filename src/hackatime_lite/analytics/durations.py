"""The one duration rule, in DuckDB SQL. Every coding-time figure is computed from `intervals_cte`.

Per user, heartbeats ordered by (time, id); heartbeat i covers [t_i, t_i + c_i) where
- capped mode:    c_i = min(t_{i+1} - t_i, timeout)
- keystroke mode: c_i = t_{i+1} - t_i if that is < timeout, else 0
- the last heartbeat (no successor yet) has c_i = 0; a duplicate at the same time has a 0 gap.
A window [start, end) counts each interval clipped to it. Gaps are computed over the user's whole stream
(LEAD per user ordered by (time, id), `successor_gap_sql`): the replica keeps each row's successor gap up to
date at sync, so reads are scans; the stream is read from `start - MAX_TIMEOUT` (a heartbeat before the window
can reach into it). Filters select intervals after that, never before. Heartbeats from excluded sources
(`doctor`'s 'test') are not part of the stream at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hackatime_lite import models
from hackatime_lite.errors import InputError
from hackatime_lite.models import DurationRule, check_mode

# Timeouts are validated to 30 s – 60 min (DurationRule), so no interval is ever longer than this.
MAX_TIMEOUT = float(models.MAX_TIMEOUT)
DEFAULT_EXCLUDED_SOURCES: tuple[str, ...] = ("test",)
# A filter key "!project" leaves those values out (filter_sql).
NEGATED = "!"
# Filters on these dimensions match values in any case (filter_sql).
CASE_INSENSITIVE = frozenset({"category"})

# Breakdown dimension -> replica column (models.DIMENSIONS). "dependency" unnests the dependencies list.
DIMENSIONS: tuple[str, ...] = tuple(d.name for d in models.DIMENSIONS)
_DIMENSION_COLUMNS = {d.name: d.column for d in models.DIMENSIONS if d.column is not None}


class AnalyticsError(InputError):
    """A query asked for something that does not exist (unknown dimension, bad window); safe to show."""


def dimension_column(dimension: str) -> str:
    """The replica column (quoted as needed) for a scalar dimension."""
    if dimension == "dependency":
        raise AnalyticsError("dependency is a list; use breakdown_source()")
    try:
        return _DIMENSION_COLUMNS[dimension]
    except KeyError:
        raise AnalyticsError(f"unknown dimension: {dimension!r}") from None


def check_dimensions(dimensions: Iterable[str]) -> tuple[str, ...]:
    dims = tuple(dimensions)
    for dim in dims:
        if dim not in DIMENSIONS:
            raise AnalyticsError(f"unknown dimension: {dim!r}")
    return dims


@dataclass
class Window:
    """The SQL for one query's interval set plus its named parameters (DuckDB `$name` style)."""

    cte: str
    params: dict[str, Any] = field(default_factory=dict)
    filter_sql: str = "TRUE"

    def with_params(self, **extra: Any) -> dict[str, Any]:
        return {**self.params, **extra}


def in_list_sql(expr: str, name: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """(`expr IN ($name_0, $name_1, …)`, the parameters binding each value); "FALSE" for no values.

    Values are bound, never quoted into SQL text; an IN list of parameters keeps the plan of a list of
    constants (measured as fast as literals) and their NULL semantics.
    """
    names = [f"{name}_{i}" for i in range(len(values))]
    if not names:
        return "FALSE", {}
    return f"{expr} IN ({', '.join('$' + n for n in names)})", dict(zip(names, values, strict=True))


def successor_gap_sql(time: str = "time", id_: str = "id", partition: str = "user_id") -> str:
    """The gap from a heartbeat to its successor in the user's stream (ordered by time, id), clamped to
    MAX_TIMEOUT; NULL for the last heartbeat. Every timeout is ≤ MAX_TIMEOUT, so clamping changes no rule
    outcome, and it lets the replica keep this value per row (it changes only near new or deleted rows)."""
    gap = f"(LEAD({time}) OVER (PARTITION BY {partition} ORDER BY {time}, {id_}) - {time})"
    # Not LEAST(): DuckDB's LEAST skips NULLs, and NULL (no successor) must stay NULL.
    return f"CASE WHEN {gap} > {MAX_TIMEOUT} THEN {MAX_TIMEOUT} ELSE {gap} END"


def excluded_sources_sql(column: str = "source",
                         sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES) -> tuple[str, dict[str, Any]]:
    """(`column IN (…)` for the sources that are not part of anyone's stream, its parameters).

    The parameter names do not depend on `column`, so fragments for "source" and "h.source" in one
    statement share them.
    """
    return in_list_sql(column, "excluded_source", sorted(set(sources)))


def stored_gap_sql() -> tuple[str, dict[str, Any]]:
    """(the replica's `gap` column: successor_gap_sql over the stream without excluded sources, NULL for
    those; its parameters)."""
    excluded, params = excluded_sources_sql()
    return f"CASE WHEN NOT ({excluded}) THEN {successor_gap_sql(partition=f'user_id, ({excluded})')} END", params


def rule_sql(gap: str, timeout: str, mode: str) -> str:
    """c_i from the (clamped) successor gap: 0 for the last heartbeat, else by mode."""
    return (f"CASE WHEN {gap} IS NULL THEN 0.0 WHEN {mode} = 'keystroke' "
            f"THEN CASE WHEN {gap} < {timeout} THEN {gap} ELSE 0.0 END "
            f"ELSE LEAST({gap}, {timeout}::DOUBLE) END")


def intervals_cte(
    *,
    user_id: int | None,
    start: float | None,
    end: float | None,
    default_timeout: int,
    default_mode: str,
    filters: Mapping[str, Iterable[str | None]] | None = None,
    exclude_sources: Iterable[str] = DEFAULT_EXCLUDED_SOURCES,
    rule: DurationRule | None = None,
    users: Sequence[int] | None = None,
    ranges: Sequence[tuple[float, float]] | None = None,
) -> Window:
    """`WITH …` text defining `intervals`: one row per heartbeat that can count in [start, end).

    Columns: every heartbeat column used by breakdowns, `tz`, `iv_start`/`iv_end` (the unclipped interval),
    `cs`/`ce` (clipped to the window) and `seconds = ce - cs` (≥ 0). Heartbeats inside the window are kept
    even when their interval is empty, so first/last times can be read from the same rows.
    `user_id=None` means every user; `start`/`end` None mean unbounded. The returned Window's
    `filter_sql` is the boolean filter expression over `intervals` (apply it in the consuming query).
    `rule` (a DurationRule) replaces the users' own rule (the settings page previews a change before saving).

    With the default `exclude_sources` the successor gaps come from the replica's maintained `gap` column
    (the same successor_gap_sql, evaluated at sync); with any other set they are computed here with the
    same expression over that stream, reading past `end` and `MAX_TIMEOUT` before `start`.

    `users` limits the stream to those users (`user_id` None); `ranges` (stored gaps only) reads just the rows
    whose time is in one of these disjoint [lo, hi) ranges instead of [start - MAX_TIMEOUT, end): the rollup
    path needs only the rows whose intervals can reach a window's partial edge days.
    """
    check_mode(default_mode)
    if start is not None and end is not None and end < start:
        raise AnalyticsError("window end is before its start")
    params: dict[str, Any] = {}
    stream_where = ["TRUE"]
    if user_id is not None:
        stream_where.append("h.user_id = $user_id")
        params["user_id"] = int(user_id)
    elif users is not None:
        members, member_params = in_list_sql("h.user_id", "stream_user", [int(u) for u in users])
        stream_where.append(members)
        params.update(member_params)
    sources = sorted(set(exclude_sources))
    if sources:
        excluded, excluded_params = excluded_sources_sql("h.source", sources)
        stream_where.append(f"NOT ({excluded})")
        params.update(excluded_params)
    stored_gaps = sources == sorted(DEFAULT_EXCLUDED_SOURCES)
    if ranges is not None and not stored_gaps:
        raise ValueError("ranges need the stored gaps (the default excluded sources)")
    scope = " AND ".join(stream_where)
    bounded = list(stream_where)
    if start is not None:
        bounded.append("h.time >= $lo")
        params["lo"] = float(start) - MAX_TIMEOUT
        params["start"] = float(start)
    if end is not None:
        params["end"] = float(end)
        if stored_gaps:
            bounded.append("h.time < $end")
        else:
            bounded.append("h.time < $hi")
            params["hi"] = float(end) + MAX_TIMEOUT
    columns = ('h.id, h.user_id, h.time, h.entity, h."type", h.category, h.project, h.branch, h.language, '
               "h.dependencies, h.editor, h.operating_system, h.machine, h.is_write")
    if ranges is not None:
        params.pop("lo", None)  # the ranges replace the one [lo, end) scan
        # One scan with an OR of the ranges: rows are sorted by user, so for every user at once no range prunes
        # row groups and a scan per range would read the whole time column once per range; for one user the
        # user_id zone maps prune either way.
        parts = []
        for index, (lo, hi) in enumerate(ranges):
            params[f"range_lo_{index}"], params[f"range_hi_{index}"] = float(lo), float(hi)
            parts.append(f"(h.time >= $range_lo_{index} AND h.time < $range_hi_{index})")
        gaps = f"""
gaps AS (
    SELECT {columns}, h.gap FROM heartbeats h WHERE {scope} AND ({" OR ".join(parts) or "FALSE"})
)"""
    elif stored_gaps:
        gaps = f"""
gaps AS (
    SELECT {columns}, h.gap FROM heartbeats h WHERE {" AND ".join(bounded)}
)"""
    else:
        # Beyond $hi only the existence of a successor matters: such a gap exceeds every timeout.
        later = (f"SELECT DISTINCT h.user_id FROM heartbeats h WHERE {scope} AND h.time >= $hi"
                 if end is not None else "SELECT NULL::INTEGER AS user_id WHERE FALSE")
        gaps = f"""
stream AS (SELECT {columns} FROM heartbeats h WHERE {" AND ".join(bounded)}),
later AS ({later}),
gaps AS (
    SELECT s.* EXCLUDE (lead_gap, has_later),
           CASE WHEN lead_gap IS NULL AND has_later THEN {MAX_TIMEOUT} ELSE lead_gap END AS gap
    FROM (SELECT s.*, {successor_gap_sql("s.time", "s.id", "s.user_id")} AS lead_gap,
                 s.user_id IN (SELECT user_id FROM later) AS has_later
          FROM stream s) s
)"""
    if rule:
        timeout_sql, mode_sql = "$rule_timeout", "$rule_mode"
        params.update(rule_timeout=rule.timeout, rule_mode=rule.mode)
    else:
        # Users not (yet) in the replica's users table count with the server defaults.
        timeout_sql = "COALESCE(u.timeout, $default_timeout)"
        mode_sql = "COALESCE(u.duration_mode, $default_mode)"
        params.update(default_timeout=int(default_timeout), default_mode=default_mode)
    clip_start = "GREATEST(iv_start, $start)" if start is not None else "iv_start"
    clip_end = "LEAST(iv_end, $end)" if end is not None else "iv_end"
    keep = ["TRUE"]
    if end is not None:
        keep.append("iv_start < $end")
    if start is not None:
        keep.append("(iv_end > $start OR iv_start >= $start)")
    cte = f"""{gaps},
rule AS (
    SELECT g.*,
           COALESCE(u.timezone, 'UTC') AS tz,
           {timeout_sql} AS timeout,
           {mode_sql} AS mode
    FROM gaps g
    LEFT JOIN users u ON u.id = g.user_id
),
timed AS (
    SELECT r.*, r.time AS iv_start, r.time + {rule_sql("r.gap", "r.timeout", "r.mode")} AS iv_end
    FROM rule r
),
intervals AS (
    SELECT t.*, {clip_start} AS cs, GREATEST({clip_end}, {clip_start}) AS ce,
           GREATEST({clip_end} - {clip_start}, 0.0) AS seconds
    FROM timed t
    WHERE {" AND ".join(keep)}
)"""
    window = Window(cte=cte, params=params)
    window.filter_sql = filter_sql(filters, params)
    return window


def filter_sql(filters: Mapping[str, Iterable[str | None]] | None, params: dict[str, Any]) -> str:
    """Boolean SQL over `intervals` for {dimension: allowed values}; adds its parameters to `params`.

    A value of None or "" matches a missing value (NULL or empty string; for "dependency": no dependencies).
    Values within one dimension are alternatives (OR); dimensions combine with AND. An empty value list
    matches nothing. A key "!dimension" (NEGATED) matches every interval whose value is not among its values.
    """
    if not filters:
        return "TRUE"
    clauses = []
    for index, (key, values) in enumerate(sorted(filters.items())):
        # "!dimension": the values are left out instead (a user's excluded projects, hackatime_lite.aliases).
        negated = key.startswith(NEGATED)
        dimension = key.removeprefix(NEGATED)
        check_dimensions([dimension])
        wanted = list(values)
        named = [v for v in wanted if v not in (None, "")]
        wants_missing = len(named) != len(wanted)
        name = f"filter_{index}"
        params[name] = named
        if dimension == "dependency":
            parts = [f"list_has_any(dependencies, ${name}::VARCHAR[])"]
            if wants_missing:
                parts.append("(dependencies IS NULL OR len(dependencies) = 0)")
        elif dimension in CASE_INSENSITIVE:
            # WakaTime matches categories in any case ("Coding", "coding"): compare lowercased.
            column = dimension_column(dimension)
            params[name] = [v.lower() for v in named if v is not None]
            parts = [f"list_contains(${name}::VARCHAR[], lower({column}))"]
            if wants_missing:
                parts.append(f"({column} IS NULL OR {column} = '')")
        else:
            column = dimension_column(dimension)
            parts = [f"list_contains(${name}::VARCHAR[], {column})"]
            if wants_missing:
                parts.append(f"({column} IS NULL OR {column} = '')")
        clause = "COALESCE(" + " OR ".join(parts) + ", FALSE)"
        clauses.append(f"NOT {clause}" if negated else clause)
    return " AND ".join(clauses)


def filter_dimensions(filters: Mapping[str, object] | None) -> set[str]:
    """The dimensions a filter mapping reads (its keys without the NEGATED prefix)."""
    return {key.removeprefix(NEGATED) for key in filters or {}}


def breakdown_source(dimension: str) -> tuple[str, str]:
    """(FROM-clause suffix, value expression) to group `intervals` rows by one dimension.

    For "dependency" each interval is credited to every dependency (so that breakdown does not sum to the
    total: heartbeats without dependencies are absent, those with several count once per dependency).
    """
    if dimension == "dependency":
        return ", UNNEST(CASE WHEN len(dependencies) > 0 THEN dependencies END) AS dep(value)", "dep.value"
    return "", dimension_column(dimension)
