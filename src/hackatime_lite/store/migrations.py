"""Named, ordered migrations (sqlite_utils.Migrations). Append new ones; never edit an applied one."""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

migrations = Migrations("hackatime_lite")


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


def apply_migrations(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations; returns the names applied."""
    pending = [m.name for m in migrations.pending(db)]
    migrations.apply(db)
    return pending
