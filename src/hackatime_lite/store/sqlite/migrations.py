"""Named, ordered migrations (sqlite_utils.Migrations). Append new ones; never edit an applied one.

The list is also the schema's history: version k is the first k migrations, and tests/test_upgrades.py
builds a store at every earlier version and upgrades it. Before migrations change a database that already
has a schema, it is backed up (SQLite's online backup API) into the backups folder next to it.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import time
from pathlib import Path

import sqlite_utils
from sqlite_utils import Migrations

log = logging.getLogger(__name__)
migrations = Migrations("hackatime_lite")
# Backups taken automatically before migrations run, in <data dir>/backups (data/backup.py lists them).
PRE_UPGRADE_PREFIX = "hackatime-pre-upgrade-"


def _run(db: sqlite_utils.Database, *statements: str) -> None:
    for statement in statements:
        db.execute(statement)


@migrations(name="0001_users_and_keys")
def users_and_keys(db: sqlite_utils.Database) -> None:
    _run(
        db,
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            public_id TEXT NOT NULL UNIQUE,
            username TEXT NOT NULL UNIQUE COLLATE NOCASE,
            display_name TEXT,
            email TEXT,
            password_hash TEXT,
            is_admin INTEGER NOT NULL DEFAULT 0,
            is_disabled INTEGER NOT NULL DEFAULT 0,
            timezone TEXT NOT NULL DEFAULT 'UTC',
            timeout INTEGER,
            duration_mode TEXT CHECK (duration_mode IN ('capped', 'keystroke')),
            trust_level TEXT NOT NULL DEFAULT 'default'
                CHECK (trust_level IN ('default', 'trusted', 'suspected', 'convicted')),
            leaderboard_opt_out INTEGER NOT NULL DEFAULT 0,
            share_stats INTEGER NOT NULL DEFAULT 0,
            share_languages INTEGER NOT NULL DEFAULT 0,
            share_projects INTEGER NOT NULL DEFAULT 0,
            share_editors INTEGER NOT NULL DEFAULT 0,
            share_operating_systems INTEGER NOT NULL DEFAULT 0,
            share_machines INTEGER NOT NULL DEFAULT 0,
            share_max_days INTEGER,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""",
        """CREATE TABLE api_keys (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL DEFAULT 'default',
            key_hash TEXT NOT NULL UNIQUE,
            key_hint TEXT NOT NULL,
            read_only INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            last_used_at REAL,
            revoked_at REAL
        )""",
        "CREATE INDEX api_keys_user ON api_keys(user_id)",
        """CREATE TABLE kv (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at REAL NOT NULL
        )""",
        # Bumped on any user change so the analytics replica knows to refresh its copy of settings.
        """CREATE TRIGGER users_changed_insert AFTER INSERT ON users BEGIN
            INSERT INTO kv(key, value, updated_at) VALUES ('users_version', '1', ((julianday('now') - 2440587.5) * 86400.0))
            ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1, updated_at = excluded.updated_at;
        END""",
        """CREATE TRIGGER users_changed_update AFTER UPDATE ON users BEGIN
            INSERT INTO kv(key, value, updated_at) VALUES ('users_version', '1', ((julianday('now') - 2440587.5) * 86400.0))
            ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1, updated_at = excluded.updated_at;
        END""",
        """CREATE TRIGGER users_changed_delete AFTER DELETE ON users BEGIN
            INSERT INTO kv(key, value, updated_at) VALUES ('users_version', '1', ((julianday('now') - 2440587.5) * 86400.0))
            ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1, updated_at = excluded.updated_at;
        END""",
    )


