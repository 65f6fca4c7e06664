"""The team dashboard: totals, per-member time, projects, languages, daily bars and the team's own boards.

Every figure is each member's own coding time from reports.py (the one duration rule, each member's own rule,
zone and local days), added up over the member set: so the team's numbers are exactly the sum of what each
member sees on their own dashboard. A member's day is their own local day (like the public boards' "today").

What the viewer sees: the totals (time, days, projects, languages) count every member; the per-member rows and
the team boards list only the members whose detail the viewer may see (hackatime_lite.teams.visible_ids);
`hidden_members` says how many are counted in the totals only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import msgspec

from hackatime_lite import reports
from hackatime_lite.context import AppContext
from hackatime_lite.errors import InputError
from hackatime_lite.models import User
from hackatime_lite.store.records import Team, TeamMember
from hackatime_lite.teams import team_for, visible_ids

BOARD_RANGES = ("today", "last_7_days", "last_30_days")
RANGES = BOARD_RANGES


class DayTime(msgspec.Struct, kw_only=True, frozen=True):
    date: dt.date
    total_seconds: float


class NamedTime(msgspec.Struct, kw_only=True, frozen=True):
    name: str
    total_seconds: float


class BoardEntry(msgspec.Struct, kw_only=True, frozen=True):
    rank: int
    username: str
    display_name: str | None
    total_seconds: float


class MemberTime(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    username: str
    display_name: str | None
    role: str
    shares: bool
    total_seconds: float
    days: list[DayTime]
    projects: list[NamedTime]
    languages: list[NamedTime]


class TeamReport(msgspec.Struct, kw_only=True):
    team_id: str
    name: str
    range: str
    viewer_role: str
    member_count: int
    hidden_members: int
    total_seconds: float
    days: list[DayTime]
    projects: list[NamedTime]
    languages: list[NamedTime]
    members: list[MemberTime]
    boards: dict[str, list[BoardEntry]]
    language_boards: dict[str, list[BoardEntry]]


def _ranked(rows: list[tuple[TeamMember, float]]) -> list[BoardEntry]:
    """Standard competition ranking (1, 2, 2, 4) by whole seconds, ties by username; no time, no place."""
    ordered = sorted(((m, s) for m, s in rows if s > 0), key=lambda r: (-int(r[1]), r[0].username.lower()))
    board: list[BoardEntry] = []
    for index, (member, seconds) in enumerate(ordered):
        rank = board[-1].rank if board and int(board[-1].total_seconds) == int(seconds) else index + 1
        board.append(BoardEntry(rank=rank, username=member.username, display_name=member.display_name,
                                total_seconds=seconds))
    return board


def _named(totals: dict[str, float]) -> list[NamedTime]:
    return [NamedTime(name=name, total_seconds=seconds)
            for name, seconds in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0].lower())) if seconds > 0]


def _member_time(user: User, member: TeamMember, found: reports.SummariesReport,
                 start: dt.date, end: dt.date) -> MemberTime:
    """The member's time on their own local days start..end, from their summaries of a range covering them."""
    days = [d for d in found.days if start <= d.date <= end]
    projects: dict[str, float] = defaultdict(float)
    languages: dict[str, float] = defaultdict(float)
    for day in days:
        for entry in day.breakdowns.get("projects", []):
            projects[entry.name] += entry.total_seconds
        for entry in day.breakdowns.get("languages", []):
            languages[entry.name] += entry.total_seconds
    return MemberTime(id=user.public_id, username=user.username, display_name=user.display_name, role=member.role,
                      shares=member.shares, total_seconds=sum(d.grand_total.total_seconds for d in days),
                      days=[DayTime(date=d.date, total_seconds=d.grand_total.total_seconds) for d in days],
                      projects=_named(projects), languages=_named(languages))


def _member_times(ctx: AppContext, user: User, member: TeamMember) -> dict[str, MemberTime]:
    """Every range of RANGES from one read: the last 30 days hold the shorter ranges' days too (days add up)."""
    ranges = {name: reports.resolve_named_range(ctx, user, name, user.timezone) for name in RANGES}
    first = min(r.start for r in ranges.values())
    last = max(r.end for r in ranges.values())
    widest = next(r for r in ranges.values() if (r.start, r.end) == (first, last))
    found = reports.summaries(ctx, user, widest)
    return {name: _member_time(user, member, found, r.start, r.end) for name, r in ranges.items()}


def team_report(ctx: AppContext, viewer: User, team_ref: str, range_name: str = "last_7_days") -> TeamReport:
    """The dashboard of a team the viewer belongs to (ForbiddenError otherwise)."""
    if range_name not in RANGES:
        raise InputError(f"range must be one of {', '.join(RANGES)}")
    team, me = team_for(ctx.store, viewer, team_ref)
    return _report(ctx, team, me, range_name)


def _report(ctx: AppContext, team: Team, me: TeamMember, range_name: str) -> TeamReport:
    members = ctx.store.team_members(team.id)
    shown = visible_ids(me, members)
    users = {m.user_id: ctx.store.get_user(m.user_id) for m in members}
    per_member = {m.user_id: _member_times(ctx, user, m) for m in members if (user := users[m.user_id]) is not None}
    times = {name: {user_id: found[name] for user_id, found in per_member.items()} for name in RANGES}
    chosen = times[range_name]
    days: dict[dt.date, float] = defaultdict(float)
    projects: dict[str, float] = defaultdict(float)
    languages: dict[str, float] = defaultdict(float)
    for time in chosen.values():
        for day in time.days:
            days[day.date] += day.total_seconds
        for entry in time.projects:
            projects[entry.name] += entry.total_seconds
        for entry in time.languages:
            languages[entry.name] += entry.total_seconds
    visible = [m for m in members if m.user_id in shown and m.user_id in chosen]
    boards = {name: _ranked([(m, times[name][m.user_id].total_seconds) for m in visible]) for name in BOARD_RANGES}
    language_boards: dict[str, list[BoardEntry]] = {}
    for language in sorted({e.name for m in visible for e in chosen[m.user_id].languages}, key=str.lower):
        language_boards[language] = _ranked([
            (m, sum(e.total_seconds for e in chosen[m.user_id].languages if e.name == language)) for m in visible])
    return TeamReport(
        team_id=team.public_id, name=team.name, range=range_name, viewer_role=me.role, member_count=len(members),
        hidden_members=len(members) - len(visible),
        total_seconds=sum(t.total_seconds for t in chosen.values()),
        days=[DayTime(date=day, total_seconds=seconds) for day, seconds in sorted(days.items())],
        projects=_named(projects), languages=_named(languages),
        members=[chosen[m.user_id] for m in visible], boards=boards, language_boards=language_boards)
