"""Shared data shapes (msgspec Structs) passed between layers."""

from __future__ import annotations

import msgspec

# Columns of a stored heartbeat, in table order (after id): used by ingest, the replica copy and export.
HEARTBEAT_COLUMNS: tuple[str, ...] = (
    "user_id",
    "time",
    "entity",
    "type",
    "category",
    "project",
    "branch",
    "language",
    "dependencies",
    "lines",
    "lineno",
    "cursorpos",
    "is_write",
    "project_root_count",
    "line_additions",
    "line_deletions",
    "ai_line_changes",
    "human_line_changes",
    "ai_session",
    "ai_model",
    "ai_input_tokens",
    "ai_output_tokens",
    "ai_prompt_length",
    "user_agent",
    "editor",
    "operating_system",
    "machine",
    "source",
    "dedup_hash",
    "created_at",
)

HEARTBEAT_TYPES = frozenset({"file", "domain", "url", "app"})
BROWSING_TYPES = frozenset({"domain", "url"})
HEARTBEAT_SOURCES = frozenset({"direct", "import", "mirror", "test"})


class Heartbeat(msgspec.Struct, kw_only=True):
    """A validated, normalised heartbeat ready to store (or read back from the store)."""

    user_id: int
    time: float
    entity: str
    type: str
    category: str
    project: str | None = None
    branch: str | None = None
    language: str | None = None
    dependencies: list[str] | None = None
    lines: int | None = None
    lineno: int | None = None
    cursorpos: int | None = None
    is_write: bool | None = None
    project_root_count: int | None = None
    line_additions: int | None = None
    line_deletions: int | None = None
    ai_line_changes: int | None = None
    human_line_changes: int | None = None
    ai_session: str | None = None
    ai_model: str | None = None
    ai_input_tokens: int | None = None
    ai_output_tokens: int | None = None
    ai_prompt_length: int | None = None
    user_agent: str | None = None
    editor: str | None = None
    operating_system: str | None = None
    machine: str | None = None
    source: str = "direct"
    id: int | None = None
    created_at: float | None = None


# The User flags that make one part of a user's stats public (sharing settings, public read API).
SHARE_FLAG_FIELDS = (
    "share_stats",
    "share_languages",
    "share_projects",
    "share_editors",
    "share_operating_systems",
    "share_machines",
)


class User(msgspec.Struct, kw_only=True):
    id: int
    public_id: str
    username: str
    display_name: str | None
    email: str | None
    is_admin: bool
    is_disabled: bool
    timezone: str
    timeout: int | None
    duration_mode: str | None
    trust_level: str
    leaderboard_opt_out: bool
    share_stats: bool
    share_languages: bool
    share_projects: bool
    share_editors: bool
    share_operating_systems: bool
    share_machines: bool
    share_max_days: int | None
    created_at: float
    updated_at: float
    has_password: bool = False


class ApiKey(msgspec.Struct, kw_only=True):
    id: int
    user_id: int
    name: str
    key_hint: str
    read_only: bool
    created_at: float
    last_used_at: float | None
    revoked_at: float | None
