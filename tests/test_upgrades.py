"""Safe upgrades: a store at every earlier schema version of this repo upgrades to head with its data and stats
unchanged, backed up first; `migrate --dry-run` and `migrate`'s report; PostgreSQL's backup rule."""

from __future__ import annotations

import os
import random
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from hackatime_lite.analytics import oracle
from hackatime_lite.analytics.all_users import window_totals_all_users
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.config import Settings, mask_url_password
from hackatime_lite.data.backup import (
    UpgradeRefused,
    list_backups,
    list_upgrade_backups,
    plan_upgrade,
    split_url_password,
)
from hackatime_lite.store import open_store
from hackatime_lite.store.interface import MigrationStatus
from hackatime_lite.store.sqlite.migrations import apply_migrations, migration_names
from tests.conftest import run_cli

NAMES = migration_names()
T0 = 1_760_000_000.0


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} - {
        "sqlite_sequence", "_sqlite_migrations"}


def _fill(conn: sqlite3.Connection, seed: int) -> list[oracle.Beat]:
    """Rows valid at whatever version the file is at (only tables that exist), written with plain SQL as an
    old release would have; returns the heartbeats as oracle Beats."""
    rng = random.Random(seed)
    tables = _tables(conn)
    for uid, name in ((1, "alice"), (2, "bob")):
        conn.execute("INSERT INTO users (id, public_id, username, password_hash, timezone, timeout, duration_mode,"
                     " created_at, updated_at) VALUES (?, ?, ?, 'hash', 'UTC', ?, ?, ?, ?)",
                     (uid, f"00000000-0000-4000-8000-00000000000{uid}", name, 120 * uid,
                      "capped" if uid == 1 else "keystroke", T0, T0))
        conn.execute("INSERT INTO api_keys (user_id, key_hash, key_hint, created_at) VALUES (?, ?, '…1', ?)",
                     (uid, f"keyhash{uid}", T0))
    beats: list[oracle.Beat] = []
    if "heartbeats" in tables:
        for i in range(120):
            uid = 1 + i % 2
            t = T0 + i * rng.choice([10.0, 60.0, 150.0, 400.0])
            language = rng.choice(["Python", "Go", None])
            cur = conn.execute(
                "INSERT INTO heartbeats (user_id, time, entity, type, category, language, source, dedup_hash,"
                " created_at) VALUES (?, ?, 'a.py', 'file', 'coding', ?, 'direct', ?, ?)",
                (uid, t, language, os.urandom(16), T0))
            beats.append(oracle.Beat(id=int(cur.lastrowid or 0), user_id=uid, time=t, language=language))
    if "mirror_targets" in tables:
        conn.execute("INSERT INTO mirror_targets (user_id, url, api_key_encrypted, key_hint, created_at, updated_at)"
                     " VALUES (1, 'https://up.example', 'sealed', '…x', ?, ?)", (T0, T0))
        conn.execute("INSERT INTO mirror_outbox (target_id, heartbeat_id, next_attempt_at, created_at)"
                     " VALUES (1, ?, ?, ?)", (beats[0].id, T0, T0))
    if "job_runs" in tables:
        conn.execute("INSERT INTO job_runs (name, run_count, updated_at) VALUES ('backup', 3, ?)", (T0,))
    if "web_sessions" in tables:
        conn.execute("INSERT INTO web_sessions (token_hash, user_id, created_at, last_seen_at, expires_at)"
                     " VALUES ('tok', 1, ?, ?, ?)", (T0, T0, T0 + 86400))
    if "audit_log" in tables:
        conn.execute("INSERT INTO admin_levels (user_id, level, updated_at) VALUES (2, 'viewer', ?)", (T0,))
        conn.execute("INSERT INTO audit_log (actor_id, actor_name, target_id, target_name, field, old_value,"
                     " new_value, created_at) VALUES (1, 'alice', 2, 'bob', 'admin_level', 'none', 'viewer', ?)", (T0,))
    if "alias_rules" in tables:
        conn.execute("INSERT INTO alias_rules (user_id, kind, dimension, pattern, value, created_at)"
                     " VALUES (1, 'alias', 'project', 'api-*', 'API', ?)", (T0,))
    if "team_members" in tables:
        conn.execute("INSERT INTO teams (id, public_id, name, created_by, created_at, modified_at)"
                     " VALUES (1, '00000000-0000-4000-8000-0000000000aa', 'crew', 1, ?, ?)", (T0, T0))
        conn.execute("INSERT INTO team_members (team_id, user_id, role, shares, joined_at) VALUES (1, 1, 'owner', 0, ?),"
                     " (1, 2, 'member', 1, ?)", (T0, T0))
        conn.execute("INSERT INTO team_invites (team_id, code_hash, code_hint, created_at, max_uses)"
                     " VALUES (1, 'hash', 'abcd', ?, 3)", (T0,))
    if "webhook_outbox" in tables:
        conn.execute("INSERT INTO webhooks (user_id, url, events, format, secret_encrypted, created_by, created_at)"
                     " VALUES (1, 'https://hooks.example/a', 'daily_summary', 'json', 'sealed', 1, ?)", (T0,))
        conn.execute("INSERT INTO webhook_outbox (webhook_id, event_key, delivery_id, event, payload,"
                     " next_attempt_at, created_at) VALUES (1, 'k', 'd-1', 'daily_summary', '{}', ?, ?)", (T0, T0))
    conn.commit()
    return beats


