"""The store interface: every operation the rest of the package performs on the source of truth.

Callers outside store/ hold a `StoreBackend` and call these methods; no SQL, connection or transaction
crosses this line, so another backend (PostgreSQL) implements the same methods and nothing else changes.
Each method is one transaction. Methods returning a Future queue their write and return at once (the hot
ingest path and best-effort bookkeeping); the Future resolves once the write is committed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

from hackatime_lite.errors import InputError, TemporarilyUnavailable
from hackatime_lite.models import ApiKey, BoardInfo, LeaderboardEntry, Streak, User
from hackatime_lite.store.records import (
    AiRow,
    AliasRule,
    AliasRuleSpec,
    AuditEntry,
    BoardHeader,
    BuiltBoard,
    ChangeMarks,
    GoalSpec,
    HeartbeatRow,
    InsertOutcome,
    Invite,
    JobRun,
    JobRunUpdate,
    LiveSession,
    OutboxCounts,
    OutboxItem,
    Rejected,
    Retry,
    StoredGoal,
    TargetRow,
    Team,
    TeamInvite,
    TeamMember,
    UserAgentSeen,
)
from hackatime_lite.store.webhook_records import WebhookDelivery, WebhookRow

# What `store copy` moves, in an order that satisfies the foreign keys, with each table's key columns.
# Tombstones are not copied: a copy starts its replicas afresh.
COPY_TABLES: dict[str, tuple[str, ...]] = {
    "users": ("id",),
    "api_keys": ("id",),
    "kv": ("key",),
    "heartbeats": ("id",),
    "mirror_targets": ("id",),
    "mirror_outbox": ("id",),
    "mirror_rejections": ("id",),
    "job_runs": ("name",),
    "leaderboard_boards": ("board", "language"),
    "leaderboard_entries": ("board", "language", "user_id"),
    "user_streaks": ("user_id",),
    "web_sessions": ("id",),
    "web_invites": ("id",),
    "plugin_errors": ("id",),
    "goals": ("id",),
    "weekly_report_subscriptions": ("user_id",),
    "weekly_report_sends": ("user_id", "week"),
    "admin_levels": ("user_id",),
    "audit_log": ("id",),
    "teams": ("id",),
    "team_members": ("team_id", "user_id"),
    "team_invites": ("id",),
    "alias_rules": ("id",),
    "webhooks": ("id",),
    "webhook_outbox": ("id",),
}


class MigrationStatus(NamedTuple):
    backend: str
    """"sqlite" or "postgresql"."""
    applied: list[str]
    pending: list[str]


class StoreClosed(RuntimeError):
    """A write was submitted after the store stopped accepting work (or to a read-only store)."""


class StoreUnavailable(TemporarilyUnavailable):
    """The store cannot take writes now (disk full, read-only data dir, I/O error, database busy or gone):
    nothing of the write was stored, and it may succeed once the fault clears. Maps to HTTP 503."""


class UserError(InputError):
    """Invalid input for a user, key, session or invite operation; the message is safe to show."""


class BackupError(RuntimeError):
    """The backup could not be made or verified; the message is safe to show."""


class BackupCancelled(BackupError):
    """The server is stopping; the partial copy was removed."""


@runtime_checkable
class StoreBackend(Protocol):
    """The source of truth. Implementations: store.sqlite.SQLiteStore, store.postgres.store.PostgresStore."""

    @property
    def location(self) -> str:
        """Where the data lives, for messages (a file path; a URL without its password)."""
        ...

    # -- lifecycle --------------------------------------------------------------------------------------
    def close(self) -> None: ...

    def flush(self) -> None:
        """Return once every write submitted before has been committed."""
        ...

    def start_writer_process(self) -> bool:
        """Insert heartbeats from now on in a process of their own, when this backend gains from it (SQLite:
        store/sqlite/writer_process.py); False when it does not or could not start (inserts stay in-process)."""
        ...

    def health(self) -> dict[str, object]:
        """For /api/health: {"status": "ok" | "error", …}; never raises."""
        ...

    def backup_to(self, target: Path, *, cancel: threading.Event | None = None,
                  pages_per_step: int = 1024, pause: float = 0.001) -> int:
        """A verified, self-contained copy at `target` while writes go on; returns its size in pages.
        Raises BackupCancelled when `cancel` is set, BackupError when the copy fails its check."""
        ...

    # -- users ------------------------------------------------------------------------------------------
    def create_user(self, username: str, *, is_admin: bool = False, timezone: str = "UTC",
                    password: str | None = None, display_name: str | None = None,
                    email: str | None = None) -> User:
        """The first user is always an administrator."""
        ...

    def get_user(self, user_id: int) -> User | None: ...

    def get_user_by_name(self, username: str) -> User | None: ...

    def find_user(self, ref: str) -> User | None:
        """A user by username, public id (UUID) or numeric id."""
        ...

    def list_users(self) -> list[User]: ...

    def update_user(self, user_id: int, **fields: Any) -> User:
        """Set any of rules.SETTABLE_USER_FIELDS (UserError for others or bad values)."""
        ...

    def disable_user(self, user_id: int) -> User:
        """Disable the account and end its sessions."""
        ...

    def delete_user(self, user_id: int) -> int:
        """The user and everything theirs (keys, sessions, mirrors, import progress, heartbeats, each leaving
        a tombstone); returns the heartbeats deleted."""
        ...

    def set_password(self, user_id: int, password: str, *, end_sessions: bool = False,
                     keep_token: str | None = None) -> None:
        """With `end_sessions`, every session of the user but `keep_token`'s ends in the same transaction."""
        ...

    def verify_password(self, username: str, password: str) -> User | None:
        """The enabled user with this password, else None (in the same time either way)."""
        ...

    # -- API keys ---------------------------------------------------------------------------------------
    def create_api_key(self, user_id: int, *, name: str = "default",
                       read_only: bool = False) -> tuple[ApiKey, str]:
        """The stored key and its plaintext, which is never stored or shown again."""
        ...

    def list_api_keys(self, user_id: int | None = None) -> list[ApiKey]: ...

    def revoke_api_key(self, key_id: int, *, user_id: int | None = None) -> ApiKey:
        """With `user_id`, someone else's key is refused exactly like an unknown one (UserError)."""
        ...

    def lookup_api_key(self, plaintext: str) -> tuple[User, ApiKey] | None:
        """The active key and its enabled owner, or None."""
        ...

    def note_api_key_use(self, key_id: int, used_at: float) -> Future[None]:
        """Record that a key was used (for `key list`); written at most once a minute per key, so calling
        it on every request costs nothing."""
        ...

    # -- dashboard sessions -----------------------------------------------------------------------------
    def create_session(self, user_id: int, *, user_agent: str | None = None, remote_addr: str | None = None,
                       now: float | None = None) -> str:
        """A new session's token (the cookie value, stored only hashed); expired sessions are purged too."""
        ...

    def session_user(self, token: str, *, now: float | None = None) -> LiveSession | None:
        """The live session of an enabled user behind `token`, else None."""
        ...

    def touch_session(self, session_id: int, *, now: float | None = None) -> Future[None]:
        """Slide the session's expiry forward."""
        ...

    def delete_session(self, token: str) -> None: ...

    def delete_user_sessions(self, user_id: int, *, keep_token: str | None = None) -> int: ...

    # -- invites ----------------------------------------------------------------------------------------
    def create_invite(self, created_by: int | None, *, max_uses: int = 1, valid_days: float | None = 7,
                      note: str | None = None) -> tuple[Invite, str]:
        """A new invite and its code (shown to the admin once)."""
        ...

    def list_invites(self) -> list[Invite]:
        """Newest first."""
        ...

    def revoke_invite(self, invite_id: int) -> None: ...

    def sign_up(self, code: str, username: str, password: str, *, timezone: str = "UTC") -> User:
        """Create an account with an invite code in one transaction: a code is never spent twice."""
        ...

    # -- heartbeats -------------------------------------------------------------------------------------
    def insert_heartbeats(self, rows: Sequence[HeartbeatRow], *, user_id: int, source: str,
                          origins: tuple[str, ...], now: float) -> Future[list[InsertOutcome]]:
        """Insert one user's rows (duplicates by dedup hash are kept out and reported, not errors) and queue
        the new ones for the user's mirrors, in one transaction."""
        ...

    def import_heartbeats(self, rows: Sequence[HeartbeatRow]) -> int:
        """Bulk insert without mirroring; returns how many rows were new."""
        ...

    def latest_heartbeat_fields(self, user_id: int) -> dict[str, str | None]:
        """project / language / branch of the user's newest heartbeat, to fill <<LAST_*>> placeholders."""
        ...

    def heartbeat_rows(self, user_id: int, start: float | None, end: float | None, *,
                       after: tuple[float, int] | None = None, limit: int | None = None) -> list[HeartbeatRow]:
        """STORED_COLUMNS rows with start <= time < end ordered by (time, id), optionally after a (time, id)
        key: keyset pagination, so each page is one query."""
        ...

    def ai_rows(self, user_id: int, start: float | None, end: float | None) -> list[AiRow]:
        """(time, project, *records.AI_COLUMNS) of the user's heartbeats with start <= time < end that carry
        any AI-coding field, ordered by (time, id); the `test` source left out."""
        ...

    def newest_heartbeat(self, user_id: int, *, editor: str | None = None) -> HeartbeatRow | None:
        """STORED_COLUMNS of the user's newest heartbeat of any source but `test` (optionally from one
        editor, matched in any case)."""
        ...

    def heartbeat_ids(self, user_id: int, start: float | None, end: float | None, *, limit: int,
                      after_id: int | None = None) -> list[int]:
        """Up to `limit` ids with start <= time < end: in any order (to delete in chunks), or with
        `after_id` those above it in id order (to page)."""
        ...

    def delete_heartbeats(self, user_id: int, *, start: float | None = None, end: float | None = None,
                          ids: Sequence[int] | None = None) -> int:
        """Delete the user's heartbeats in [start, end) and/or by id, each leaving a tombstone."""
        ...

    def has_project(self, user_id: int, project: str) -> bool: ...

    def last_heartbeat_times(self, user_ids: Sequence[int]) -> dict[int, float | None]: ...

    def user_agents(self, user_id: int) -> list[UserAgentSeen]:
        """Each user agent the user sent, most recently seen first."""
        ...

    # -- what the analytics replica follows -------------------------------------------------------------
    def change_marks(self) -> ChangeMarks: ...

    def lowest_heartbeat_id(self) -> int | None: ...

    def heartbeat_batches(self, columns: Sequence[str], *, after_id: int, up_to_id: int,
                          batch_rows: int) -> Iterator[list[HeartbeatRow]]:
        """`columns` (of STORED_COLUMNS) of the heartbeats with after_id < id <= up_to_id, in id order.
        The iterator may be consumed from another thread than the caller's."""
        ...

    def deleted_heartbeat_ids(self, after_seq: int, up_to_seq: int) -> list[int]:
        """Ids of heartbeats whose tombstones have after_seq < seq <= up_to_seq."""
        ...

    # -- mirror targets and the outbox ------------------------------------------------------------------
    def instance_id(self) -> str:
        """This instance's identity in X-Origin chains."""
        ...

    def list_targets(self, user_id: int | None = None) -> list[TargetRow]: ...

    def get_target(self, target_id: int) -> TargetRow | None: ...

    def upsert_target(self, user_id: int, url: str, api_key_encrypted: str, key_hint: str,
                      now: float) -> TargetRow:
        """Add a target, or replace the key of the user's target with the same URL (which un-pauses it)."""
        ...

    def delete_target(self, target_id: int) -> bool: ...

    def pause_target(self, target_id: int, reason: str, now: float) -> None: ...

    def resume_target(self, target_id: int, now: float) -> None: ...

    def record_target_failure(self, target_id: int, error: str, retry_at: float, now: float) -> None: ...

    def target_failures(self, target_id: int) -> int: ...

    def enqueue_backfill(self, target_id: int, heartbeat_ids: Sequence[int], now: float) -> int:
        """Queue stored heartbeats for one target (already queued ones are skipped); returns how many."""
        ...

    def due_target_ids(self, now: float) -> list[int]:
        """Targets that are not paused or backing off and have something due."""
        ...

    def due_outbox_items(self, target_id: int, now: float, limit: int) -> list[OutboxItem]: ...

    def settle_outbox(self, target_id: int, *, delivered: Sequence[int], rejected: Sequence[Rejected],
                      retries: Sequence[Retry], now: float) -> None:
        """Record one delivery request's outcome item by item: delivered and rejected items leave the
        outbox (rejections are kept for the user to see), retries wait until their next attempt."""
        ...

    def outbox_counts(self, target_id: int, now: float) -> OutboxCounts: ...

    def recent_rejections(self, target_id: int, limit: int = 10) -> list[dict[str, Any]]: ...

    # -- resumable imports ------------------------------------------------------------------------------
    def import_progress(self, user_id: int, source: str) -> dict[str, Any]:
        """What an import from `source` saved for the user ({} when nothing, or nothing readable)."""
        ...

    def save_import_progress(self, user_id: int, source: str, progress: dict[str, Any]) -> None: ...

    # -- scheduler job runs -----------------------------------------------------------------------------
    def job_runs(self) -> list[JobRun]:
        """Every persisted job record, by name."""
        ...

    def record_job_run(self, update: JobRunUpdate) -> Future[None]: ...

    def request_job_run(self, name: str, requested_at: float) -> None:
        """Ask a running server's scheduler to run `name` now (it polls job_runs for requests)."""
        ...

    # -- leaderboard and streak caches ------------------------------------------------------------------
    def replace_leaderboard(self, built: BuiltBoard, generated_at: float) -> int:
        """Replace one board and all its language boards; users deleted meanwhile are skipped."""
        ...

    def leaderboard_header(self, board: str, language: str) -> BoardHeader | None:
        """The stored board ('' is the all-languages one; languages match in any case)."""
        ...

    def leaderboard_page(self, board: str, language: str, *, limit: int, offset: int,
                         viewer_id: int | None = None) -> tuple[int, list[LeaderboardEntry]]:
        """(eligible entries in all, one page of them by rank then username). Users who opted out, are
        disabled or convicted are left out when read, so a change takes effect at once; suspected users
        too, except for themselves (`viewer_id`, the reader). `leaderboard_entry` is the user's own view."""
        ...

    def leaderboard_entry(self, board: str, language: str, user_id: int) -> LeaderboardEntry | None: ...

    def list_leaderboards(self) -> list[BoardInfo]: ...

    def replace_streaks(self, streaks: Mapping[int, Streak], computed_at: float) -> int:
        """Replace every cached streak; users deleted meanwhile are skipped. Returns the rows written."""
        ...

    def cached_streak(self, user_id: int) -> Streak | None: ...

    # -- the weekly report e-mail ------------------------------------------------------------------------
    def weekly_report_opt_in(self, user_id: int) -> bool:
        """Whether the user asked for the weekly report e-mail."""
        ...

    def set_weekly_report_opt_in(self, user_id: int, opt_in: bool, now: float) -> None:
        """Opt in (keeping an earlier opt-in's date) or out; an unknown user stores nothing."""
        ...

    def weekly_report_subscribers(self) -> list[int]:
        """Ids of the opted-in users who are not disabled, ascending."""
        ...

    def claim_weekly_report(self, user_id: int, week: str, now: float) -> bool:
        """Record `week` (ISO, `2026-W48`) as sent to the user; False when it already was, so two runs of
        the job send one mail. An unknown user claims nothing (False)."""
        ...

    def release_weekly_report(self, user_id: int, week: str) -> None:
        """Forget a claim whose mail could not be sent, so the next run tries again."""
        ...

    def weekly_reports_sent(self, user_id: int) -> list[str]:
        """The weeks claimed for the user, ascending."""
        ...

    # -- goals ------------------------------------------------------------------------------------------
    # Every goal method is scoped by its owner: another user's goal id is found nowhere (None, NotFoundError,
    # False), exactly like an unknown one.
    def create_goal(self, user_id: int, spec: GoalSpec, *, now: float | None = None) -> StoredGoal:
        """Store a new goal (spec already checked by hackatime_lite.goals) under a new public UUID."""
        ...

    def list_goals(self, user_id: int) -> list[StoredGoal]:
        """The user's goals, oldest first."""
        ...

    def get_goal(self, user_id: int, goal_id: str) -> StoredGoal | None: ...

    def update_goal(self, user_id: int, goal_id: str, spec: GoalSpec, *, now: float | None = None) -> StoredGoal:
        """Replace the goal's spec (sets modified_at); errors.NotFoundError when it is not the user's."""
        ...

    def delete_goal(self, user_id: int, goal_id: str) -> bool:
        """True when the user's goal was deleted, False when there was none."""
        ...

    # -- aliases, labels, language mappings, exclusions (records.ALIAS_KINDS) ----------------------------------
    # Scoped by the owner like goals: another user's rule id is found nowhere.
    def add_alias_rule(self, user_id: int, spec: AliasRuleSpec, *, now: float | None = None) -> AliasRule:
        """Store a rule (checked by hackatime_lite.aliases); the same rule again returns the stored one."""
        ...

    def list_alias_rules(self, user_id: int) -> list[AliasRule]:
        """The user's rules, oldest first (the order wildcard rules are tried in)."""
        ...

    def delete_alias_rule(self, user_id: int, rule_id: int) -> bool:
        """True when the user's rule was deleted, False when there was none."""
        ...

    def excluded_projects(self) -> dict[int, list[str]]:
        """{user id: projects excluded from their totals} for every user with one (the leaderboard job)."""
        ...

    # -- trust and admin levels, the audit log ----------------------------------------------------------
    # Who may change a level is decided above the store (accounts/trust.py); a change and its audit entry are
    # one transaction. Levels are records.TRUST_LEVELS / records.ADMIN_LEVELS.
    def admin_level(self, user_id: int) -> str:
        """The user's effective admin level ("none" for an unknown user; is_admin maps to "admin")."""
        ...

    def admin_levels(self) -> dict[int, str]:
        """Every user's effective admin level by id."""
        ...

    def set_user_level(self, user_id: int, field: str, value: str, *, actor_id: int | None,
                       reason: str | None = None, now: float | None = None) -> AuditEntry | None:
        """Set `field` ("trust_level" or "admin_level") and record it; None when it already had that value
        (nothing is recorded). `actor_id` None is the operator's CLI. UserError for a bad level,
        NotFoundError for an unknown user."""
        ...

    def audit_log(self, *, user_id: int | None = None, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        """Audit entries newest first (only those about `user_id` when given)."""
        ...

    # -- teams --------------------------------------------------------------------------------------------
    # Who may do what is decided above the store (hackatime_lite.teams). A team keeps at least one owner while
    # it has members: a change that would leave none is refused (ConflictError) and nothing is changed.
    def create_team(self, name: str, owner_id: int, *, now: float | None = None) -> Team:
        """A new team (new public UUID) with `owner_id` as its owner; UserError for a bad name."""
        ...

    def get_team(self, team_ref: str | int) -> Team | None:
        """By public id (str) or internal id (int)."""
        ...

    def user_teams(self, user_id: int) -> list[Team]:
        """The teams the user is a member of, oldest first."""
        ...

    def team_members(self, team_id: int) -> list[TeamMember]:
        """Members by username (any case)."""
        ...

    def team_member(self, team_id: int, user_id: int) -> TeamMember | None: ...

    def create_team_invite(self, team_id: int, created_by: int | None, *, max_uses: int = 1,
                           valid_days: float | None = 7, now: float | None = None) -> tuple[TeamInvite, str]:
        """A new invite and its code (stored only hashed, shown once)."""
        ...

    def team_invites(self, team_id: int) -> list[TeamInvite]:
        """Newest first."""
        ...

    def revoke_team_invite(self, team_id: int, invite_id: int, *, now: float | None = None) -> bool:
        """False when the team has no such live invite."""
        ...

    def join_team(self, code: str, user_id: int, *, now: float | None = None) -> TeamMember:
        """Spend one use of the code and add the user as a member in one transaction (UserError for a code
        that is unknown, used up, expired or revoked; ConflictError for a member already, spending nothing)."""
        ...

    def update_team_member(self, team_id: int, user_id: int, *, role: str | None = None,
                           shares: bool | None = None) -> TeamMember:
        """Set a member's role and/or sharing flag (NotFoundError for a non-member)."""
        ...

    def remove_team_member(self, team_id: int, user_id: int) -> bool: ...

    def delete_team(self, team_id: int) -> bool:
        """The team, its memberships and invites."""
        ...

    # -- outgoing webhooks (hackatime_lite.webhooks) ------------------------------------------------------
    # Who may see or change a webhook is decided above the store (a user's own; a team's by its managers).
    def create_webhook(self, *, user_id: int | None, team_id: int | None, url: str, events: Sequence[str],
                       fmt: str, secret_encrypted: str, created_by: int | None,
                       now: float | None = None) -> WebhookRow:
        """A user's webhook (`user_id`) or a team's (`team_id`): exactly one of them is given."""
        ...

    def get_webhook(self, webhook_id: int) -> WebhookRow | None: ...

    def list_webhooks(self, *, user_id: int | None = None, team_id: int | None = None) -> list[WebhookRow]:
        """The user's webhooks, or the team's (every webhook when neither is given), oldest first."""
        ...

    def delete_webhook(self, webhook_id: int) -> bool:
        """The webhook and its queued deliveries."""
        ...

    def webhook_subscribers(self, events: Sequence[str]) -> list[int]:
        """Ids of the users an event of `events` would reach a webhook for: their own, or a team's they share
        their detail with; ascending."""
        ...

    def enqueue_webhook_event(self, user_id: int, event: str, key: str, payload: str, now: float, *,
                              teams: bool = True) -> Future[int]:
        """Queue an event about the user for each webhook subscribed to it (with `teams`, also those of the
        teams the user shares detail with); a webhook that already had the event `key` gets nothing, so an
        event is emitted once however often it is produced. Resolves to the deliveries queued."""
        ...

    def due_webhook_deliveries(self, now: float, limit: int) -> list[WebhookDelivery]:
        """Pending deliveries whose next attempt is due, oldest due first."""
        ...

    def webhook_deliveries(self, webhook_id: int, limit: int = 20) -> list[WebhookDelivery]:
        """The webhook's deliveries, newest first."""
        ...

    def settle_webhook_delivery(self, delivery_id: int, *, state: str, status: int | None, error: str | None,
                                next_attempt_at: float, now: float) -> None:
        """Record one attempt of a pending delivery: `delivered`, `failed` (given up) or `pending` (retry at
        next_attempt_at); a delivery no longer pending is left alone."""
        ...

    def prune_webhook_deliveries(self, before: float) -> int:
        """Forget delivered and failed deliveries settled before `before`; returns how many."""
        ...

    # -- diagnostics ------------------------------------------------------------------------------------
    def record_plugin_error(self, received_at: float, remote_addr: str | None, user_agent: str | None,
                            payload: str) -> Future[None]: ...

    # -- schema and whole-instance copies (`migrate`, `store copy`) -------------------------------------
    def migration_status(self) -> MigrationStatus:
        """Applied and pending migrations; works on a read-only store (which never migrates)."""
        ...

    def table_columns(self, table: str) -> list[str]:
        """The columns of one of COPY_TABLES, as export_rows names them."""
        ...

    def table_counts(self) -> dict[str, int]:
        """Rows in each of COPY_TABLES."""
        ...

    def export_rows(self, table: str, *, after: int | None = None,
                    limit: int | None = None) -> list[dict[str, Any]]:
        """Rows of one of COPY_TABLES as column -> value (int, float, str, bytes or None; booleans as 0/1), in
        key order; for tables keyed by an integer `id` (heartbeats), only ids above `after`, at most `limit`."""
        ...

    def import_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Write exported rows in one transaction with their ids: heartbeats are inserted (a row whose id or
        dedup hash is already there is skipped), other tables upserted by key; id sequences move past the
        ids written. No trigger fires for the copy's own sake (no tombstones, no outbox rows). Returns the
        rows written."""
        ...

    # -- state every app node shares (abuse limits, job leases) -----------------------------------------
    @property
    def shares_state(self) -> bool:
        """True when other app nodes may use this store too (PostgreSQL): login throttles and API rate
        limits must then count here rather than in the process. False for the one-node SQLite store, whose
        callers keep their in-memory counters."""
        ...

    def take_token(self, scope: str, key: str, *, per_minute: int, now: float) -> float:
        """Spend one token of the (scope, key) bucket holding up to `per_minute` tokens and refilling at
        `per_minute` a minute: 0.0 when granted, else the seconds until the next token. `now` is wall-clock
        seconds (every node's clock must agree)."""
        ...

    def count_failure(self, scope: str, key: str, *, free: int, backoff_max: float, window: float,
                      now: float) -> None:
        """One more failure for (scope, key): after `free` failures each next one makes the key wait 1 s,
        2 s, 4 s … up to `backoff_max`; the count starts over `window` seconds after the newest failure."""
        ...

    def failure_wait(self, scope: str, keys: Sequence[str], *, window: float, now: float) -> float:
        """Seconds until the longest wait of any of `keys` ends (0.0 = now)."""
        ...

    def clear_failures(self, scope: str, key: str) -> None: ...

    def try_job_lease(self, name: str, node_id: str, ttl: float, *, now: float | None = None) -> bool:
        """Take or renew the lease on job `name` for `ttl` seconds: True when it was free, expired or already
        `node_id`'s. A one-node store always grants it."""
        ...

    def release_job_lease(self, name: str, node_id: str) -> None: ...

    def save_import_job(self, job_id: str, user_id: int, record: Mapping[str, Any], now: float) -> None:
        """Publish a background import's state (JSON-able) so any node can answer its progress polls; only
        called when `shares_state`. Records older than a week are dropped."""
        ...

    def import_job(self, job_id: str, user_id: int) -> dict[str, Any] | None:
        """The published state of the user's import job (someone else's job is None, like an unknown one)."""
        ...
