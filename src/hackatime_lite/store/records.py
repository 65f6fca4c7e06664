"""Plain data the store interface takes and returns: one shape for every backend.

Heartbeat rows cross the interface as tuples in HEARTBEAT_COLUMNS order, in one representation whatever
the backend stores: dependencies as JSON text, is_write as 0 / 1 / None, the dedup hash as bytes. Reads
return STORED_COLUMNS (the same with the id first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import msgspec

from hackatime_lite.models import HEARTBEAT_COLUMNS, Heartbeat, User

HeartbeatRow = tuple[Any, ...]
STORED_COLUMNS: tuple[str, ...] = ("id", *HEARTBEAT_COLUMNS)
# (heartbeat id, newly inserted) per inserted row; a duplicate reports the id of the row it duplicates.
InsertOutcome = tuple[int, bool]


def heartbeat_row(hb: Heartbeat, dedup_hash: bytes, created_at: float) -> HeartbeatRow:
    """A Heartbeat as a tuple in HEARTBEAT_COLUMNS order."""
    return (
        hb.user_id,
        hb.time,
        hb.entity,
        hb.type,
        hb.category,
        hb.project,
        hb.branch,
        hb.language,
        msgspec.json.encode(hb.dependencies).decode() if hb.dependencies else None,
        hb.lines,
        hb.lineno,
        hb.cursorpos,
        None if hb.is_write is None else int(hb.is_write),
        hb.project_root_count,
        hb.line_additions,
        hb.line_deletions,
        hb.ai_line_changes,
        hb.human_line_changes,
        hb.ai_session,
        hb.ai_model,
        hb.ai_input_tokens,
        hb.ai_output_tokens,
        hb.ai_prompt_length,
        hb.user_agent,
        hb.editor,
        hb.operating_system,
        hb.machine,
        hb.source,
        dedup_hash,
        created_at,
    )


class UserAgentSeen(NamedTuple):
    user_agent: str
    editor: str | None
    operating_system: str | None
    first_seen_at: float
    last_seen_at: float


@dataclass(frozen=True)
class ChangeMarks:
    """How far the store has moved, for the replica: ids and sequence numbers are never reused, so a replica
    that copied up to these marks has seen every row and every deletion before them."""

    heartbeat_id: int
    tombstone_seq: int
    users_version: str


# -- web sessions and invites -------------------------------------------------------------------------
class LiveSession(NamedTuple):
    user: User
    session_id: int
    last_seen_at: float


class Invite(msgspec.Struct, kw_only=True):
    id: int
    code_hint: str
    note: str | None
    created_by: int | None
    created_at: float
    expires_at: float | None
    max_uses: int
    uses: int
    last_used_at: float | None
    revoked_at: float | None

    def usable(self, now: float) -> bool:
        return (
            self.revoked_at is None
            and self.uses < self.max_uses
            and (self.expires_at is None or self.expires_at > now)
        )


# -- mirror targets and the outbox --------------------------------------------------------------------
@dataclass(frozen=True)
class TargetRow:
    id: int
    user_id: int
    url: str
    api_key_encrypted: str
    key_hint: str
    created_at: float
    updated_at: float
    paused_at: float | None
    pause_reason: str | None
    failures: int
    retry_at: float | None
    last_attempt_at: float | None
    last_success_at: float | None
    last_error: str | None
    delivered_count: int
    rejected_count: int


@dataclass(frozen=True)
class OutboxItem:
    outbox_id: int
    heartbeat_id: int
    origins: str
    attempts: int
    heartbeat: dict[str, Any]
    """The stored row by STORED_COLUMNS name, in the row representation above."""


@dataclass(frozen=True)
class OutboxCounts:
    pending: int
    due: int
    oldest_created_at: float | None
    retrying: int


# (outbox_id, heartbeat_id, status, error): an item the upstream refused for good.
Rejected = tuple[int, int, int, str | None]
# (outbox_id, next_attempt_at, error): an item to try again later.
Retry = tuple[int, float, str]


# -- scheduler job runs -------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobRun:
    """A job's persisted record; `last_result` is JSON text."""

    name: str
    last_started_at: float | None
    last_finished_at: float | None
    last_duration_ms: float | None
    last_error: str | None
    last_result: str | None
    last_success_at: float | None
    next_due_at: float | None
    run_count: int
    error_count: int
    requested_at: float | None


@dataclass(frozen=True)
class JobRunUpdate:
    """Runs since the last update: `runs` and `errors` are added to the totals; `answered_request` clears
    the command line's request if it is still the one this run answered."""

    name: str
    last_started_at: float | None
    last_finished_at: float | None
    last_duration_ms: float | None
    last_error: str | None
    last_result: str | None
    last_success_at: float | None
    next_due_at: float | None
    runs: int
    errors: int
    updated_at: float
    answered_request: float | None = None


# -- leaderboard cache --------------------------------------------------------------------------------
@dataclass(frozen=True)
class BoardRow:
    user_id: int
    total_seconds: float
    daily_average: float
    languages: list[tuple[str | None, float]]


@dataclass
class BuiltBoard:
    """One board and its per-language boards, ready to store."""

    board: str
    days: int
    range_start: float | None
    range_end: float | None
    overall: list[BoardRow]
    per_language: dict[str, list[BoardRow]]


@dataclass(frozen=True)
class BoardHeader:
    """A stored board's metadata; `language` as stored ('' for the all-languages board)."""

    generated_at: float
    range_start: float | None
    range_end: float | None
    days: int
    language: str