@migrations(name="0002_heartbeats")
def heartbeats(db: sqlite_utils.Database) -> None:
    _run(
        db,
        # AUTOINCREMENT: ids are never reused, so the replica's rowid watermark cannot miss a row
        # inserted after the newest row was deleted.
        """CREATE TABLE heartbeats (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            time REAL NOT NULL,
            entity TEXT NOT NULL,
            type TEXT NOT NULL,
            category TEXT NOT NULL,
            project TEXT,
            branch TEXT,
            language TEXT,
            dependencies TEXT,
            lines INTEGER,
            lineno INTEGER,
            cursorpos INTEGER,
            is_write INTEGER,
            project_root_count INTEGER,
            line_additions INTEGER,
            line_deletions INTEGER,
            ai_line_changes INTEGER,
            human_line_changes INTEGER,
            ai_session TEXT,
            ai_model TEXT,
            ai_input_tokens INTEGER,
            ai_output_tokens INTEGER,
            ai_prompt_length INTEGER,
            user_agent TEXT,
            editor TEXT,
            operating_system TEXT,
            machine TEXT,
            source TEXT NOT NULL DEFAULT 'direct',
            dedup_hash BLOB NOT NULL,
            created_at REAL NOT NULL
        )""",
        "CREATE UNIQUE INDEX heartbeats_dedup ON heartbeats(dedup_hash)",
        "CREATE INDEX heartbeats_user_time ON heartbeats(user_id, time)",
        "CREATE INDEX heartbeats_user_project_time ON heartbeats(user_id, project, time)",
        # Every deletion leaves a tombstone so the replica can never silently diverge.
        """CREATE TABLE heartbeat_tombstones (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            heartbeat_id INTEGER NOT NULL,
            user_id INTEGER NOT NULL,
            deleted_at REAL NOT NULL
        )""",
        """CREATE TRIGGER heartbeats_tombstone AFTER DELETE ON heartbeats BEGIN
            INSERT INTO heartbeat_tombstones(heartbeat_id, user_id, deleted_at)
            VALUES (old.id, old.user_id, ((julianday('now') - 2440587.5) * 86400.0));
        END""",
    )


@migrations(name="0003_plugin_errors")
def plugin_errors(db: sqlite_utils.Database) -> None:
    _run(
        db,
        """CREATE TABLE plugin_errors (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            received_at REAL NOT NULL,
            remote_addr TEXT,
            user_agent TEXT,
            payload TEXT NOT NULL
        )""",
    )


@migrations(name="0004_mirror_outbox")
def mirror_outbox(db: sqlite_utils.Database) -> None:
    import time
    import uuid

    _run(
        db,
        """CREATE TABLE mirror_targets (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            url TEXT NOT NULL,
            api_key_encrypted TEXT NOT NULL,
            key_hint TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            paused_at REAL,
            pause_reason TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            retry_at REAL,
            last_attempt_at REAL,
            last_success_at REAL,
            last_error TEXT,
            delivered_count INTEGER NOT NULL DEFAULT 0,
            rejected_count INTEGER NOT NULL DEFAULT 0,
            UNIQUE (user_id, url)
        )""",
        # One row per (target, heartbeat) still to deliver; `origins` is the X-Origin chain the heartbeat came with.
        """CREATE TABLE mirror_outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            target_id INTEGER NOT NULL REFERENCES mirror_targets(id) ON DELETE CASCADE,
            heartbeat_id INTEGER NOT NULL REFERENCES heartbeats(id) ON DELETE CASCADE,
            origins TEXT NOT NULL DEFAULT '',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            last_error TEXT,
            created_at REAL NOT NULL,
            UNIQUE (target_id, heartbeat_id)
        )""",
        "CREATE INDEX mirror_outbox_due ON mirror_outbox(target_id, next_attempt_at, id)",
        "CREATE INDEX mirror_outbox_heartbeat ON mirror_outbox(heartbeat_id)",
        # Items an upstream refused for good (per-item 400): kept so the user can see what was dropped.
        """CREATE TABLE mirror_rejections (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            target_id INTEGER NOT NULL REFERENCES mirror_targets(id) ON DELETE CASCADE,
            heartbeat_id INTEGER NOT NULL,
            status INTEGER NOT NULL,
            error TEXT,
            rejected_at REAL NOT NULL
        )""",
        "CREATE INDEX mirror_rejections_target ON mirror_rejections(target_id, id)",
    )
    # This instance's identity in X-Origin chains (mirroring loops are cut when a chain already holds it).
    db.execute("INSERT OR IGNORE INTO kv(key, value, updated_at) VALUES ('instance_id', ?, ?)",
               (str(uuid.uuid4()), time.time()))