def _snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    snap = {}
    for table in sorted(_tables(conn)):
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        snap[table] = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid").fetchall()
    return snap


def _project(before: dict[str, list[tuple[object, ...]]], conn: sqlite3.Connection,
             before_columns: dict[str, list[str]]) -> dict[str, list[tuple[object, ...]]]:
    return {table: conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY rowid").fetchall()
            for table, cols in before_columns.items()}


# The default suite upgrades from the first version with heartbeats and from the one before head; the slow
# step (test.sh) from every other one.
DEFAULT_VERSIONS = {2, len(NAMES) - 1}


@pytest.mark.parametrize("version", [
    pytest.param(k, marks=() if k in DEFAULT_VERSIONS else pytest.mark.slow) for k in range(1, len(NAMES))])
def test_upgrade_from_every_earlier_schema_version(tmp_path: Path, version: int) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    database = data_dir / "hackatime.sqlite3"
    conn = sqlite3.connect(database)
    assert apply_migrations(sqlite_utils.Database(conn), up_to=NAMES[version - 1]) == NAMES[:version]
    beats = _fill(conn, seed=version)
    before = _snapshot(conn)
    before_columns = {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in before}
    conn.close()

    dry = run_cli("migrate", "--dry-run", "--data-dir", str(data_dir))
    assert [line.strip() for line in dry.stdout.splitlines() if line.startswith("  ")] == NAMES[version:]
    assert not list_upgrade_backups(data_dir / "backups")  # a dry run changes nothing

    result = run_cli("migrate", "--data-dir", str(data_dir))
    applied = [line.removeprefix("applied ") for line in result.stdout.splitlines() if line.startswith("applied ")]
    assert applied == NAMES[version:]
    assert f"{len(NAMES) - version} migration(s) applied, now at {len(NAMES)}" in result.stdout
    # The backup holds the database as it was before the upgrade, and the rotation does not count it.
    (backup,) = list_upgrade_backups(data_dir / "backups")
    assert f"backed up to {backup}" in result.stdout.replace("\n", "")
    assert list_backups(data_dir / "backups") == []
    old = sqlite3.connect(backup)
    assert _snapshot(old) == before
    old.close()

    conn = sqlite3.connect(database)
    after = _project(before, conn, before_columns)
    conn.close()
    # Every row is still there, unchanged; migrations only add (the instance id in kv, new tables' rows).
    assert {table: rows[:len(before[table])] for table, rows in after.items()} == before
    assert all(len(after[t]) == len(before[t]) for t in before if t != "kv")
    assert "up to date (" in run_cli("migrate", "--data-dir", str(data_dir)).stdout

    if beats:  # coding time from the upgraded store (DuckDB) equals the oracle's over the rows written
        settings = Settings(data_dir=str(data_dir))
        store = open_store(settings)
        try:
            replica = Replica(store, settings, tmp_path / "replica.duckdb")
            try:
                got = {uid: round(sec, 3) for uid, sec, _langs in window_totals_all_users(replica, 0.0, 4e9)}
            finally:
                replica.close()
        finally:
            store.close()
        rules = {1: oracle.Rule(120.0, "capped"), 2: oracle.Rule(240.0, "keystroke")}
        ivs = oracle.intervals(beats, rules)
        expected = {uid: round(oracle.total(ivs, uid, None, None), 3) for uid in rules}
        assert got == {uid: v for uid, v in expected.items() if v > 0}


def test_opening_an_old_store_backs_it_up_first_and_a_new_one_is_not(tmp_path: Path) -> None:
    """The server opens the store the same way (store.open_store): the same rule applies on start."""
    settings = Settings(data_dir=str(tmp_path / "data"))
    open_store(settings).close()
    assert list_upgrade_backups(settings.paths.backups) == []
    old = Settings(data_dir=str(tmp_path / "old"))
    old.paths.ensure()
    conn = sqlite3.connect(old.paths.database)
    apply_migrations(sqlite_utils.Database(conn), up_to=NAMES[1])
    conn.close()
    open_store(old).close()
    (backup,) = list_upgrade_backups(old.paths.backups)
    assert backup.name.endswith("-v2.sqlite3")


