"""AI-coding stats: what wakatime-cli sends as --line-additions/--line-deletions, --ai-line-changes,
--human-line-changes, --ai-session, --ai-model and the token counts, summed per project, local day and model.

The rows come from the store (StoreBackend.ai_rows: only heartbeats that carry one of these fields, via the
(user_id, time) index), so a user whose clients never send them reads no rows and gets `has_data = False`.
These are counts a client reports per heartbeat, not durations: they are summed, never run through the
duration rule. Distinct AI sessions are counted per group, so groups' `sessions` need not add up to the total.
Projects show under the user's display names; excluded projects are left out, as in every read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import msgspec

from hackatime_lite import reports
from hackatime_lite.analytics import timezones
from hackatime_lite.analytics.ranges import DateRange
from hackatime_lite.context import AppContext
from hackatime_lite.models import User
from hackatime_lite.store.records import AI_COLUMNS, AiRow

UNKNOWN_MODEL = "Unknown"
_COUNTS = ("line_additions", "line_deletions", "ai_line_changes", "human_line_changes", "ai_input_tokens",
           "ai_output_tokens", "ai_prompt_length")
_POSITION = {name: 2 + i for i, name in enumerate(AI_COLUMNS)}  # rows are (time, project, *AI_COLUMNS)


class AiFigures(msgspec.Struct, kw_only=True):
    """Sums over a set of heartbeats; `name` is the group's (None for the whole range)."""

    name: str | None = None
    heartbeats: int = 0
    line_additions: int = 0
    line_deletions: int = 0
    ai_line_changes: int = 0
    human_line_changes: int = 0
    ai_share: float | None = None
    """ai_line_changes / (ai + human line changes), 0..1; None when neither was sent."""
    sessions: int = 0
    """Distinct AI sessions (ai_session)."""
    ai_input_tokens: int = 0
    ai_output_tokens: int = 0
    ai_prompt_length: int = 0


class AiReport(msgspec.Struct, kw_only=True):
    start: dt.date
    end: dt.date
    timezone: str
    has_data: bool
    """Whether any heartbeat in the range carried an AI-coding field (no client sends them: False)."""
    total: AiFigures
    projects: list[AiFigures]
    days: list[AiFigures]
    """Days with data, oldest first; `name` is the local date (YYYY-MM-DD)."""
    models: list[AiFigures]


def figures(rows: Sequence[AiRow], name: str | None = None) -> AiFigures:
    """The sums of a group of ai_rows (one pass per column over the transposed rows)."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * (2 + len(AI_COLUMNS))
    sums = {column: sum(v for v in columns[_POSITION[column]] if v is not None) for column in _COUNTS}
    changed = sums["ai_line_changes"] + sums["human_line_changes"]
    return AiFigures(name=name, heartbeats=len(rows), **sums,
                     sessions=len({v for v in columns[_POSITION["ai_session"]] if v}),
                     ai_share=round(sums["ai_line_changes"] / changed, 4) if changed else None)


def _grouped(rows: Sequence[tuple[str, AiRow]]) -> list[AiFigures]:
    groups: dict[str, list[AiRow]] = {}
    for key, row in rows:
        groups.setdefault(key, []).append(row)
    return [figures(members, key) for key, members in groups.items()]


def _ranked(groups: list[AiFigures]) -> list[AiFigures]:
    return sorted(groups, key=lambda g: (-g.ai_line_changes, -g.heartbeats, g.name or ""))


def ai_report(ctx: AppContext, user: User, rng: DateRange, *, projects: Sequence[str] | None = None) -> AiReport:
    """AI-coding figures over `rng` (local days in rng.tz), optionally only for these projects (display names)."""
    start, end = rng.window
    rules = reports.user_rules(ctx, user)
    wanted = {p.lower() for p in projects} if projects else None
    # Each stored project is looked up in the rules once (rules may hold wildcards), not once per row.
    shown_as: dict[str | None, str | None] = {}
    kept: list[tuple[str, AiRow]] = []
    for row in ctx.store.ai_rows(user.id, start, end):
        stored = row[1]
        if stored not in shown_as:
            shown = reports.display_name("project", rules.display("project", stored))
            excluded = rules.is_excluded(stored) or (wanted is not None and shown.lower() not in wanted)
            shown_as[stored] = None if excluded else shown
        name = shown_as[stored]
        if name is not None:
            kept.append((name, row))
    rows = [row for _, row in kept]
    zone = timezones.zone(rng.tz)
    by_day = [(dt.datetime.fromtimestamp(row[0], zone).date().isoformat(), row) for row in rows]
    by_model = [(row[_POSITION["ai_model"]] or UNKNOWN_MODEL, row) for row in rows]
    return AiReport(
        start=rng.start, end=rng.end, timezone=rng.tz, has_data=bool(rows), total=figures(rows),
        projects=_ranked(_grouped(kept)), days=sorted(_grouped(by_day), key=lambda g: g.name or ""),
        models=_ranked(_grouped(by_model)),
    )