@migrations(name="0005_scheduler_job_runs")
def scheduler_job_runs(db: sqlite_utils.Database) -> None:
    _run(
        db,
        # The scheduler's last run of each job, readable by `hackatime-lite jobs` from another process.
        # `requested_at` is set by `jobs run NAME` to ask a running server to run a job now.
        """CREATE TABLE job_runs (
            name TEXT PRIMARY KEY,
            last_started_at REAL,
            last_finished_at REAL,
            last_duration_ms REAL,
            last_error TEXT,
            last_result TEXT,
            last_success_at REAL,
            next_due_at REAL,
            run_count INTEGER NOT NULL DEFAULT 0,
            error_count INTEGER NOT NULL DEFAULT 0,
            requested_at REAL,
            updated_at REAL NOT NULL
        )""",
    )


@migrations(name="0006_leaderboards_streaks")
def leaderboards_streaks(db: sqlite_utils.Database) -> None:
    _run(
        db,
        # language '' is the all-languages board; ranks are computed when read, over currently eligible users.
        """CREATE TABLE leaderboard_boards (
            board TEXT NOT NULL,
            language TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
            generated_at REAL NOT NULL,
            range_start REAL,
            range_end REAL,
            days INTEGER NOT NULL,
            entry_count INTEGER NOT NULL,
            PRIMARY KEY (board, language)
        )""",
        """CREATE TABLE leaderboard_entries (
            board TEXT NOT NULL,
            language TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            total_seconds REAL NOT NULL,
            daily_average REAL NOT NULL,
            languages TEXT NOT NULL DEFAULT '[]',
            PRIMARY KEY (board, language, user_id)
        )""",
        "CREATE INDEX leaderboard_entries_ranked ON leaderboard_entries(board, language, total_seconds DESC)",
        "CREATE INDEX leaderboard_entries_user ON leaderboard_entries(user_id)",
        """CREATE TABLE user_streaks (
            user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            current_days INTEGER NOT NULL,
            current_start TEXT,
            current_end TEXT,
            longest_days INTEGER NOT NULL,
            longest_start TEXT,
            longest_end TEXT,
            computed_at REAL NOT NULL
        )""",
    )


@migrations(name="0007_web_sessions_invites")
def web_sessions_invites(db: sqlite_utils.Database) -> None:
    _run(
        db,
        # Dashboard logins: the cookie carries a random token, only its SHA-256 is stored.
        """CREATE TABLE web_sessions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            token_hash TEXT NOT NULL UNIQUE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            created_at REAL NOT NULL,
            last_seen_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            user_agent TEXT,
            remote_addr TEXT
        )""",
        "CREATE INDEX web_sessions_user ON web_sessions(user_id)",
        # Sign-up is by invite only; codes are shown once to the admin and stored as hashes.
        """CREATE TABLE web_invites (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            code_hash TEXT NOT NULL UNIQUE,
            code_hint TEXT NOT NULL,
            note TEXT,
            created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            created_at REAL NOT NULL,
            expires_at REAL,
            max_uses INTEGER NOT NULL DEFAULT 1,
            uses INTEGER NOT NULL DEFAULT 0,
            last_used_at REAL,
            revoked_at REAL
        )""",
    )


@migrations(name="0008_goals")
def goals(db: sqlite_utils.Database) -> None:
    _run(
        db,
        # Daily or weekly coding-time goals (WakaTime's goals API). URLs carry `public_id`; the lists are JSON
        # arrays of names; only the definition is stored, progress is computed when read.
        """CREATE TABLE IF NOT EXISTS goals (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            public_id TEXT NOT NULL UNIQUE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            delta TEXT NOT NULL CHECK (delta IN ('day', 'week')),
            seconds INTEGER NOT NULL CHECK (seconds > 0),
            is_inverse INTEGER NOT NULL DEFAULT 0,
            languages TEXT NOT NULL DEFAULT '[]',
            projects TEXT NOT NULL DEFAULT '[]',
            editors TEXT NOT NULL DEFAULT '[]',
            categories TEXT NOT NULL DEFAULT '[]',
            ignore_days TEXT NOT NULL DEFAULT '[]',
            ignore_zero_days INTEGER NOT NULL DEFAULT 0,
            improve_by_percent REAL,
            is_enabled INTEGER NOT NULL DEFAULT 1,
            custom_title TEXT,
            created_at REAL NOT NULL,
            modified_at REAL
        )""",
        "CREATE INDEX IF NOT EXISTS goals_user ON goals(user_id, id)",
    )


