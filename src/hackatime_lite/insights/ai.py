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
from collections.abc import Iterable, Sequence

import msgspec

from hackatime_lite import reports
from hackatime_lite.analytics.ranges import DateRange
from hackatime_lite.analytics.timezones import local_date
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


def figures(rows: Iterable[AiRow], name: str | None = None) -> AiFigures:
    """The sums of a group of ai_rows."""
    found = AiFigures(name=name)
    sessions: set[str] = set()
    for row in rows:
        found.heartbeats += 1
        for column in _COUNTS:
            value = row[_POSITION[column]]
            if value is not None:
                setattr(found, column, getattr(found, column) + int(value))
        session = row[_POSITION["ai_session"]]
        if session:
            sessions.add(session)
    found.sessions = len(sessions)
    changed = found.ai_line_changes + found.human_line_changes
    found.ai_share = round(found.ai_line_changes / changed, 4) if changed else None
    return found


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
    kept: list[tuple[str, AiRow]] = []
    for row in ctx.store.ai_rows(user.id, start, end):
        stored = row[1]
        if rules.is_excluded(stored):
            continue
        shown = reports.display_name("project", rules.display("project", stored))
        if wanted is not None and shown.lower() not in wanted:
            continue
        kept.append((shown, row))
    rows = [row for _, row in kept]
    by_day = [(local_date(rng.tz, row[0]).isoformat(), row) for row in rows]
    by_model = [(row[_POSITION["ai_model"]] or UNKNOWN_MODEL, row) for row in rows]
    return AiReport(
        start=rng.start, end=rng.end, timezone=rng.tz, has_data=bool(rows), total=figures(rows),
        projects=_ranked(_grouped(kept)), days=sorted(_grouped(by_day), key=lambda g: g.name or ""),
        models=_ranked(_grouped(by_model)),
    )
