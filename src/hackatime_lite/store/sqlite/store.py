"""SQLiteStore: the StoreBackend of one SQLite file.

Each method runs the statements of one module of this package: writes as one job of the group-committing
writer thread (so each is one transaction, or a savepoint within a shared commit), reads on this thread's
read-only connection.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from hackatime_lite.models import ApiKey, BoardInfo, LeaderboardEntry, Streak, User
from hackatime_lite.store import rules
from hackatime_lite.store.interface import MigrationStatus
from hackatime_lite.store.records import (
    AiRow,
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
from hackatime_lite.store.sqlite import (
    ai_stats,
    changes,
    copy_rows,
    heartbeats,
    invites,
    job_runs,
    kv,
    leaderboards,
    maintenance,
    outbox,
    users,
    web_sessions,
)
from hackatime_lite.store.sqlite import recent as recent_rows
from hackatime_lite.store.sqlite import streaks as streak_cache
from hackatime_lite.store.sqlite import weekly as weekly_reports
from hackatime_lite.store.sqlite.aliases import SQLiteAliases  # aliases, labels, mappings, exclusions
from hackatime_lite.store.sqlite.db import SQLiteDatabase, connect
from hackatime_lite.store.sqlite.goals import SQLiteGoals
from hackatime_lite.store.sqlite.shared import SQLiteShared
from hackatime_lite.store.sqlite.teams import SQLiteTeams  # teams, members, team invites
from hackatime_lite.store.sqlite.trust import SQLiteTrust  # trust / admin levels, audit log
from hackatime_lite.store.sqlite.webhooks import SQLiteWebhooks  # outgoing webhooks and their outbox

if TYPE_CHECKING:
    from hackatime_lite.store.sqlite.writer_process import WriterProcess

# The answer to a write that has nothing to do (a key use noted less than a minute ago: nearly every
# request): one resolved future shared by all, not a Future and its Condition built per request.
_NOTHING_TO_WRITE: Future[None] = Future()
_NOTHING_TO_WRITE.set_result(None)

# Memory-mapped reads for the replica's bulk copy: measured ≈ +8 % rows/s on a full-table read.
_BULK_MMAP_BYTES = 1 << 30


class SQLiteStore(SQLiteWebhooks, SQLiteAliases, SQLiteTrust, SQLiteTeams, SQLiteShared, SQLiteGoals, SQLiteDatabase):  # goals: store/sqlite/goals.py; shared state: shared.py
    """The store on one SQLite file (see SQLiteDatabase for the connection policy)."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        super().__init__(path, readonly=readonly)
        # Recent key lookups and last-use writes; cleared by every change to users or keys made here. A
        # change made by another process (the CLI) takes effect within rules.KEY_CACHE_SECONDS.
        self._keys = rules.KeyCache()
        self._bulk_lock = threading.Lock()
        self._bulk: sqlite3.Connection | None = None
        # Heartbeats committed lately, for the replica's feed; the insert job is one bound method, so that
        # the writer sees the inserts queued together as jobs of the same kind (db.submit_many).
        self._recent = recent_rows.RecentHeartbeats()
        self._insert_many = self._insert_requests
        # Heartbeat inserts in a child process, once start_writer_process() started it (serve does); the lock
        # orders a start under way (serve starts it from a thread) with close.
        self._writer_process: WriterProcess | None = None
        self._writer_process_lock = threading.Lock()
        self._writer_process_ended = False  # set by close() under that lock: no child is kept after it

    @property
    def location(self) -> str:
        return str(self.path)

    # -- lifecycle --------------------------------------------------------------------------------------
    def close(self) -> None:
        with self._writer_process_lock:
            self._writer_process_ended = True
            process, self._writer_process = self._writer_process, None
        if process is not None:
            process.close()  # it answers what it holds first
        super().close()
        with self._bulk_lock:
            if self._bulk is not None:
                self._bulk.close()
                self._bulk = None

    def flush(self) -> None:
        process = self._writer_process
        if process is not None:
            process.flush()
        super().flush()

    def start_writer_process(self) -> bool:
        if self._thread is None or self._closed or self._writer_process is not None:
            return False
        # Imported here: subprocess and the frames cost ~6 ms at every import of the store, and only serve starts one.
        from hackatime_lite.store.sqlite.writer_process import WriterProcess

        process = WriterProcess(self.path, on_group=self._writer_process_committed, failure=self._failure,
                                on_success=self._writes_succeeded)
        if not process.start():
            return False
        with self._writer_process_lock:
            if not self._writer_process_ended:
                self._writer_process = process
                return True
        process.close()  # the store closed while the child started
        return False

    @property
    def writer_process_pid(self) -> int | None:
        """The heartbeat writer process's pid while inserts go to it (for health, tests and benchmarks)."""
        process = self._writer_process
        return process.pid if process is not None and process.running else None

    def health(self) -> dict[str, object]:
        report = maintenance.health(self.reader(), self)
        report["heartbeat_writer"] = "process" if self.writer_process_pid is not None else "in-process"
        return report

    def backup_to(self, target: Path, *, cancel: threading.Event | None = None,
                  pages_per_step: int = 1024, pause: float = 0.001) -> int:
        return maintenance.backup(self.path, target, cancel=cancel, pages_per_step=pages_per_step, pause=pause)

    # -- users ------------------------------------------------------------------------------------------
    def create_user(self, username: str, *, is_admin: bool = False, timezone: str = "UTC",
                    password: str | None = None, display_name: str | None = None,
                    email: str | None = None) -> User:
        return self.write(lambda db: users.create_user(db, username, is_admin=is_admin, timezone=timezone,
                                                       password=password, display_name=display_name,
                                                       email=email))

    def get_user(self, user_id: int) -> User | None:
        return users.get_user(self.reader(), user_id)

    def get_user_by_name(self, username: str) -> User | None:
        return users.get_user_by_name(self.reader(), username)

    def find_user(self, ref: str) -> User | None:
        return users.find_user(self.reader(), ref)

    def list_users(self) -> list[User]:
        return users.list_users(self.reader())

    def update_user(self, user_id: int, **fields: Any) -> User:
        try:
            return self.write(lambda db: users.update_user(db, user_id, **fields))
        finally:
            self._keys.clear()

    def disable_user(self, user_id: int) -> User:
        def disable(db: sqlite_utils.Database) -> User:
            user = users.update_user(db, user_id, is_disabled=True)
            web_sessions.delete_user_sessions(db, user_id)
            return user

        try:
            return self.write(disable)
        finally:
            self._keys.clear()

    def delete_user(self, user_id: int) -> int:
        def remove(db: sqlite_utils.Database) -> int:
            # Deleted explicitly (not only by the cascade) to count them; the trigger leaves the tombstones.
            deleted = heartbeats.delete_heartbeats(db, user_id)
            kv.delete_import_progress(db, user_id)
            users.delete_user(db, user_id)
            return deleted

        try:
            return self.write(remove)
        finally:
            self._keys.clear()

    def set_password(self, user_id: int, password: str, *, end_sessions: bool = False,
                     keep_token: str | None = None) -> None:
        def change(db: sqlite_utils.Database) -> None:
            users.set_password(db, user_id, password)
            if end_sessions:
                web_sessions.delete_user_sessions(db, user_id, keep_token=keep_token)

        self.write(change)

    def verify_password(self, username: str, password: str) -> User | None:
        return users.verify_password(self.reader(), username, password)

    # -- API keys ---------------------------------------------------------------------------------------
    def create_api_key(self, user_id: int, *, name: str = "default",
                       read_only: bool = False) -> tuple[ApiKey, str]:
        return self.write(lambda db: users.create_api_key(db, user_id, name=name, read_only=read_only))

    def list_api_keys(self, user_id: int | None = None) -> list[ApiKey]:
        return users.list_api_keys(self.reader(), user_id)

    def revoke_api_key(self, key_id: int, *, user_id: int | None = None) -> ApiKey:
        try:
            return self.write(lambda db: users.revoke_api_key(db, key_id, user_id=user_id))
        finally:
            self._keys.clear()

    def lookup_api_key(self, plaintext: str) -> tuple[User, ApiKey] | None:
        return users.lookup_api_key(self.reader(), plaintext, self._keys)

    def note_api_key_use(self, key_id: int, used_at: float) -> Future[None]:
        if not self._keys.use_is_due(key_id, used_at):
            return _NOTHING_TO_WRITE
        return self.submit(lambda db: users.note_key_use(db, key_id, used_at))

    # -- dashboard sessions -----------------------------------------------------------------------------
    def create_session(self, user_id: int, *, user_agent: str | None = None, remote_addr: str | None = None,
                       now: float | None = None) -> str:
        def start(db: sqlite_utils.Database) -> str:
            web_sessions.purge_expired_sessions(db, now=now)  # logins are rare enough to do the housekeeping
            return web_sessions.create_session(db, user_id, user_agent=user_agent, remote_addr=remote_addr,
                                               now=now)

        return self.write(start)

    def session_user(self, token: str, *, now: float | None = None) -> LiveSession | None:
        return web_sessions.session_user(self.reader(), token, now=now)

    def touch_session(self, session_id: int, *, now: float | None = None) -> Future[None]:
        return self.submit(lambda db: web_sessions.touch_session(db, session_id, now=now))

    def delete_session(self, token: str) -> None:
        self.write(lambda db: web_sessions.delete_session(db, token))

    def delete_user_sessions(self, user_id: int, *, keep_token: str | None = None) -> int:
        return self.write(lambda db: web_sessions.delete_user_sessions(db, user_id, keep_token=keep_token))

    # -- invites ----------------------------------------------------------------------------------------
    def create_invite(self, created_by: int | None, *, max_uses: int = 1, valid_days: float | None = 7,
                      note: str | None = None) -> tuple[Invite, str]:
        return self.write(lambda db: invites.create_invite(db, created_by, max_uses=max_uses,
                                                           valid_days=valid_days, note=note))

    def list_invites(self) -> list[Invite]:
        return invites.list_invites(self.reader())

    def revoke_invite(self, invite_id: int) -> None:
        self.write(lambda db: invites.revoke_invite(db, invite_id))

    def sign_up(self, code: str, username: str, password: str, *, timezone: str = "UTC") -> User:
        return self.write(lambda db: invites.sign_up(db, code, username, password, timezone=timezone))

    # -- heartbeats -------------------------------------------------------------------------------------
    def insert_heartbeats(self, rows: Sequence[HeartbeatRow], *, user_id: int, source: str,
                          origins: tuple[str, ...], now: float) -> Future[list[InsertOutcome]]:
        request = heartbeats.InsertRequest(rows, user_id, source, origins, now)
        process = self._writer_process
        if process is not None and (future := process.submit(request)) is not None:
            return future
        # Combinable: the requests queued in one group commit are inserted by one statement (heartbeats.py).
        return self.submit_many(self._insert_many, request)

    def _writer_process_committed(self, anchor: int, last_seq: int | None,
                                  done: list[tuple[heartbeats.InsertRequest, list[InsertOutcome]]]) -> None:
        self._recent.add_committed(anchor, [(request.rows, outcomes) for request, outcomes in done], last_seq)

    def _writes_succeeded(self) -> None:
        if self.write_fault is not None:
            self._recovered()

    def _insert_requests(self, db: sqlite_utils.Database,
                         requests: list[heartbeats.InsertRequest]) -> list[list[InsertOutcome]]:
        """heartbeats.insert_requests, the new rows staged for the replica's feed (kept if the transaction commits)."""
        recent = self._recent
        anchor, outcomes, last_seq = recent_rows.insert_requests_marked(db, requests, anchor=recent.wants_anchor,
                                                                        last_seq=recent.active)
        if recent.active:
            recent.stage(anchor, [(request.rows, got) for request, got in zip(requests, outcomes, strict=True)],
                         last_seq)
        return outcomes

    def _committed(self) -> None:
        try:
            self._recent.publish()
        except BaseException:
            self._recent.discard()  # memory must never serve what it is unsure of
            raise

    def _rolled_back(self) -> None:
        self._recent.discard()

    def import_heartbeats(self, rows: Sequence[HeartbeatRow]) -> int:
        return self.write(lambda db: heartbeats.insert_rows_fast(db, rows))

    def latest_heartbeat_fields(self, user_id: int) -> dict[str, str | None]:
        return heartbeats.latest_heartbeat_fields(self.reader(), user_id)

    def heartbeat_rows(self, user_id: int, start: float | None, end: float | None, *,
                       after: tuple[float, int] | None = None, limit: int | None = None) -> list[HeartbeatRow]:
        return heartbeats.heartbeat_rows(self.reader(), user_id, start, end, after=after, limit=limit)

    def ai_rows(self, user_id: int, start: float | None, end: float | None) -> list[AiRow]:
        return ai_stats.ai_rows(self.reader(), user_id, start, end)

    def newest_heartbeat(self, user_id: int, *, editor: str | None = None) -> HeartbeatRow | None:
        return heartbeats.newest_heartbeat(self.reader(), user_id, editor=editor)

    def heartbeat_ids(self, user_id: int, start: float | None, end: float | None, *, limit: int,
                      after_id: int | None = None) -> list[int]:
        return heartbeats.heartbeat_ids(self.reader(), user_id, start, end, limit=limit, after_id=after_id)

    def delete_heartbeats(self, user_id: int, *, start: float | None = None, end: float | None = None,
                          ids: Sequence[int] | None = None) -> int:
        return self.write(lambda db: heartbeats.delete_heartbeats(db, user_id, start=start, end=end, ids=ids))

    def has_project(self, user_id: int, project: str) -> bool:
        return heartbeats.has_project(self.reader(), user_id, project)

    def last_heartbeat_times(self, user_ids: Sequence[int]) -> dict[int, float | None]:
        return heartbeats.last_heartbeat_times(self.reader(), user_ids)

    def user_agents(self, user_id: int) -> list[UserAgentSeen]:
        return heartbeats.user_agents(self.reader(), user_id)

    # -- what the analytics replica follows -------------------------------------------------------------
    def change_marks(self) -> ChangeMarks:
        return changes.change_marks(self.reader())

    def lowest_heartbeat_id(self) -> int | None:
        return changes.lowest_heartbeat_id(self.reader())

    def heartbeat_batches(self, columns: Sequence[str], *, after_id: int, up_to_id: int,
                          batch_rows: int) -> Iterator[list[HeartbeatRow]]:
        # The rows this process committed lately, from memory when it holds exactly what SQLite would return
        # (recent.py): the replica's sync under ingest then reads nothing back.
        rows = self._recent.rows(columns, after_id, up_to_id, recent_rows.tombstone_seq(self.reader()))
        if rows is None:
            return changes.heartbeat_batches(self._bulk_reader(), columns, after_id=after_id, up_to_id=up_to_id,
                                             batch_rows=batch_rows)
        return iter([rows[start:start + batch_rows] for start in range(0, len(rows), batch_rows)])

    def deleted_heartbeat_ids(self, after_seq: int, up_to_seq: int) -> list[int]:
        return changes.deleted_heartbeat_ids(self.reader(), after_seq, up_to_seq)

    def _bulk_reader(self) -> sqlite3.Connection:
        """A read-only connection with memory-mapped reads for bulk copies; usable from any thread (the
        replica's copy fetches in a helper thread), and shared by them (reads only)."""
        with self._bulk_lock:
            if self._bulk is None:
                self._bulk = connect(self.path, readonly=True)
                self._bulk.execute(f"PRAGMA mmap_size = {_BULK_MMAP_BYTES}")
            return self._bulk

    # -- mirror targets and the outbox ------------------------------------------------------------------
    def instance_id(self) -> str:
        return outbox.instance_id(self.reader())

    def list_targets(self, user_id: int | None = None) -> list[TargetRow]:
        return outbox.list_targets(self.reader(), user_id)

    def get_target(self, target_id: int) -> TargetRow | None:
        return outbox.get_target(self.reader(), target_id)

    def upsert_target(self, user_id: int, url: str, api_key_encrypted: str, key_hint: str,
                      now: float) -> TargetRow:
        return self.write(lambda db: outbox.upsert_target(db, user_id, url, api_key_encrypted, key_hint, now))

    def delete_target(self, target_id: int) -> bool:
        return self.write(lambda db: outbox.delete_target(db, target_id))

    def pause_target(self, target_id: int, reason: str, now: float) -> None:
        self.write(lambda db: outbox.pause_target(db, target_id, reason, now))

    def resume_target(self, target_id: int, now: float) -> None:
        self.write(lambda db: outbox.resume_target(db, target_id, now))

    def record_target_failure(self, target_id: int, error: str, retry_at: float, now: float) -> None:
        self.write(lambda db: outbox.record_target_failure(db, target_id, error, retry_at, now))

    def target_failures(self, target_id: int) -> int:
        return outbox.target_failures(self.reader(), target_id)

    def enqueue_backfill(self, target_id: int, heartbeat_ids: Sequence[int], now: float) -> int:
        return self.write(lambda db: outbox.enqueue_backfill(db, target_id, heartbeat_ids, now))

    def due_target_ids(self, now: float) -> list[int]:
        return outbox.due_target_ids(self.reader(), now)

    def due_outbox_items(self, target_id: int, now: float, limit: int) -> list[OutboxItem]:
        return outbox.due_items(self.reader(), target_id, now, limit)

    def settle_outbox(self, target_id: int, *, delivered: Sequence[int], rejected: Sequence[Rejected],
                      retries: Sequence[Retry], now: float) -> None:
        self.write(lambda db: outbox.settle(db, target_id, delivered=delivered, rejected=rejected,
                                           retries=retries, now=now))

    def outbox_counts(self, target_id: int, now: float) -> OutboxCounts:
        return outbox.outbox_counts(self.reader(), target_id, now)

    def recent_rejections(self, target_id: int, limit: int = 10) -> list[dict[str, Any]]:
        return outbox.recent_rejections(self.reader(), target_id, limit)

    # -- resumable imports ------------------------------------------------------------------------------
    def import_progress(self, user_id: int, source: str) -> dict[str, Any]:
        return kv.import_progress(self.reader(), user_id, source)

    def save_import_progress(self, user_id: int, source: str, progress: dict[str, Any]) -> None:
        self.write(lambda db: kv.save_import_progress(db, user_id, source, progress))

    # -- scheduler job runs -----------------------------------------------------------------------------
    def job_runs(self) -> list[JobRun]:
        return job_runs.job_runs(self.reader())

    def record_job_run(self, update: JobRunUpdate) -> Future[None]:
        return self.submit(lambda db: job_runs.record_run(db, update))

    def request_job_run(self, name: str, requested_at: float) -> None:
        self.write(lambda db: job_runs.request_run(db, name, requested_at))

    # -- leaderboard and streak caches ------------------------------------------------------------------
    def replace_leaderboard(self, built: BuiltBoard, generated_at: float) -> int:
        return self.write(lambda db: leaderboards.replace_board(db, built, generated_at))

    def leaderboard_header(self, board: str, language: str) -> BoardHeader | None:
        return leaderboards.board_header(self.reader(), board, language)

    def leaderboard_page(self, board: str, language: str, *, limit: int, offset: int,
                         viewer_id: int | None = None) -> tuple[int, list[LeaderboardEntry]]:
        return leaderboards.board_page(self.reader(), board, language, limit=limit, offset=offset,
                                       viewer_id=viewer_id)

    def leaderboard_entry(self, board: str, language: str, user_id: int) -> LeaderboardEntry | None:
        return leaderboards.board_entry(self.reader(), board, language, user_id)

    def list_leaderboards(self) -> list[BoardInfo]:
        return leaderboards.list_boards(self.reader())

    def replace_streaks(self, streaks: Mapping[int, Streak], computed_at: float) -> int:
        return self.write(lambda db: streak_cache.replace_streaks(db, streaks, computed_at))

    def cached_streak(self, user_id: int) -> Streak | None:
        return streak_cache.cached_streak(self.reader(), user_id)

    # -- the weekly report e-mail ------------------------------------------------------------------------
    def weekly_report_opt_in(self, user_id: int) -> bool:
        return weekly_reports.opted_in(self.reader(), user_id)

    def set_weekly_report_opt_in(self, user_id: int, opt_in: bool, now: float) -> None:
        self.write(lambda db: weekly_reports.set_opt_in(db, user_id, opt_in, now))

    def weekly_report_subscribers(self) -> list[int]:
        return weekly_reports.subscribers(self.reader())

    def claim_weekly_report(self, user_id: int, week: str, now: float) -> bool:
        return self.write(lambda db: weekly_reports.claim_send(db, user_id, week, now))

    def release_weekly_report(self, user_id: int, week: str) -> None:
        self.write(lambda db: weekly_reports.release_send(db, user_id, week))

    def weekly_reports_sent(self, user_id: int) -> list[str]:
        return weekly_reports.sent_weeks(self.reader(), user_id)

    # -- diagnostics ------------------------------------------------------------------------------------
    def record_plugin_error(self, received_at: float, remote_addr: str | None, user_agent: str | None,
                            payload: str) -> Future[None]:
        return self.submit(lambda db: maintenance.record_plugin_error(db, received_at, remote_addr, user_agent,
                                                                      payload))

    # -- schema and whole-instance copies ---------------------------------------------------------------
    def migration_status(self) -> MigrationStatus:
        return copy_rows.migration_status(self.path, self.reader() if self.path.exists() else None)

    def table_columns(self, table: str) -> list[str]:
        return copy_rows.table_columns(self.reader(), table)

    def table_counts(self) -> dict[str, int]:
        return copy_rows.table_counts(self.reader())

    def export_rows(self, table: str, *, after: int | None = None,
                    limit: int | None = None) -> list[dict[str, Any]]:
        return copy_rows.export_rows(self.reader(), table, after=after, limit=limit)

    def import_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
        return self.write(lambda db: copy_rows.import_rows(db, table, rows))
