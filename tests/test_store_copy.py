"""`hackatime-lite store copy`: a whole instance moves between stores with identical rows and equal stats."""

from __future__ import annotations

import datetime as dt
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from hackatime_lite.analytics import oracle
from hackatime_lite.cli import store as cli_store
from hackatime_lite.config import Settings
from hackatime_lite.models import Heartbeat, Streak
from hackatime_lite.store import SQLiteStore, StoreBackend
from hackatime_lite.store.interface import COPY_TABLES
from hackatime_lite.store.records import JobRunUpdate, heartbeat_row
from tests.conftest import run_cli

LANGUAGES = ["Python", "Go", "Rust", None]
T0 = 1_760_000_000.0


def fill_instance(store: StoreBackend, *, heartbeats: int = 300, seed: int = 7) -> list[oracle.Beat]:
    """Something in every table the copy moves; returns the heartbeats as oracle Beats (with their ids)."""
    rng = random.Random(seed)
    alice = store.create_user("alice", password="correct horse battery", timezone="Europe/Berlin")
    bob = store.create_user("bob", password="hunter2hunter2", email="bob@example.org")
    store.update_user(bob.id, timeout=300, duration_mode="keystroke", share_stats=True)
    store.create_api_key(alice.id)
    store.create_api_key(bob.id, name="ro", read_only=True)
    target = store.upsert_target(alice.id, "https://upstream.example/api/v1", "sealed-key", "…abcd", T0)
    store.create_session(alice.id, user_agent="Firefox", remote_addr="127.0.0.1", now=T0)
    store.create_invite(alice.id, max_uses=3, note="team")
    store.save_import_progress(bob.id, "wakatime", {"next_day": "2026-01-02"})
    store.record_job_run(JobRunUpdate(name="leaderboards", last_started_at=T0, last_finished_at=T0 + 1,
                                      last_duration_ms=1000.0, last_error=None, last_result='{"x": 1}',
                                      last_success_at=T0 + 1, next_due_at=T0 + 60, runs=3, errors=0,
                                      updated_at=T0 + 1)).result()
    store.replace_streaks({alice.id: Streak(current=2, current_start=dt.date(2026, 1, 1),
                                            current_end=dt.date(2026, 1, 2), longest=5)}, T0)
    store.record_plugin_error(T0, "127.0.0.1", "vim", "boom").result()
    beats: list[oracle.Beat] = []
    for user in (alice, bob):
        t = T0
        rows = []
        for _ in range(heartbeats // 2):
            t += rng.choice([5.0, 30.0, 90.0, 200.0, 4000.0]) + rng.random()
            hb = Heartbeat(user_id=user.id, time=t, entity=f"src/{rng.randrange(9)}.py", type="file",
                           category="coding", project=rng.choice(["api", "web"]), language=rng.choice(LANGUAGES))
            rows.append(heartbeat_row(hb, os.urandom(16), T0))
        outcomes = store.insert_heartbeats(rows, user_id=user.id, source="direct", origins=(), now=T0).result()
        assert len(outcomes) == len(rows)
    store.flush()
    # The ids the store gave, read back through the interface (not assumed).
    for row in store.export_rows("heartbeats"):
        beats.append(oracle.Beat(id=row["id"], user_id=row["user_id"], time=row["time"], language=row["language"],
                                 project=row["project"], entity=row["entity"]))
    store.delete_heartbeats(bob.id, ids=[beats[-1].id])  # a tombstone: deleted rows must stay deleted
    assert store.outbox_counts(target.id, T0).pending > 0
    return beats[:-1]


def all_rows(store: StoreBackend) -> dict[str, list[dict[str, object]]]:
    return {table: store.export_rows(table) for table in COPY_TABLES}


def oracle_totals(beats: list[oracle.Beat], store: StoreBackend) -> dict[int, float]:
    rules = {u.id: oracle.Rule(timeout=float(u.timeout or 120), mode=u.duration_mode or "capped")
             for u in store.list_users()}
    ivs = oracle.intervals(beats, rules)
    return {uid: oracle.total(ivs, uid, None, None) for uid in rules}


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SQLiteStore, list[oracle.Beat]]]:
    """Filled once per module (password hashing is slow on purpose); the tests only read it."""
    from argon2 import PasswordHasher

    from hackatime_lite.store import rules as store_rules

    store = SQLiteStore(tmp_path_factory.mktemp("copy-source") / "src" / "hackatime.sqlite3")
    with pytest.MonkeyPatch.context() as patch:  # the same hashing code with tiny costs (cf. cheap_passwords)
        patch.setattr(store_rules, "_password_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        beats = fill_instance(store)
        yield store, beats
    store.close()


@pytest.fixture
def source(tmp_path: Path, filled: tuple[SQLiteStore, list[oracle.Beat]]) -> tuple[SQLiteStore, list[oracle.Beat]]:
    """The filled source's data dir linked at tmp_path/src, as the CLI tests name it."""
    (tmp_path / "src").symlink_to(filled[0].path.parent)
    return filled


def test_sqlite_to_sqlite_copy_is_identical_and_verified(tmp_path: Path, source: tuple[SQLiteStore, list]) -> None:
    src, beats = source
    target_file = tmp_path / "copy.sqlite3"
    result = run_cli("store", "copy", "--from", str(tmp_path / "src"), "--to", f"sqlite:///{target_file}")
    assert "verified" in result.stdout
    with SQLiteStore(target_file, readonly=True) as copy:
        assert all_rows(copy) == all_rows(src)
        # Stats at the target equal the oracle's, computed from the source's heartbeats.
        settings = Settings(data_dir=str(tmp_path / "scratch"))
        stats = cli_store._stats(copy, settings, tmp_path, "check")
        expected = oracle_totals(beats, src)
        assert {uid: round(s[0], 3) for uid, s in stats.items()} == {
            uid: round(v, 3) for uid, v in expected.items() if v > 0}
        # Passwords and key hashes came along: the copy authenticates the same people.
        assert copy.verify_password("alice", "correct horse battery") is not None


def test_copy_refuses_a_non_empty_target_and_bad_urls(tmp_path: Path, source: tuple[SQLiteStore, list]) -> None:
    target_file = tmp_path / "copy.sqlite3"
    with SQLiteStore(target_file) as target:
        target.create_user("someone")
    again = run_cli("store", "copy", "--from", str(tmp_path / "src"), "--to", str(target_file), check=False)
    assert again.returncode == 1 and "not empty" in again.stderr and "--resume" in again.stderr
    bad = run_cli("store", "copy", "--from", "mysql://x/y", "--to", str(tmp_path / "n.sqlite3"), check=False)
    assert bad.returncode == 1 and "unsupported store URL" in bad.stderr
    missing = run_cli("store", "copy", "--from", str(tmp_path / "nothing.sqlite3"), "--to", str(tmp_path / "n2.db"),
                      check=False)
    assert missing.returncode == 1 and "no SQLite store" in missing.stderr


def test_interrupted_copy_resumes_after_the_targets_last_heartbeat(
        tmp_path: Path, source: tuple[SQLiteStore, list], monkeypatch: pytest.MonkeyPatch) -> None:
    src, _beats = source
    settings = Settings(data_dir=str(tmp_path / "scratch"))
    monkeypatch.setattr(cli_store, "BATCH_ROWS", 40)

    class Interrupted(Exception):
        pass

    def stop_midway(table: str, done: int, total: int) -> None:
        if table == "heartbeats" and done >= 120:
            raise Interrupted

    with SQLiteStore(tmp_path / "copy.sqlite3") as target:
        with pytest.raises(Interrupted):
            cli_store.copy_store(src, target, settings=settings, progress=stop_midway)
        partial = target.table_counts()["heartbeats"]
        assert partial == 120
        with pytest.raises(cli_store.CopyFailed, match="not empty"):
            cli_store.copy_store(src, target, settings=settings)
        copied_batches: list[int] = []
        report = cli_store.copy_store(src, target, settings=settings, resume=True,
                                      progress=lambda t, d, n: copied_batches.append(d) if t == "heartbeats" else None)
        assert report.verified and report.users_compared == 2
        assert report.resumed_after_heartbeat == max(r["id"] for r in target.export_rows("heartbeats", limit=120))
        assert report.copied["heartbeats"] == src.table_counts()["heartbeats"] - partial
        assert all_rows(target) == all_rows(src)


def test_every_store_table_is_copied(tmp_path: Path) -> None:
    """A table added by a migration must be added to COPY_TABLES too (tombstones start afresh by design)."""
    import sqlite3

    with SQLiteStore(tmp_path / "s.sqlite3"):
        pass
    conn = sqlite3.connect(tmp_path / "s.sqlite3")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    internal = {"sqlite_sequence", "_sqlite_migrations", "heartbeat_tombstones"}
    assert tables - internal == set(COPY_TABLES)


@pytest.mark.postgres
def test_sqlite_to_postgres_to_sqlite_round_trip(tmp_path: Path, source: tuple[SQLiteStore, list],
                                                 pg_url: str) -> None:
    src, _beats = source
    run_cli("store", "copy", "--from", str(tmp_path / "src"), "--to", pg_url)
    back = tmp_path / "back.sqlite3"
    run_cli("store", "copy", "--from", pg_url, "--to", f"sqlite:///{back}")
    with SQLiteStore(back, readonly=True) as copy:
        assert all_rows(copy) == all_rows(src)
        settings = Settings(data_dir=str(tmp_path / "scratch"))
        left = cli_store._stats(src, settings, tmp_path, "left")
        right = cli_store._stats(copy, settings, tmp_path, "right")
        assert cli_store.compare_stats(left, right) == []
        assert set(left) == {u.id for u in src.list_users()}