# -- goals ------------------------------------------------------------------------------------------------
class GoalSpec(msgspec.Struct, kw_only=True, frozen=True):
    """What a goal asks for, as stored (checked by hackatime_lite.goals before it reaches a store).

    `delta` is "day" or "week"; `seconds` the target (an upper limit when `is_inverse`); the lists restrict the
    counted time to those languages / projects / editors / categories (empty: all); `ignore_days` are lowercase
    weekday names ("saturday")."""

    delta: str
    seconds: int
    is_inverse: bool = False
    languages: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    editors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    ignore_days: tuple[str, ...] = ()
    ignore_zero_days: bool = False
    improve_by_percent: float | None = None
    is_enabled: bool = True
    custom_title: str | None = None


class StoredGoal(msgspec.Struct, kw_only=True, frozen=True):
    """One user's goal: `id` is its public UUID (what URLs carry); `user_id` its owner."""

    id: str
    user_id: int
    spec: GoalSpec
    created_at: float
    modified_at: float | None = None


# -- trust and admin levels, the audit log (store/sqlite/trust.py, store/postgres/trust.py) ----------------
# Hackatime's levels by their meaning (its enum says blue/red/green/yellow). The users table has stored
# "unscored" as 'default' since the first migration, so the store maps that one name at its edge.
TRUST_LEVELS = ("unscored", "trusted", "suspected", "convicted")
# Privilege order, lowest first ("none" is an ordinary user); never compare anything else by position.
ADMIN_LEVELS = ("none", "viewer", "admin", "superadmin")


def stored_trust(level: str) -> str:
    return "default" if level == "unscored" else level


def public_trust(stored: str) -> str:
    return "unscored" if stored == "default" else stored


def effective_admin_level(is_admin: bool, stored: str | None) -> str:
    """The is_admin flag stays the truth for "may administer" (older code and tools set it): an admin is
    `admin` unless raised to `superadmin`; a non-admin is `viewer` only when made one, else `none`."""
    if is_admin:
        return stored if stored in ("admin", "superadmin") else "admin"
    return "viewer" if stored == "viewer" else "none"


class AuditEntry(msgspec.Struct, kw_only=True, frozen=True):
    """One change of a user's trust or admin level. Names are kept as they were at the time, so the entry
    survives the deletion of either user; `actor_id` None with `actor_name` "cli" is the operator's CLI."""

    id: int
    actor_id: int | None
    actor_name: str
    target_id: int | None
    target_name: str
    field: str
    old_value: str
    new_value: str
    reason: str | None
    created_at: float


# -- aliases, labels, language mappings, exclusions (store/sqlite/aliases.py, store/postgres/aliases.py) --------
# A user's read-time rules, checked by hackatime_lite.aliases before they reach a store. One row shape for all:
#   alias     dimension, pattern (exact or with * / ? wildcards) -> value (the display value)
#   label     dimension "project", pattern = a project, value = the label
#   language  dimension "language", pattern = a file extension (no dot, lowercase), value = the language
#   exclude   dimension "project", pattern = a project left out of totals and leaderboards, value ""
#   hide      dimension "project", pattern = a project left out of project lists ("" = the unknown project)
ALIAS_KINDS = ("alias", "label", "language", "exclude", "hide")


class AliasRuleSpec(msgspec.Struct, kw_only=True, frozen=True):
    kind: str
    dimension: str
    pattern: str
    value: str = ""


class AliasRule(msgspec.Struct, kw_only=True, frozen=True):
    """One stored rule: `id` is unique per store; every read and delete is scoped by `user_id`."""

    id: int
    user_id: int
    spec: AliasRuleSpec
    created_at: float


# -- teams (store/sqlite/teams.py, store/postgres/teams.py; rules in hackatime_lite.teams) -------------------
TEAM_ROLES = ("owner", "admin", "member")


class Team(msgspec.Struct, kw_only=True, frozen=True):
    """`public_id` (a UUID) is what URLs carry."""

    id: int
    public_id: str
    name: str
    created_by: int | None
    created_at: float
    modified_at: float


class TeamMember(msgspec.Struct, kw_only=True, frozen=True):
    """A membership with the member's names; `shares` is the member's own choice to show their detail (time,
    projects, languages) to the whole team, not only to its owners and admins."""

    team_id: int
    user_id: int
    public_id: str
    username: str
    display_name: str | None
    role: str
    shares: bool
    joined_at: float


class TeamInvite(msgspec.Struct, kw_only=True, frozen=True):
    """A team's invite code (stored only hashed; `code_hint` is its first characters), like a sign-up
    invite: it expires, has a number of uses and can be revoked."""

    id: int
    team_id: int
    code_hint: str
    created_by: int | None
    created_at: float
    expires_at: float | None
    max_uses: int
    uses: int
    revoked_at: float | None

    def usable(self, now: float) -> bool:
        return (self.revoked_at is None and self.uses < self.max_uses
                and (self.expires_at is None or now < self.expires_at))


# The AI-coding fields of a heartbeat (wakatime-cli's --line-additions, --ai-line-changes, --ai-session, …):
# StoreBackend.ai_rows returns (time, project, *AI_COLUMNS) per heartbeat that carries any of them.
AI_COLUMNS: tuple[str, ...] = (
    "ai_model", "ai_session", "line_additions", "line_deletions", "ai_line_changes", "human_line_changes",
    "ai_input_tokens", "ai_output_tokens", "ai_prompt_length",
)
AiRow = tuple[Any, ...]
