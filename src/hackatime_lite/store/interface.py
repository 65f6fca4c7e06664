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
from typing import Any, Protocol, runtime_checkable

from hackatime_lite.errors import InputError, TemporarilyUnavailable
from hackatime_lite.models import ApiKey, BoardInfo, LeaderboardEntry, Streak, User
from hackatime_lite.store.records import (
    BoardHeader,
    BuiltBoard,
    ChangeMarks,
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
    TargetRow,
    UserAgentSeen,
)


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
    """The source of truth. Implementations: store.sqlite.SQLiteStore (PostgreSQL next)."""

    @property
    def location(self) -> str:
        """Where the data lives, for messages (a file path; a URL without its password)."""
        ...

    # -- lifecycle --------------------------------------------------------------------------------------
    def close(self) -> None: ...

    def flush(self) -> None:
        """Return once every write submitted before has been committed."""
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

    def leaderboard_page(self, board: str, language: str, *, limit: int,
                         offset: int) -> tuple[int, list[LeaderboardEntry]]:
        """(eligible entries in all, one page of them by rank then username). Users who opted out, are
        disabled or convicted are left out when read, so a change takes effect at once."""
        ...

    def leaderboard_entry(self, board: str, language: str, user_id: int) -> LeaderboardEntry | None: ...

    def list_leaderboards(self) -> list[BoardInfo]: ...

    def replace_streaks(self, streaks: Mapping[int, Streak], computed_at: float) -> int:
        """Replace every cached streak; users deleted meanwhile are skipped. Returns the rows written."""
        ...

    def cached_streak(self, user_id: int) -> Streak | None: ...

    # -- diagnostics ------------------------------------------------------------------------------------
    def record_plugin_error(self, received_at: float, remote_addr: str | None, user_agent: str | None,
                            payload: str) -> Future[None]: ...