@migrations(name="0009_weekly_report_opt_in")
def weekly_report_opt_in(db: sqlite_utils.Database) -> None:
    _run(
        db,
        # Users who asked for the weekly report e-mail (notify/); a row is the opt-in.
        """CREATE TABLE IF NOT EXISTS weekly_report_subscriptions (
            user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            subscribed_at REAL NOT NULL
        )""",
        # ISO weeks (`2026-W48`) already mailed to a user: the job sends each week at most once.
        """CREATE TABLE IF NOT EXISTS weekly_report_sends (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            week TEXT NOT NULL,
            sent_at REAL NOT NULL,
            PRIMARY KEY (user_id, week)
        )""",
    )


@migrations(name="0010_trust_audit")
def trust_audit(db: sqlite_utils.Database) -> None:
    _run(
        db,
        # Admin levels beyond the is_admin flag (store/sqlite/trust.py): a row only for viewer / superadmin.
        """CREATE TABLE IF NOT EXISTS admin_levels (
            user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            level TEXT NOT NULL CHECK (level IN ('viewer', 'admin', 'superadmin')),
            updated_at REAL NOT NULL
        )""",
        # Every trust / admin level change; names are copied so an entry outlives the users it names.
        """CREATE TABLE IF NOT EXISTS audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            actor_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
            actor_name TEXT NOT NULL,
            target_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
            target_name TEXT NOT NULL,
            field TEXT NOT NULL,
            old_value TEXT NOT NULL,
            new_value TEXT NOT NULL,
            reason TEXT,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS audit_log_target ON audit_log(target_id, id)",
    )


@migrations(name="0011_teams")
def teams(db: sqlite_utils.Database) -> None:
    _run(
        db,
        # Teams (store/sqlite/teams.py): URLs carry public_id; a member's `shares` shows their detail to all.
        """CREATE TABLE IF NOT EXISTS teams (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            public_id TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            created_at REAL NOT NULL,
            modified_at REAL NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS team_members (
            team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
            shares INTEGER NOT NULL DEFAULT 0,
            joined_at REAL NOT NULL,
            PRIMARY KEY (team_id, user_id)
        )""",
        "CREATE INDEX IF NOT EXISTS team_members_user ON team_members(user_id)",
        """CREATE TABLE IF NOT EXISTS team_invites (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
            code_hash TEXT NOT NULL UNIQUE,
            code_hint TEXT NOT NULL,
            created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            created_at REAL NOT NULL,
            expires_at REAL,
            max_uses INTEGER NOT NULL DEFAULT 1,
            uses INTEGER NOT NULL DEFAULT 0,
            revoked_at REAL
        )""",
        "CREATE INDEX IF NOT EXISTS team_invites_team ON team_invites(team_id)",
    )


@migrations(name="0012_aliases")
def aliases(db: sqlite_utils.Database) -> None:
    _run(
        db,
        # A user's read-time rules (store/records.py ALIAS_KINDS): applied to coding time when it is read, so
        # stored heartbeats are never rewritten and a changed rule shows in the next read.
        """CREATE TABLE IF NOT EXISTS alias_rules (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('alias', 'label', 'language', 'exclude', 'hide')),
            dimension TEXT NOT NULL,
            pattern TEXT NOT NULL,
            value TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            UNIQUE (user_id, kind, dimension, pattern, value)
        )""",
    )


@migrations(name="0013_webhooks")
def webhooks(db: sqlite_utils.Database) -> None:
    _run(
        db,
        # Outgoing webhooks (store/sqlite/webhooks.py): a user's (user_id) or a team's (team_id); the secret is
        # encrypted with the mirror's secret box because signing needs it back.
        """CREATE TABLE IF NOT EXISTS webhooks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
            team_id INTEGER REFERENCES teams(id) ON DELETE CASCADE,
            url TEXT NOT NULL,
            events TEXT NOT NULL,
            format TEXT NOT NULL CHECK (format IN ('json', 'slack')),
            secret_encrypted TEXT NOT NULL,
            created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            created_at REAL NOT NULL,
            last_attempt_at REAL,
            last_success_at REAL,
            last_error TEXT,
            CHECK ((user_id IS NULL) != (team_id IS NULL))
        )""",
        "CREATE INDEX IF NOT EXISTS webhooks_user ON webhooks(user_id)",
        "CREATE INDEX IF NOT EXISTS webhooks_team ON webhooks(team_id)",
        # One row per (webhook, event): the durable outbox and the record of what was emitted.
        """CREATE TABLE IF NOT EXISTS webhook_outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
            event_key TEXT NOT NULL,
            delivery_id TEXT NOT NULL UNIQUE,
            event TEXT NOT NULL,
            payload TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            created_at REAL NOT NULL,
            settled_at REAL,
            last_status INTEGER,
            last_error TEXT,
            UNIQUE (webhook_id, event_key)
        )""",
        "CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox(state, next_attempt_at)",
    )


def migration_names() -> list[str]:
    """Every migration of this repo, oldest first: the schema's history (version k = the first k applied)."""
    return [m.name for m in migrations._migrations]


