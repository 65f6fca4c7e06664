"""Shared data shapes (msgspec Structs) passed between layers."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from hackatime_lite.errors import InputError
from hackatime_lite.text.formatting import Entry, Total

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


# -- the one table of dimensions ----------------------------------------------------------------------------
SummaryScope = Literal["always", "with_project", "never"]


class Dimension(msgspec.Struct, frozen=True, kw_only=True):
    """One thing coding time can be broken down or filtered by. Every layer derives its lists from DIMENSIONS:
    the analytics columns, the WakaTime plural keys and filter parameters, the sharing flags, the dashboard's
    cards and the CLI's options."""

    name: str
    """The analytics name (`queries.summarize(dimensions=…)`, filter keys)."""
    plural: str
    """WakaTime's breakdown key in status bar, summaries and stats (`operating_systems`)."""
    short: str
    """The CLI's option and `--by` value and the dashboard's query parameter (`os`)."""
    title: str
    """Heading of its breakdown on the dashboard."""
    column: str | None
    """The replica column (quoted as SQL needs); None for a list column (dependencies are unnested)."""
    query_param: str | None = None
    """The read API's filter parameter (comma-separated alternatives); None: not a read-API filter."""
    query_aliases: tuple[str, ...] = ()
    """Further read-API parameter names for the same filter (Hackatime's, WakaTime's plural forms)."""
    slice_by: tuple[str, ...] = ()
    """WakaTime durations' `slice_by` values that pick it (the first is WakaTime's own)."""
    share_flag: str | None = None
    """The User flag that makes this breakdown public (None: only with the owner's full view)."""
    unknown: str = "Unknown"
    """What a missing value (NULL or empty) is called."""
    summary: SummaryScope = "never"
    """In every day's breakdowns (`always`), only in a project's (`with_project`), or not at all."""
    dashboard: bool = False
    """A card and a filter on the dashboard."""


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension(name="project", plural="projects", short="project", title="Projects", column="project",
              query_param="project", query_aliases=("projects", "filter_by_project"), slice_by=("project",),
              share_flag="share_projects", unknown="Unknown Project", summary="always", dashboard=True),
    Dimension(name="language", plural="languages", short="language", title="Languages", column="language",
              query_param="language", query_aliases=("languages",), slice_by=("language",),
              share_flag="share_languages", unknown="Other", summary="always", dashboard=True),
    Dimension(name="editor", plural="editors", short="editor", title="Editors", column="editor",
              query_param="editor", query_aliases=("editors",), slice_by=("editor",), share_flag="share_editors",
              summary="always", dashboard=True),
    Dimension(name="operating_system", plural="operating_systems", short="os", title="Operating systems",
              column="operating_system", query_param="operating_system", query_aliases=("os",),
              slice_by=("os", "operating_system"), share_flag="share_operating_systems", summary="always",
              dashboard=True),
    Dimension(name="machine", plural="machines", short="machine", title="Machines", column="machine",
              query_param="machine", query_aliases=("machines",), slice_by=("machine",),
              share_flag="share_machines", summary="always", dashboard=True),
    Dimension(name="category", plural="categories", short="category", title="Categories", column="category",
              query_param="category", query_aliases=("categories", "filter_by_category"), slice_by=("category",),
              summary="always", dashboard=True),
    Dimension(name="branch", plural="branches", short="branch", title="Branches", column="branch",
              query_param="branches", query_aliases=("branch",), slice_by=("branch",), summary="with_project"),
    Dimension(name="entity", plural="entities", short="entity", title="Files", column="entity",
              query_param="entity", query_aliases=("entities",), slice_by=("entity",), summary="with_project"),
    # Each interval counts once per dependency, so this breakdown does not add up to the total.
    Dimension(name="dependency", plural="dependencies", short="dependency", title="Dependencies", column=None,
              slice_by=("dependencies",), summary="always"),
    Dimension(name="type", plural="types", short="type", title="Types", column='"type"'),
)
_BY_NAME = {d.name: d for d in DIMENSIONS}
_BY_PLURAL = {d.plural: d for d in DIMENSIONS}
_BY_SHORT = {d.short: d for d in DIMENSIONS}


def dimension(name: str) -> Dimension | None:
    """The dimension called `name` (its analytics name), or None."""
    return _BY_NAME.get(name)


def dimension_by_plural(plural: str) -> Dimension | None:
    return _BY_PLURAL.get(plural)


def dimension_by_short(short: str) -> Dimension | None:
    return _BY_SHORT.get(short)


# The User flags that make one part of a user's stats public (sharing settings, public read API): the totals,
# then each breakdown's.
SHARE_FLAG_FIELDS: tuple[str, ...] = ("share_stats", *(d.share_flag for d in DIMENSIONS if d.share_flag))


