"""Online SQLite backups: a valid, self-contained copy taken while the writer keeps writing; newest N kept."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path

import pytest

from hackatime_lite.analytics.oracle import Beat
from hackatime_lite.config import Settings
from hackatime_lite.context import AppContext
from hackatime_lite.data.backup import create_backup, list_backups, prune_backups
from hackatime_lite.jobs.registry import backup_database
from hackatime_lite.store import BackupCancelled, Store
from tests.analytics_helpers import insert_beats
from tests.conftest import Account

NOW = dt.datetime(2026, 5, 1, 3, 4, 5, tzinfo=dt.UTC).timestamp()


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in conn.execute(sql).fetchall()]
    finally:
        conn.close()


def test_backup_is_a_valid_self_contained_copy(settings: Settings, store: Store, alice: Account) -> None:
    insert_beats(store, [Beat(id=0, user_id=alice.user.id, time=NOW - 600 + i) for i in range(50)])
    result = create_backup(store, settings.paths.backups, now=NOW, keep=3)
    assert result.path == settings.paths.backups / "hackatime-20260501-030405.sqlite3"
    assert result.size_bytes == result.path.stat().st_size and result.removed == ()
    assert rows(result.path, "PRAGMA integrity_check") == [("ok",)]
    assert rows(result.path, "PRAGMA journal_mode") == [("delete",)]
    assert rows(result.path, "SELECT COUNT(*), MIN(time), MAX(time) FROM heartbeats") == [(50, NOW - 600, NOW - 551)]
    assert rows(result.path, "SELECT username FROM users") == [("alice",)]
    assert [p.name for p in settings.paths.backups.iterdir()] == [result.path.name]
    # A second backup in the same second gets its own name.
    again = create_backup(store, settings.paths.backups, now=NOW, keep=3)
    assert again.path.name == "hackatime-20260501-030405-1.sqlite3"


def test_only_the_newest_backups_are_kept(settings: Settings, store: Store) -> None:
    directory = settings.paths.backups
    made = [create_backup(store, directory, now=NOW + day * 86400, keep=2).path
            for day in range(4)]
    assert list_backups(directory) == made[-2:]
    (directory / "hackatime-20260101-000000.sqlite3.partial").write_bytes(b"left by a crash")
    (directory / "notes.txt").write_text("not ours")
    assert prune_backups(directory, 1) == [made[2], directory / "hackatime-20260101-000000.sqlite3.partial"]
    assert sorted(p.name for p in directory.iterdir()) == [made[3].name, "notes.txt"]


def test_backup_while_the_writer_keeps_committing(settings: Settings, store: Store, alice: Account) -> None:
    insert_beats(store, [Beat(id=0, user_id=alice.user.id, time=NOW - 90000 + i) for i in range(3000)])
    stop = threading.Event()
    written = [0]

    def keep_writing() -> None:
        while not stop.is_set():
            insert_beats(store, [Beat(id=0, user_id=alice.user.id, time=NOW + written[0])])
            written[0] += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        # Tiny steps so the copy spans many writer commits: it must neither restart forever nor block them.
        result = create_backup(store, settings.paths.backups, now=NOW, keep=1, pages_per_step=2)
    finally:
        stop.set()
        writer.join()
    assert written[0] > 0
    copied = rows(result.path, "SELECT COUNT(*) FROM heartbeats")[0][0]
    assert 3000 <= copied <= 3000 + written[0]
    assert rows(result.path, "PRAGMA integrity_check") == [("ok",)]


def test_a_cancelled_backup_leaves_nothing_behind(settings: Settings, store: Store) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(BackupCancelled):
        create_backup(store, settings.paths.backups, now=NOW, keep=2, cancel=cancel,
                      pages_per_step=1)
    assert list(settings.paths.backups.iterdir()) == []


def test_the_backup_job_uses_the_settings(settings: Settings, store: Store) -> None:
    keep_two = Settings(data_dir=settings.data_dir, backup_keep=2)
    clock = iter(NOW + i * 3600 for i in range(3))
    ctx = AppContext(settings=keep_two, store=store, clock=lambda: next(clock))
    results = [backup_database(ctx) for _ in range(3)]
    assert [r["path"] for r in results] == ["hackatime-20260501-030405.sqlite3", "hackatime-20260501-040405.sqlite3",
                                            "hackatime-20260501-050405.sqlite3"]
    assert results[2]["removed"] == ["hackatime-20260501-030405.sqlite3"]
    assert [p.name for p in list_backups(keep_two.paths.backups)] == [r["path"] for r in results[1:]]