def applied_migrations(db: sqlite_utils.Database) -> list[str]:
    return [m.name for m in migrations.applied(db)]


def pending_migrations(db: sqlite_utils.Database) -> list[str]:
    return [m.name for m in migrations.pending(db)]


def _database_file(db: sqlite_utils.Database) -> Path | None:
    for _seq, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file) if file else None
    return None


def backup_before_upgrade(db: sqlite_utils.Database, pending: list[str], *, now: float | None = None) -> Path | None:
    """Copy the database (SQLite's online backup API) to <its dir>/backups/PRE_UPGRADE_PREFIX…sqlite3 before
    `pending` migrations change it, and check the copy; returns its path (None for an in-memory database).

    Upgrade backups are named apart from the scheduled ones so the rotation (backup_keep) never prunes
    them: they are the way back from a release that went wrong, and the operator deletes them.
    """
    source = _database_file(db)
    if source is None:
        return None
    directory = source.parent / "backups"
    directory.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.fromtimestamp(time.time() if now is None else now, dt.UTC).strftime("%Y%m%d-%H%M%S")
    version = len(applied_migrations(db))
    target = directory / f"{PRE_UPGRADE_PREFIX}{stamp}-v{version}.sqlite3"
    counter = 1
    while target.exists():
        target = directory / f"{PRE_UPGRADE_PREFIX}{stamp}-v{version}-{counter}.sqlite3"
        counter += 1
    partial = target.with_name(target.name + ".partial")
    copy = sqlite3.connect(partial)
    try:
        db.conn.backup(copy)
        ok = copy.execute("PRAGMA quick_check").fetchone()[0]
        if ok != "ok":
            raise RuntimeError(f"the pre-upgrade backup failed its check: {ok}")
    except BaseException:
        copy.close()
        partial.unlink(missing_ok=True)
        raise
    copy.close()
    partial.replace(target)
    log.warning("backed up %s to %s before applying %d migration(s): %s", source, target, len(pending),
                ", ".join(pending))
    return target


def apply_migrations(db: sqlite_utils.Database, *, up_to: str | None = None, backup: bool = True) -> list[str]:
    """Apply pending migrations (only through `up_to` when given); returns the names applied, in order.

    A database that already holds a schema is backed up first (`backup_before_upgrade`); a new, empty one
    has nothing to lose and is not.
    """
    names = migration_names()
    pending = pending_migrations(db)
    if up_to is not None:
        if up_to not in names:
            raise ValueError(f"unknown migration {up_to!r}")
        pending = [name for name in pending if names.index(name) <= names.index(up_to)]
    if not pending:
        return []
    if backup and applied_migrations(db):
        backup_before_upgrade(db, pending)
    following = [name for name in names if up_to is not None and names.index(name) > names.index(up_to)]
    migrations.apply(db, stop_before=following[0] if following else None)
    return pending