# -- the one duration rule's parameters -------------------------------------------------------------------
DurationMode = Literal["capped", "keystroke"]
DURATION_MODES: tuple[DurationMode, ...] = ("capped", "keystroke")
MIN_TIMEOUT, MAX_TIMEOUT = 30, 3600


class RuleError(InputError):
    """A duration rule the project does not allow; the message says what would be allowed."""


def check_mode(value: object) -> DurationMode:
    """`capped` or `keystroke`, else RuleError."""
    if value not in DURATION_MODES:
        raise RuleError(f"duration mode must be capped or keystroke, got {value!r}")
    return value


def check_timeout(value: object) -> int:
    """A whole number of seconds from MIN_TIMEOUT to MAX_TIMEOUT (digits in text are read), else RuleError."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise RuleError(f"timeout must be a whole number of seconds, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_TIMEOUT <= value <= MAX_TIMEOUT:
        raise RuleError(f"timeout must be a whole number of seconds from {MIN_TIMEOUT} to {MAX_TIMEOUT}, "
                        f"got {value!r}")
    return value


class DurationRule(msgspec.Struct, frozen=True, kw_only=True):
    """The one duration rule's parameters (ARCHITECTURE.md): heartbeat i covers min(gap, timeout) (`capped`)
    or the gap when it is below the timeout (`keystroke`). Every instance is valid: the constructor checks
    (RuleError), so settings, per-user overrides, forms, the API and analytics all validate here."""

    mode: DurationMode = "capped"
    timeout: int = 120

    def __post_init__(self) -> None:
        check_mode(self.mode)
        check_timeout(self.timeout)

    @classmethod
    def parse(cls, mode: str | None = None, timeout: str | int | None = None, *,
              default: DurationRule | None = None) -> DurationRule:
        """A rule from loose input (form fields, query strings): a blank part, or mode `default`, is the
        default's (the server default, else capped/120 s)."""
        base = default or cls()
        mode = (mode or "").strip()
        if isinstance(timeout, str):
            timeout = timeout.strip() or None
        return cls(mode=base.mode if mode in ("", "default") else check_mode(mode),
                   timeout=base.timeout if timeout is None else check_timeout(timeout))


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

    def rule(self, default: DurationRule) -> DurationRule:
        """The user's duration rule: their own timeout and mode where set, else the server default's."""
        return DurationRule(mode=check_mode(self.duration_mode) if self.duration_mode else default.mode,
                            timeout=self.timeout or default.timeout)


class ApiKey(msgspec.Struct, kw_only=True):
    id: int
    user_id: int
    name: str
    key_hint: str
    read_only: bool
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


# -- leaderboards and streaks: built by the scheduler, cached in the store, served from there -------------
class LeaderboardUser(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    public_id: str
    username: str
    display_name: str | None


class LanguageTime(msgspec.Struct, frozen=True):
    name: str | None
    total_seconds: float


class LeaderboardEntry(msgspec.Struct, frozen=True, kw_only=True):
    rank: int
    user: LeaderboardUser
    total_seconds: float
    daily_average: float
    languages: list[LanguageTime]
    current_streak: int


class BoardInfo(msgspec.Struct, frozen=True, kw_only=True):
    board: str
    language: str | None
    generated_at: float
    entry_count: int


class Streak(msgspec.Struct, frozen=True, kw_only=True):
    current: int = 0
    current_start: dt.date | None = None
    current_end: dt.date | None = None
    longest: int = 0
    longest_start: dt.date | None = None
    longest_end: dt.date | None = None


# -- report objects that leave the process: what the read use cases (`reports`) return, what the API renders,
# and what a client (the CLI) decodes a server's answer back into -------------------------------------------
class DayReport(msgspec.Struct, kw_only=True):
    """One local day: its window, grand total and breakdowns (WakaTime plural keys, models.DIMENSIONS)."""

    date: dt.date
    start: float
    end: float
    timezone: str
    grand_total: Total
    breakdowns: dict[str, list[Entry]]


class Span(msgspec.Struct, frozen=True, kw_only=True):
    """One coding session (Hackatime's heartbeats/spans entry)."""

    start_time: float
    end_time: float
    duration: float


class BoardUser(msgspec.Struct, kw_only=True):
    id: str
    """The user's public id."""
    username: str
    display_name: str | None
    avatar_url: str | None = None


class BoardLanguage(msgspec.Struct, kw_only=True):
    name: str
    total_seconds: float


class BoardRow(msgspec.Struct, kw_only=True):
    rank: int
    user: BoardUser
    total_seconds: float
    daily_average: float
    streak: int
    languages: list[BoardLanguage]


class Board(msgspec.Struct, kw_only=True):
    """A page of a built leaderboard as readers see it (Hackatime's `GET leaderboard` shape): public ids,
    display names of languages, whole-second UTC times."""

    period: str
    title: str
    language: str | None
    date_range: str
    start_date: dt.datetime | None
    generated_at: dt.datetime
    page: int
    total_pages: int
    total_entries: int
    entries: list[BoardRow]