def test_postgres_upgrade_needs_a_backup_or_yes(tmp_path: Path) -> None:
    url = "postgresql://hack:s3cr%40t@db.example:5433/hackatime"
    status = MigrationStatus("postgresql", applied=NAMES[:3], pending=["0004_x"])
    with pytest.raises(UpgradeRefused) as refused:
        plan_upgrade(status, url, tmp_path, now=T0, yes=False, pg_dump=False)
    message = str(refused.value)
    assert "pg_dump --format=custom" in message and "--dbname=postgresql://hack@db.example:5433/hackatime" in message
    assert "s3cr" not in message and "migrate --yes" in message
    assert plan_upgrade(status, url, tmp_path, now=T0, yes=True, pg_dump=False) is None
    # A new (empty) schema and SQLite need nothing.
    assert plan_upgrade(MigrationStatus("postgresql", [], NAMES), url, tmp_path, now=T0, yes=False,
                        pg_dump=False) is None
    assert plan_upgrade(MigrationStatus("sqlite", NAMES[:1], NAMES[1:]), "", tmp_path, now=T0, yes=False,
                        pg_dump=False) is None


def test_url_passwords_are_masked_and_split() -> None:
    assert mask_url_password("postgresql://u:p%40ss@h:5432/d?sslmode=require") == \
        "postgresql://u:********@h:5432/d?sslmode=require"
    assert mask_url_password("postgresql://h/d") == "postgresql://h/d"
    assert split_url_password("postgresql://u:p%40ss@[::1]:5432/d") == ("postgresql://u@[::1]:5432/d", "p@ss")


@pytest.mark.postgres
def test_postgres_migrate_reports_and_pg_dump_backs_up(tmp_path: Path, pg_url: str) -> None:
    import subprocess

    from hackatime_lite.data.backup import refuse_unbacked_upgrade

    env = {"HACKATIME_DATABASE_URL": pg_url}
    dry = run_cli("migrate", "--dry-run", "--data-dir", str(tmp_path / "node"), env=env)
    assert dry.stdout.startswith("postgresql store ") and "nothing pending" in dry.stdout
    settings = Settings(data_dir=str(tmp_path / "node"), database_url=pg_url)
    refuse_unbacked_upgrade(settings)  # up to date: a node may start
    store = open_store(settings, readonly=True)
    try:
        status = store.migration_status()
    finally:
        store.close()
    assert status.backend == "postgresql" and status.applied and not status.pending
    # Pretend a newer release brings one more migration: --pg-dump makes a real, restorable dump first.
    newer = MigrationStatus("postgresql", status.applied, ["9999_next"])
    dump = plan_upgrade(newer, pg_url, tmp_path / "backups", now=T0, yes=False, pg_dump=True)
    assert dump is not None and dump in list_upgrade_backups(tmp_path / "backups")
    listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True, timeout=60,
                             check=True).stdout
    assert "TABLE public heartbeats" in listing


@pytest.mark.postgres
def test_postgres_nodes_and_migrate_refuse_an_unbacked_upgrade(tmp_path: Path, pg_url: str) -> None:
    import psycopg

    from hackatime_lite.store.postgres.migrations import migration_names as pg_migrations

    last = pg_migrations()[-1]
    # The schema as the release before the newest saw it, as far as the records tell: the newest migration
    # is pending again.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DELETE FROM schema_migrations WHERE name = %s", (last,))
    env = {"HACKATIME_DATABASE_URL": pg_url}
    data_dir = str(tmp_path / "node")
    dry = run_cli("migrate", "--dry-run", "--data-dir", data_dir, env=env)
    assert [line.strip() for line in dry.stdout.splitlines() if line.startswith("  ")] == [last]
    refused = run_cli("migrate", "--data-dir", data_dir, env=env, check=False)
    assert refused.returncode == 1 and "pg_dump --format=custom" in refused.stderr.replace("\n", " ")
    assert "migrate --yes" in refused.stderr.replace("\n", " ")
    serve = run_cli("serve", "--port", "1", "--data-dir", data_dir, env=env, check=False)
    assert serve.returncode == 1 and "hackatime-lite migrate --pg-dump" in serve.stderr.replace("\n", " ")
    with psycopg.connect(pg_url, autocommit=True) as conn:  # nothing was migrated: the record is still missing
        assert conn.execute("SELECT count(*) FROM schema_migrations WHERE name = %s", (last,)).fetchone() == (0,)
