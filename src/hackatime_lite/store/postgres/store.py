"""PostgresStore: the StoreBackend on a PostgreSQL database shared by any number of app nodes.

Queued writes (heartbeats, key use, session touches, job runs, plugin errors) go through the group-committing
writer thread; other writes run as one transaction in the caller's thread; reads use pooled autocommit
connections. Every node has its own instance; nothing here is shared between nodes but the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from hackatime_lite.models import ApiKey, BoardInfo, LeaderboardEntry, Streak, User
from hackatime_lite.store import rules
from hackatime_lite.store.interface import MigrationStatus
from hackatime_lite.store.postgres import (
    ai_stats,
    changes,
    copy_rows,
    goals,
    heartbeats,
    invites,
    job_runs,
    kv,
    leaderboards,
    maintenance,
    outbox,
    shared,
    users,
    web_sessions,
    weekly,
)
from hackatime_lite.store.postgres.aliases import PostgresAliases  # aliases, labels, mappings, exclusions
from hackatime_lite.store.postgres.base import Connection
from hackatime_lite.store.postgres.db import PostgresDatabase, masked_url
from hackatime_lite.store.postgres.teams import PostgresTeams
from hackatime_lite.store.postgres.trust import PostgresTrust
from hackatime_lite.store.postgres.webhooks import PostgresWebhooks  # outgoing webhooks and their outbox
from hackatime_lite.store.records import (
    AiRow,
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
    UserAgentSeen,
)


class PostgresStore(PostgresWebhooks, PostgresAliases, PostgresTrust, PostgresTeams, PostgresDatabase):  # trust.py: levels, audit log; teams.py
    """The store on one PostgreSQL database (see PostgresDatabase for the connection policy)."""

    def __init__(self, url: str, *, readonly: bool = False, pool_size: int = 8, open_timeout: float = 15.0) -> None:
        super().__init__(url, readonly=readonly, pool_size=pool_size, open_timeout=open_timeout)
        # Recent key lookups on this node; a key revoked on another node stops working within
        # rules.KEY_CACHE_SECONDS (the same bound as a change made by the CLI next to a SQLite server).
        self._keys = rules.KeyCache()

    @property
    def location(self) -> str:
        return masked_url(self.url)

    @property
    def shares_state(self) -> bool:
        """Several nodes may use this database: limits and leases must live in it."""
        return True

    # -- lifecycle --------------------------------------------------------------------------------------
    def health(self) -> dict[str, object]:
        return maintenance.health(self)

    def backup_to(self, target: Path, *, cancel: threading.Event | None = None,
                  pages_per_step: int = 1024, pause: float = 0.001) -> int:
        return maintenance.backup(self.url, target, cancel=cancel)

    # -- users ------------------------------------------------------------------------------------------
    def create_user(self, username: str, *, is_admin: bool = False, timezone: str = "UTC",
                    password: str | None = None, display_name: str | None = None,
                    email: str | None = None) -> User:
        return self.write(lambda c: users.create_user(c, username, is_admin=is_admin, timezone=timezone,
                                                      password=password, display_name=display_name, email=email))

    def get_user(self, user_id: int) -> User | None:
        return self.read(lambda c: users.get_user(c, user_id))

    def get_user_by_name(self, username: str) -> User | None:
        return self.read(lambda c: users.get_user_by_name(c, username))

    def find_user(self, ref: str) -> User | None:
        return self.read(lambda c: users.find_user(c, ref))

    def list_users(self) -> list[User]:
        return self.read(users.list_users)

    def update_user(self, user_id: int, **fields: Any) -> User:
        try:
            return self.write(lambda c: users.update_user(c, user_id, **fields))
        finally:
            self._keys.clear()

    def disable_user(self, user_id: int) -> User:
        def disable(conn: Connection) -> User:
            user = users.update_user(conn, user_id, is_disabled=True)
            web_sessions.delete_user_sessions(conn, user_id)
            return user

        try:
            return self.write(disable)
        finally:
            self._keys.clear()

    def delete_user(self, user_id: int) -> int:
        def remove(conn: Connection) -> int:
            deleted = heartbeats.delete_heartbeats(conn, user_id)
            kv.delete_import_progress(conn, user_id)
            users.delete_user(conn, user_id)
            return deleted

        try:
            return self.write(remove)
        finally:
            self._keys.clear()

    def set_password(self, user_id: int, password: str, *, end_sessions: bool = False,
                     keep_token: str | None = None) -> None:
        def change(conn: Connection) -> None:
            users.set_password(conn, user_id, password)
            if end_sessions:
                web_sessions.delete_user_sessions(conn, user_id, keep_token=keep_token)

        self.write(change)

    def verify_password(self, username: str, password: str) -> User | None:
        return self.read(lambda c: users.verify_password(c, username, password))

    # -- API keys ---------------------------------------------------------------------------------------
    def create_api_key(self, user_id: int, *, name: str = "default",
                       read_only: bool = False) -> tuple[ApiKey, str]:
        return self.write(lambda c: users.create_api_key(c, user_id, name=name, read_only=read_only))

    def list_api_keys(self, user_id: int | None = None) -> list[ApiKey]:
        return self.read(lambda c: users.list_api_keys(c, user_id))

    def revoke_api_key(self, key_id: int, *, user_id: int | None = None) -> ApiKey:
        try:
            return self.write(lambda c: users.revoke_api_key(c, key_id, user_id=user_id))
        finally:
            self._keys.clear()

    def lookup_api_key(self, plaintext: str) -> tuple[User, ApiKey] | None:
        cached = self._keys.get(rules.hash_api_key(plaintext)) if rules.looks_like_api_key(plaintext) else None
        if cached is not None:
            return cached  # no pooled connection needed for the hot path
        return self.read(lambda c: users.lookup_api_key(c, plaintext, self._keys))

    def note_api_key_use(self, key_id: int, used_at: float) -> Future[None]:
        if not self._keys.use_is_due(key_id, used_at):
            done: Future[None] = Future()
            done.set_result(None)
            return done
        return self.submit(lambda c: users.note_key_use(c, key_id, used_at))

    # -- dashboard sessions -----------------------------------------------------------------------------
    def create_session(self, user_id: int, *, user_agent: str | None = None, remote_addr: str | None = None,
                       now: float | None = None) -> str:
        def start(conn: Connection) -> str:
            web_sessions.purge_expired_sessions(conn, now=now)
            return web_sessions.create_session(conn, user_id, user_agent=user_agent, remote_addr=remote_addr,
                                               now=now)

        return self.write(start)

    def session_user(self, token: str, *, now: float | None = None) -> LiveSession | None:
        return self.read(lambda c: web_sessions.session_user(c, token, now=now))

    def touch_session(self, session_id: int, *, now: float | None = None) -> Future[None]:
        return self.submit(lambda c: web_sessions.touch_session(c, session_id, now=now))

    def delete_session(self, token: str) -> None:
        self.write(lambda c: web_sessions.delete_session(c, token))

    def delete_user_sessions(self, user_id: int, *, keep_token: str | None = None) -> int:
        return self.write(lambda c: web_sessions.delete_user_sessions(c, user_id, keep_token=keep_token))

    # -- invites ----------------------------------------------------------------------------------------
    def create_invite(self, created_by: int | None, *, max_uses: int = 1, valid_days: float | None = 7,
                      note: str | None = None) -> tuple[Invite, str]:
        return self.write(lambda c: invites.create_invite(c, created_by, max_uses=max_uses, valid_days=valid_days,
                                                          note=note))

    def list_invites(self) -> list[Invite]:
        return self.read(invites.list_invites)

    def revoke_invite(self, invite_id: int) -> None:
        self.write(lambda c: invites.revoke_invite(c, invite_id))

    def sign_up(self, code: str, username: str, password: str, *, timezone: str = "UTC") -> User:
        return self.write(lambda c: invites.sign_up(c, code, username, password, timezone=timezone))

    # -- heartbeats -------------------------------------------------------------------------------------
    def insert_heartbeats(self, rows: Sequence[HeartbeatRow], *, user_id: int, source: str,
                          origins: tuple[str, ...], now: float) -> Future[list[InsertOutcome]]:
        def insert(conn: Connection) -> list[InsertOutcome]:
            outcomes = heartbeats.insert_rows(conn, rows)
            outbox.enqueue_new_heartbeats(conn, user_id, [i for i, created in outcomes if created],
                                          source=source, origins=origins, now=now)
            return outcomes

        return self.submit(insert)

    def import_heartbeats(self, rows: Sequence[HeartbeatRow]) -> int:
        return self.write(lambda c: heartbeats.insert_rows_fast(c, rows))

    def latest_heartbeat_fields(self, user_id: int) -> dict[str, str | None]:
        return self.read(lambda c: heartbeats.latest_heartbeat_fields(c, user_id))

    def heartbeat_rows(self, user_id: int, start: float | None, end: float | None, *,
                       after: tuple[float, int] | None = None, limit: int | None = None) -> list[HeartbeatRow]:
        return self.read(lambda c: heartbeats.heartbeat_rows(c, user_id, start, end, after=after, limit=limit))

    def ai_rows(self, user_id: int, start: float | None, end: float | None) -> list[AiRow]:
        return self.read(lambda c: ai_stats.ai_rows(c, user_id, start, end))

    def newest_heartbeat(self, user_id: int, *, editor: str | None = None) -> HeartbeatRow | None:
        return self.read(lambda c: heartbeats.newest_heartbeat(c, user_id, editor=editor))

    def heartbeat_ids(self, user_id: int, start: float | None, end: float | None, *, limit: int,
                      after_id: int | None = None) -> list[int]:
        return self.read(lambda c: heartbeats.heartbeat_ids(c, user_id, start, end, limit=limit, after_id=after_id))

    def delete_heartbeats(self, user_id: int, *, start: float | None = None, end: float | None = None,
                          ids: Sequence[int] | None = None) -> int:
        return self.write(lambda c: heartbeats.delete_heartbeats(c, user_id, start=start, end=end, ids=ids))

    def has_project(self, user_id: int, project: str) -> bool:
        return self.read(lambda c: heartbeats.has_project(c, user_id, project))

    def last_heartbeat_times(self, user_ids: Sequence[int]) -> dict[int, float | None]:
        return self.read(lambda c: heartbeats.last_heartbeat_times(c, user_ids))

    def user_agents(self, user_id: int) -> list[UserAgentSeen]:
        return self.read(lambda c: heartbeats.user_agents(c, user_id))

    # -- what the analytics replica follows -------------------------------------------------------------
    def change_marks(self) -> ChangeMarks:
        return self.read(changes.change_marks)

    def lowest_heartbeat_id(self) -> int | None:
        return self.read(changes.lowest_heartbeat_id)

    def heartbeat_batches(self, columns: Sequence[str], *, after_id: int, up_to_id: int,
                          batch_rows: int) -> Iterator[list[HeartbeatRow]]:
        return changes.heartbeat_batches(self.read, columns, after_id=after_id, up_to_id=up_to_id,
                                         batch_rows=batch_rows)

    def deleted_heartbeat_ids(self, after_seq: int, up_to_seq: int) -> list[int]:
        return self.read(lambda c: changes.deleted_heartbeat_ids(c, after_seq, up_to_seq))

    # -- mirror targets and the outbox ------------------------------------------------------------------
    def instance_id(self) -> str:
        return self.read(kv.instance_id)

    def list_targets(self, user_id: int | None = None) -> list[TargetRow]:
        return self.read(lambda c: outbox.list_targets(c, user_id))

    def get_target(self, target_id: int) -> TargetRow | None:
        return self.read(lambda c: outbox.get_target(c, target_id))

    def upsert_target(self, user_id: int, url: str, api_key_encrypted: str, key_hint: str,
                      now: float) -> TargetRow:
        return self.write(lambda c: outbox.upsert_target(c, user_id, url, api_key_encrypted, key_hint, now))

    def delete_target(self, target_id: int) -> bool:
        return self.write(lambda c: outbox.delete_target(c, target_id))

    def pause_target(self, target_id: int, reason: str, now: float) -> None:
        self.write(lambda c: outbox.pause_target(c, target_id, reason, now))

    def resume_target(self, target_id: int, now: float) -> None:
        self.write(lambda c: outbox.resume_target(c, target_id, now))

    def record_target_failure(self, target_id: int, error: str, retry_at: float, now: float) -> None:
        self.write(lambda c: outbox.record_target_failure(c, target_id, error, retry_at, now))

    def target_failures(self, target_id: int) -> int:
        return self.read(lambda c: outbox.target_failures(c, target_id))

    def enqueue_backfill(self, target_id: int, heartbeat_ids: Sequence[int], now: float) -> int:
        return self.write(lambda c: outbox.enqueue_backfill(c, target_id, heartbeat_ids, now))

    def due_target_ids(self, now: float) -> list[int]:
        return self.read(lambda c: outbox.due_target_ids(c, now))

    def due_outbox_items(self, target_id: int, now: float, limit: int) -> list[OutboxItem]:
        return self.read(lambda c: outbox.due_items(c, target_id, now, limit))

    def settle_outbox(self, target_id: int, *, delivered: Sequence[int], rejected: Sequence[Rejected],
                      retries: Sequence[Retry], now: float) -> None:
        self.write(lambda c: outbox.settle(c, target_id, delivered=delivered, rejected=rejected, retries=retries,
                                           now=now))

    def outbox_counts(self, target_id: int, now: float) -> OutboxCounts:
        return self.read(lambda c: outbox.outbox_counts(c, target_id, now))

    def recent_rejections(self, target_id: int, limit: int = 10) -> list[dict[str, Any]]:
        return self.read(lambda c: outbox.recent_rejections(c, target_id, limit))

    # -- resumable imports ------------------------------------------------------------------------------
    def import_progress(self, user_id: int, source: str) -> dict[str, Any]:
        return self.read(lambda c: kv.import_progress(c, user_id, source))

    def save_import_progress(self, user_id: int, source: str, progress: dict[str, Any]) -> None:
        self.write(lambda c: kv.save_import_progress(c, user_id, source, progress))

    # -- scheduler job runs -----------------------------------------------------------------------------
    def job_runs(self) -> list[JobRun]:
        return self.read(job_runs.job_runs)

    def record_job_run(self, update: JobRunUpdate) -> Future[None]:
        return self.submit(lambda c: job_runs.record_run(c, update))

    def request_job_run(self, name: str, requested_at: float) -> None:
        self.write(lambda c: job_runs.request_run(c, name, requested_at))

    # -- leaderboard and streak caches ------------------------------------------------------------------
    def replace_leaderboard(self, built: BuiltBoard, generated_at: float) -> int:
        return self.write(lambda c: leaderboards.replace_board(c, built, generated_at))

    def leaderboard_header(self, board: str, language: str) -> BoardHeader | None:
        return self.read(lambda c: leaderboards.board_header(c, board, language))

    def leaderboard_page(self, board: str, language: str, *, limit: int, offset: int,
                         viewer_id: int | None = None) -> tuple[int, list[LeaderboardEntry]]:
        return self.read(lambda c: leaderboards.board_page(c, board, language, limit=limit, offset=offset,
                                                           viewer_id=viewer_id))

    def leaderboard_entry(self, board: str, language: str, user_id: int) -> LeaderboardEntry | None:
        return self.read(lambda c: leaderboards.board_entry(c, board, language, user_id))

    def list_leaderboards(self) -> list[BoardInfo]:
        return self.read(leaderboards.list_boards)

    def replace_streaks(self, streaks: Mapping[int, Streak], computed_at: float) -> int:
        return self.write(lambda c: leaderboards.replace_streaks(c, streaks, computed_at))

    def cached_streak(self, user_id: int) -> Streak | None:
        return self.read(lambda c: leaderboards.cached_streak(c, user_id))

    # -- diagnostics ------------------------------------------------------------------------------------
    def record_plugin_error(self, received_at: float, remote_addr: str | None, user_agent: str | None,
                            payload: str) -> Future[None]:
        return self.submit(lambda c: maintenance.record_plugin_error(c, received_at, remote_addr, user_agent,
                                                                     payload))

    # -- the weekly report e-mail ------------------------------------------------------------------------
    def weekly_report_opt_in(self, user_id: int) -> bool:
        return self.read(lambda c: weekly.opted_in(c, user_id))

    def set_weekly_report_opt_in(self, user_id: int, opt_in: bool, now: float) -> None:
        self.write(lambda c: weekly.set_opt_in(c, user_id, opt_in, now))

    def weekly_report_subscribers(self) -> list[int]:
        return self.read(weekly.subscribers)

    def claim_weekly_report(self, user_id: int, week: str, now: float) -> bool:
        return self.write(lambda c: weekly.claim_send(c, user_id, week, now))

    def release_weekly_report(self, user_id: int, week: str) -> None:
        self.write(lambda c: weekly.release_send(c, user_id, week))

    def weekly_reports_sent(self, user_id: int) -> list[str]:
        return self.read(lambda c: weekly.sent_weeks(c, user_id))

    # -- goals ------------------------------------------------------------------------------------------
    def create_goal(self, user_id: int, spec: GoalSpec, *, now: float | None = None) -> StoredGoal:
        moment = time.time() if now is None else now
        return self.write(lambda c: goals.create_goal(c, user_id, spec, moment))

    def list_goals(self, user_id: int) -> list[StoredGoal]:
        return self.read(lambda c: goals.list_goals(c, user_id))

    def get_goal(self, user_id: int, goal_id: str) -> StoredGoal | None:
        return self.read(lambda c: goals.get_goal(c, user_id, goal_id))

    def update_goal(self, user_id: int, goal_id: str, spec: GoalSpec, *, now: float | None = None) -> StoredGoal:
        moment = time.time() if now is None else now
        return self.write(lambda c: goals.update_goal(c, user_id, goal_id, spec, moment))

    def delete_goal(self, user_id: int, goal_id: str) -> bool:
        return self.write(lambda c: goals.delete_goal(c, user_id, goal_id))

    # -- schema and whole-instance copies ---------------------------------------------------------------
    def migration_status(self) -> MigrationStatus:
        return self.read(copy_rows.migration_status)

    def table_columns(self, table: str) -> list[str]:
        return self.read(lambda c: copy_rows.table_columns(c, table))

    def table_counts(self) -> dict[str, int]:
        return self.read(copy_rows.table_counts)

    def export_rows(self, table: str, *, after: int | None = None,
                    limit: int | None = None) -> list[dict[str, Any]]:
        return self.read(lambda c: copy_rows.export_rows(c, table, after=after, limit=limit))

    def import_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
        return self.write(lambda c: copy_rows.import_rows(c, table, rows))

    # -- state shared by every node ---------------------------------------------------------------------
    def take_token(self, scope: str, key: str, *, per_minute: int, now: float) -> float:
        return self.write(lambda c: shared.take_token(c, scope, key, capacity=per_minute, rate=per_minute / 60.0,
                                                      now=now))

    def count_failure(self, scope: str, key: str, *, free: int, backoff_max: float, window: float,
                      now: float) -> None:
        self.write(lambda c: shared.count_failure(c, scope, key, free=free, backoff_max=backoff_max, window=window,
                                                  now=now))

    def failure_wait(self, scope: str, keys: Sequence[str], *, window: float, now: float) -> float:
        return self.read(lambda c: shared.failure_wait(c, scope, list(keys), window=window, now=now))

    def clear_failures(self, scope: str, key: str) -> None:
        self.write(lambda c: shared.clear_failures(c, scope, key))

    def try_job_lease(self, name: str, node_id: str, ttl: float, *, now: float | None = None) -> bool:
        moment = time.time() if now is None else now
        return self.write(lambda c: shared.try_job_lease(c, name, node_id, ttl=ttl, now=moment))

    def release_job_lease(self, name: str, node_id: str) -> None:
        self.write(lambda c: shared.release_job_lease(c, name, node_id))

    def save_import_job(self, job_id: str, user_id: int, record: Mapping[str, Any], now: float) -> None:
        self.write(lambda c: kv.save_import_job(c, job_id, user_id, record, now))

    def import_job(self, job_id: str, user_id: int) -> dict[str, Any] | None:
        return self.read(lambda c: kv.import_job(c, job_id, user_id))
