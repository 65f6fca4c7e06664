"""SQLite store: migrations, the writer thread's group commit, read-only readers, users and keys."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlite_utils

from hackatime_lite.ingest import IngestContext, PreparedBatch
from hackatime_lite.store import Store, UserError
from hackatime_lite.store.sqlite.migrations import apply_migrations, migrations


def test_migrations_are_named_ordered_and_idempotent(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "m.sqlite3")
    applied = apply_migrations(db)
    assert applied == [m.name for m in migrations._migrations]
    assert applied == sorted(applied)  # numbered names apply in order
    assert apply_migrations(db) == []
    indexes = {i.name for i in db["heartbeats"].indexes}
    assert {"heartbeats_dedup", "heartbeats_user_time", "heartbeats_user_project_time"} <= indexes


def test_wal_and_pragmas(store: Store) -> None:
    conn = store.reader()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("INSERT INTO kv(key, value, updated_at) VALUES ('x', 'y', 0)")  # readers are read-only


def test_failing_job_does_not_undo_its_neighbours(store: Store) -> None:
    gate = threading.Event()
    blocker = store.submit(lambda db: gate.wait(5))  # hold the writer so the next jobs share one commit

    def put(key: str):  # type: ignore[no-untyped-def]
        return lambda db: db.execute("INSERT INTO kv(key, value, updated_at) VALUES (?, 'v', 0)", (key,))

    def explode(db: sqlite_utils.Database) -> None:
        db.execute("INSERT INTO kv(key, value, updated_at) VALUES ('bad', 'v', 0)")
        raise RuntimeError("boom")

    futures = [store.submit(put("a")), store.submit(explode), store.submit(put("b"))]
    gate.set()
    blocker.result(5)
    futures[0].result(5)
    futures[2].result(5)
    with pytest.raises(RuntimeError):
        futures[1].result(5)
    keys = {row[0] for row in store.reader().execute("SELECT key FROM kv WHERE value = 'v'")}
    assert keys == {"a", "b"}


def test_insert_rows_ids_and_duplicates(store: Store) -> None:
    user = store.create_user("dana")
    now = time.time()
    items = [{"entity": f"f{i}.py", "time": now - 100 + i} for i in range(5)]
    items.append(dict(items[1]))  # duplicate inside the batch
    batch = PreparedBatch(store, items, IngestContext(user=user, now=now))
    first = batch.insert().result()
    assert [created for _, created in first] == [True, True, True, True, True, False]
    assert first[5][0] == first[1][0]
    stored = dict(store.reader().execute("SELECT entity, id FROM heartbeats").fetchall())
    assert [stored[f"f{i}.py"] for i in range(5)] == [heartbeat_id for heartbeat_id, _ in first[:5]]
    again = batch.insert().result()
    assert again == [(heartbeat_id, False) for heartbeat_id, _ in first]


def test_deletions_leave_tombstones(store: Store) -> None:
    user = store.create_user("erin")
    now = time.time()
    batch = PreparedBatch(
        store,
        [{"entity": "x", "time": now - 10}, {"entity": "y", "time": now - 5}],
        IngestContext(user=user, now=now),
    )
    ids = [i for i, _ in batch.insert().result()]
    assert store.delete_heartbeats(user.id, start=now - 7, end=now) == 1
    tombstones = store.reader().execute("SELECT heartbeat_id FROM heartbeat_tombstones").fetchall()
    assert [t[0] for t in tombstones] == [ids[1]]


def test_ids_are_never_reused_after_deleting_the_newest(store: Store) -> None:
    user = store.create_user("finn")
    now = time.time()
    one = PreparedBatch(store, [{"entity": "x", "time": now - 10}], IngestContext(user=user, now=now))
    ((first_id, _),) = one.insert().result()
    store.delete_heartbeats(user.id)
    two = PreparedBatch(store, [{"entity": "z", "time": now - 3}], IngestContext(user=user, now=now))
    ((second_id, _),) = two.insert().result()
    assert second_id > first_id  # AUTOINCREMENT keeps the replica's id watermark sound


def test_users_first_is_admin_and_validation(store: Store) -> None:
    first = store.create_user("root")
    second = store.create_user("plain", timezone="America/New_York")
    assert first.is_admin and not second.is_admin
    for bad_name in ("", "with space", "current", "x" * 65, "Root"):
        with pytest.raises(UserError):
            store.create_user(bad_name)
    with pytest.raises(UserError):
        store.create_user("tz", timezone="Mars/Olympus")
    with pytest.raises(UserError):
        store.update_user(second.id, timeout=5)
    updated = store.update_user(second.id, timeout=300, duration_mode="keystroke")
    assert (updated.timeout, updated.duration_mode) == (300, "keystroke")


def test_keys_are_hashed_uuid4_and_revocable(store: Store, settings) -> None:  # type: ignore[no-untyped-def]
    user = store.create_user("kim")
    key, plaintext = store.create_api_key(user.id, name="laptop", read_only=True)
    assert plaintext == plaintext.lower() and len(plaintext) == 36 and plaintext[14] == "4"
    raw = sqlite3.connect(settings.paths.database)
    try:
        dump = "\n".join(raw.iterdump())
    finally:
        raw.close()
    assert plaintext not in dump  # only the SHA-256 hash is stored
    found = store.lookup_api_key(plaintext.upper())
    assert found is not None and found[0].id == user.id and found[1].read_only
    store.revoke_api_key(key.id)
    assert store.lookup_api_key(plaintext) is None
    assert store.list_api_keys(user.id)[0].revoked_at is not None


def test_passwords_are_argon2_hashes(store: Store) -> None:
    user = store.create_user("pat")
    store.set_password(user.id, "correct horse")
    stored = store.reader().execute("SELECT password_hash FROM users WHERE id = ?", (user.id,)).fetchone()[0]
    assert stored.startswith("$argon2")
    assert store.verify_password("pat", "correct horse") is not None
    assert store.verify_password("pat", "wrong horse") is None
    assert store.verify_password("nobody", "whatever") is None
    with pytest.raises(UserError):
        store.set_password(user.id, "short")
