"""The store contract: what every StoreBackend must do, checked through the interface only.

test_store_contract.py runs these against each backend (the `store_backend` fixture). Nothing here may use
SQL, a connection or anything else one backend has and another lacks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import time

import pytest

from hackatime_lite.models import Heartbeat, Streak
from hackatime_lite.store import StoreBackend, StoreClosed, UserError
from hackatime_lite.store.records import STORED_COLUMNS, BoardRow, BuiltBoard, JobRunUpdate, heartbeat_row

NOW = 1_750_000_000.0
_TIME = STORED_COLUMNS.index("time")


def beat_rows(user_id: int, times: list[float], *, entity: str = "main.py", source: str = "direct",
              project: str | None = "demo") -> list[tuple[object, ...]]:
    """Rows as ingest makes them; the dedup hash depends on (user, entity, time) only, like the real one."""
    rows = []
    for moment in times:
        hb = Heartbeat(user_id=user_id, time=moment, entity=entity, type="file", category="coding",
                       project=project, language="Python", dependencies=["os"], is_write=True,
                       user_agent="wakatime/v1 vim", editor="vim", source=source)
        digest = hashlib.sha256(f"{user_id}\x1f{entity}\x1f{moment:.3f}".encode()).digest()[:16]
        rows.append(heartbeat_row(hb, digest, NOW))
    return rows


def insert(store: StoreBackend, user_id: int, rows: list[tuple[object, ...]], *, source: str = "direct",
           origins: tuple[str, ...] = ()) -> list[tuple[int, bool]]:
    return store.insert_heartbeats(rows, user_id=user_id, source=source, origins=origins, now=NOW).result(10)


# -- the interface itself -------------------------------------------------------------------------------------
def test_implements_every_operation_with_the_interface_signature(store_backend: StoreBackend) -> None:
    assert isinstance(store_backend, StoreBackend)
    assert isinstance(store_backend.location, str) and store_backend.location
    names = [name for name, member in vars(StoreBackend).items()
             if not name.startswith("_") and inspect.isfunction(member)]
    for name in names:
        wanted = inspect.signature(getattr(StoreBackend, name))
        found = inspect.signature(getattr(type(store_backend), name))
        assert list(found.parameters) == list(wanted.parameters), name
        assert [p.kind for p in found.parameters.values()] == [p.kind for p in wanted.parameters.values()], name
        assert [p.default for p in found.parameters.values()] == [p.default for p in wanted.parameters.values()], name


def test_health_reports_ok(store_backend: StoreBackend) -> None:
    assert store_backend.health()["status"] == "ok"


# -- users, passwords, keys -----------------------------------------------------------------------------------
def test_users_first_is_admin_and_lookups(store_backend: StoreBackend) -> None:
    first = store_backend.create_user("root", timezone="Europe/Berlin")
    second = store_backend.create_user("plain", display_name="Plain P.")
    assert first.is_admin and not second.is_admin and first.timezone == "Europe/Berlin"
    assert store_backend.get_user(first.id) == first
    assert store_backend.get_user_by_name("ROOT") == first  # names match in any case
    for ref in ("plain", second.public_id, str(second.id)):
        assert store_backend.find_user(ref) == second
    assert store_backend.find_user("nobody") is None and store_backend.get_user(10_000) is None
    assert [u.username for u in store_backend.list_users()] == ["root", "plain"]
    with pytest.raises(UserError):
        store_backend.create_user("Plain")
    with pytest.raises(UserError):
        store_backend.create_user("bad name")
    updated = store_backend.update_user(second.id, timeout=300, duration_mode="keystroke", share_stats=True)
    assert (updated.timeout, updated.duration_mode, updated.share_stats) == (300, "keystroke", True)
    with pytest.raises(UserError):
        store_backend.update_user(second.id, timeout=5)
    with pytest.raises(UserError):
        store_backend.update_user(second.id, password_hash="x")


def test_passwords(store_backend: StoreBackend) -> None:
    user = store_backend.create_user("pat")
    assert not user.has_password and store_backend.verify_password("pat", "correct horse") is None
    store_backend.set_password(user.id, "correct horse")
    assert store_backend.get_user(user.id).has_password  # type: ignore[union-attr]
    assert store_backend.verify_password("pat", "correct horse") == store_backend.get_user(user.id)
    assert store_backend.verify_password("pat", "wrong horse") is None
    assert store_backend.verify_password("nobody", "correct horse") is None
    with pytest.raises(UserError):
        store_backend.set_password(user.id, "short")
    store_backend.disable_user(user.id)
    assert store_backend.verify_password("pat", "correct horse") is None


def test_api_keys_lookup_and_revoke(store_backend: StoreBackend) -> None:
    user = store_backend.create_user("kim")
    other = store_backend.create_user("lee")
    key, plaintext = store_backend.create_api_key(user.id, name="laptop", read_only=True)
    assert (key.name, key.read_only, key.key_hint) == ("laptop", True, plaintext[:8])
    found = store_backend.lookup_api_key(plaintext.upper())
    assert found is not None and found[0].id == user.id and found[1].id == key.id
    assert store_backend.lookup_api_key("not-a-key") is None
    store_backend.note_api_key_use(key.id, NOW).result(10)
    assert store_backend.list_api_keys(user.id)[0].last_used_at == NOW
    with pytest.raises(UserError):
        store_backend.revoke_api_key(key.id, user_id=other.id)  # someone else's key looks unknown
    revoked = store_backend.revoke_api_key(key.id, user_id=user.id)
    assert revoked.revoked_at is not None and store_backend.lookup_api_key(plaintext) is None
    _, second = store_backend.create_api_key(other.id)
    assert [k.user_id for k in store_backend.list_api_keys()] == [user.id, other.id]
    store_backend.disable_user(other.id)
    assert store_backend.lookup_api_key(second) is None  # a disabled owner's keys stop working


# -- sessions and invites -------------------------------------------------------------------------------------
def test_sessions(store_backend: StoreBackend) -> None:
    user = store_backend.create_user("sam")
    token = store_backend.create_session(user.id, user_agent="Firefox", remote_addr="10.0.0.1", now=NOW)
    other = store_backend.create_session(user.id, now=NOW)
    live = store_backend.session_user(token, now=NOW + 60)
    assert live is not None and live.user.id == user.id and live.last_seen_at == NOW
    store_backend.touch_session(live.session_id, now=NOW + 100).result(10)
    assert store_backend.session_user(token, now=NOW + 200).last_seen_at == NOW + 100  # type: ignore[union-attr]
    assert store_backend.session_user(token, now=NOW + 100 + 15 * 86400) is None  # expired
    assert store_backend.session_user("unknown", now=NOW) is None
    assert store_backend.delete_user_sessions(user.id, keep_token=token) == 1
    assert store_backend.session_user(other, now=NOW) is None
    store_backend.delete_session(token)
    assert store_backend.session_user(token, now=NOW) is None


def test_password_change_ends_other_sessions_and_disabling_ends_all(store_backend: StoreBackend) -> None:
    user = store_backend.create_user("ada")
    kept, ended = (store_backend.create_session(user.id, now=NOW) for _ in range(2))
    store_backend.set_password(user.id, "long enough", end_sessions=True, keep_token=kept)
    assert store_backend.session_user(kept, now=NOW) is not None
    assert store_backend.session_user(ended, now=NOW) is None
    store_backend.disable_user(user.id)
    assert store_backend.session_user(kept, now=NOW) is None


def test_invites(store_backend: StoreBackend) -> None:
    admin = store_backend.create_user("admin")
    invite, code = store_backend.create_invite(admin.id, max_uses=1, note=" for eve ")
    assert invite.note == "for eve" and invite.code_hint == code[:4] and invite.usable(time.time())
    with pytest.raises(UserError):
        store_backend.create_invite(admin.id, max_uses=0)
    with pytest.raises(UserError):
        store_backend.sign_up(code, "eve", "short")
    assert store_backend.get_user_by_name("eve") is None  # nothing was created
    eve = store_backend.sign_up(code, "eve", "long enough", timezone="Asia/Tokyo")
    assert eve.timezone == "Asia/Tokyo" and store_backend.verify_password("eve", "long enough") is not None
    with pytest.raises(UserError):
        store_backend.sign_up(code, "mallory", "long enough")  # used up
    second, other_code = store_backend.create_invite(admin.id)
    store_backend.revoke_invite(second.id)
    with pytest.raises(UserError):
        store_backend.sign_up(other_code, "mallory", "long enough")
    assert [(i.id, i.uses, i.revoked_at is not None) for i in store_backend.list_invites()] == [
        (second.id, 0, True), (invite.id, 1, False)]


# -- heartbeats -----------------------------------------------------------------------------------------------
def test_insert_dedup_and_duplicates_are_success(store_backend: StoreBackend) -> None:
    user = store_backend.create_user("dana")
    rows = beat_rows(user.id, [NOW - 30, NOW - 20, NOW - 10])
    first = insert(store_backend, user.id, [*rows, rows[1]])
    assert [created for _, created in first] == [True, True, True, False]
    assert first[3][0] == first[1][0]
    assert insert(store_backend, user.id, rows) == [(i, False) for i, _ in first[:3]]
    assert store_backend.import_heartbeats(beat_rows(user.id, [NOW - 30, NOW - 5])) == 1
    stored = store_backend.heartbeat_rows(user.id, None, None)
    assert [row[_TIME] for row in stored] == [NOW - 30, NOW - 20, NOW - 10, NOW - 5]
    assert stored[0][: len(rows[0]) + 1] == (first[0][0], *rows[0])  # the row as written, id first
    assert store_backend.latest_heartbeat_fields(user.id) == {"project": "demo", "language": "Python",
                                                              "branch": None}


def test_heartbeat_reads(store_backend: StoreBackend) -> None:
    user = store_backend.create_user("ivy")
    ids = [i for i, _ in insert(store_backend, user.id, beat_rows(user.id, [NOW - 40, NOW - 30, NOW - 20, NOW - 10]))]
    insert(store_backend, user.id, beat_rows(user.id, [NOW], source="test", project="probe"), source="test")
    page = store_backend.heartbeat_rows(user.id, NOW - 35, NOW, limit=2)
    assert [row[0] for row in page] == ids[1:3]
    after = (page[-1][_TIME], page[-1][0])
    assert [row[0] for row in store_backend.heartbeat_rows(user.id, NOW - 35, NOW, after=after)] == ids[3:]
    assert store_backend.newest_heartbeat(user.id)[0] == ids[3]  # type: ignore[index]  # `test` is skipped
    assert store_backend.newest_heartbeat(user.id, editor="VIM")[0] == ids[3]  # type: ignore[index]
    assert store_backend.newest_heartbeat(user.id, editor="emacs") is None
    assert sorted(store_backend.heartbeat_ids(user.id, NOW - 35, NOW - 15, limit=10)) == ids[1:3]
    assert store_backend.heartbeat_ids(user.id, None, None, limit=2, after_id=ids[0]) == ids[1:3]
    assert store_backend.has_project(user.id, "demo") and not store_backend.has_project(user.id, "other")
    assert store_backend.last_heartbeat_times([user.id]) == {user.id: NOW}
    (agent,) = store_backend.user_agents(user.id)
    assert (agent.user_agent, agent.editor, agent.last_seen_at) == ("wakatime/v1 vim", "vim", NOW)


def test_ai_rows_are_the_rows_carrying_ai_fields(store_backend: StoreBackend) -> None:
    user = store_backend.create_user("ada_ai")
    plain = beat_rows(user.id, [NOW - 30, NOW - 20])
    with_ai = []
    for moment, model in ((NOW - 15, "gpt-5"), (NOW - 5, None)):
        hb = Heartbeat(user_id=user.id, time=moment, entity="ai.py", type="file", category="ai coding",
                       project="demo", ai_line_changes=4, human_line_changes=1, ai_session="s1", ai_model=model,
                       ai_input_tokens=10, source="direct")
        with_ai.append(heartbeat_row(hb, hashlib.sha256(f"ai{moment}".encode()).digest()[:16], NOW))
    insert(store_backend, user.id, [*plain, *with_ai])
    rows = store_backend.ai_rows(user.id, None, None)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [(NOW - 15, "demo", "gpt-5", "s1"), (NOW - 5, "demo", None, "s1")]
    assert [r[6] for r in rows] == [4, 4]  # ai_line_changes (records.AI_COLUMNS order after time, project)
    assert [r[0] for r in store_backend.ai_rows(user.id, NOW - 10, NOW)] == [NOW - 5]
    assert store_backend.ai_rows(user.id, NOW - 40, NOW - 16) == []


def test_deletions_leave_tombstones_the_replica_follows(store_backend: StoreBackend) -> None:
    user = store_backend.create_user("erin")
    before = store_backend.change_marks()
    ids = [i for i, _ in insert(store_backend, user.id, beat_rows(user.id, [NOW - 30, NOW - 20, NOW - 10]))]
    grown = store_backend.change_marks()
    assert grown.heartbeat_id == ids[-1] and grown.users_version != ""
    assert store_backend.lowest_heartbeat_id() == ids[0]
    batches = list(store_backend.heartbeat_batches(("id", "user_id", "time"), after_id=before.heartbeat_id,
                                                   up_to_id=grown.heartbeat_id, batch_rows=2))
    assert [len(b) for b in batches] == [2, 1] and [tuple(b[0]) for b in batches] == [(ids[0], user.id, NOW - 30),
                                                                                     (ids[2], user.id, NOW - 10)]
    assert store_backend.delete_heartbeats(user.id, start=NOW - 25, end=NOW) == 2
    assert store_backend.delete_heartbeats(user.id, ids=[ids[0]], start=NOW - 5) == 0
    after = store_backend.change_marks()
    assert after.heartbeat_id == grown.heartbeat_id  # ids are never reused or rolled back
    assert sorted(store_backend.deleted_heartbeat_ids(grown.tombstone_seq, after.tombstone_seq)) == ids[1:]
    store_backend.update_user(user.id, timezone="Asia/Tokyo")
    assert store_backend.change_marks().users_version != after.users_version


def test_deleting_a_user_takes_everything(store_backend: StoreBackend) -> None:
    user = store_backend.create_user("gone")
    ids = [i for i, _ in insert(store_backend, user.id, beat_rows(user.id, [NOW - 20, NOW - 10]))]
    store_backend.create_api_key(user.id)
    token = store_backend.create_session(user.id, now=NOW)
    store_backend.save_import_progress(user.id, "upstream", {"done_through": "2025-01-01"})
    marks = store_backend.change_marks()
    assert store_backend.delete_user(user.id) == 2
    assert store_backend.get_user(user.id) is None and store_backend.session_user(token, now=NOW) is None
    assert store_backend.list_api_keys(user.id) == [] and store_backend.import_progress(user.id, "upstream") == {}
    later = store_backend.change_marks()
    assert sorted(store_backend.deleted_heartbeat_ids(marks.tombstone_seq, later.tombstone_seq)) == ids


# -- mirror targets and the outbox ----------------------------------------------------------------------------
def test_outbox_enqueue_and_settle(store_backend: StoreBackend) -> None:
    user = store_backend.create_user("otto")
    own = store_backend.instance_id()
    assert own and store_backend.instance_id() == own
    target = store_backend.upsert_target(user.id, "https://up.example/api/v1", "encrypted", "abcd", NOW)
    assert store_backend.list_targets(user.id) == [target] and store_backend.get_target(target.id) == target
    ids = [i for i, _ in insert(store_backend, user.id, beat_rows(user.id, [NOW - 30, NOW - 20, NOW - 10]),
                                origins=("other-instance",))]
    insert(store_backend, user.id, beat_rows(user.id, [NOW - 5]), origins=(own,))  # came back around a loop
    insert(store_backend, user.id, beat_rows(user.id, [NOW - 4]), source="import")  # imports wait for a backfill
    assert store_backend.due_target_ids(NOW) == [target.id]
    items = store_backend.due_outbox_items(target.id, NOW, 10)
    assert [item.heartbeat_id for item in items] == ids and items[0].origins == "other-instance"
    assert items[0].heartbeat["time"] == NOW - 30 and items[0].heartbeat["entity"] == "main.py"
    counts = store_backend.outbox_counts(target.id, NOW)
    assert (counts.pending, counts.due, counts.retrying) == (3, 3, 0)
    store_backend.settle_outbox(target.id, delivered=[items[0].outbox_id],
                                rejected=[(items[1].outbox_id, items[1].heartbeat_id, 400, "bad")],
                                retries=[(items[2].outbox_id, NOW + 60, "503: later")], now=NOW)
    assert store_backend.due_outbox_items(target.id, NOW, 10) == []
    counts = store_backend.outbox_counts(target.id, NOW)
    assert (counts.pending, counts.due, counts.retrying) == (1, 0, 1)
    (retry,) = store_backend.due_outbox_items(target.id, NOW + 60, 10)
    assert retry.attempts == 1
    settled = store_backend.get_target(target.id)
    assert settled is not None and (settled.delivered_count, settled.rejected_count) == (1, 1)
    assert [r["heartbeat_id"] for r in store_backend.recent_rejections(target.id)] == [ids[1]]
    assert store_backend.enqueue_backfill(target.id, ids, NOW) == 2  # the one still queued is skipped


def test_target_states(store_backend: StoreBackend) -> None:
    user = store_backend.create_user("tess")
    target = store_backend.upsert_target(user.id, "https://up.example/api/v1", "old", "old1", NOW)
    insert(store_backend, user.id, beat_rows(user.id, [NOW - 1]))
    store_backend.record_target_failure(target.id, "503", NOW + 30, NOW)
    assert store_backend.target_failures(target.id) == 1 and store_backend.due_target_ids(NOW) == []
    assert store_backend.due_target_ids(NOW + 30) == [target.id]
    store_backend.pause_target(target.id, "key rejected", NOW)
    assert store_backend.due_target_ids(NOW + 30) == []
    store_backend.resume_target(target.id, NOW)
    assert store_backend.target_failures(target.id) == 0 and store_backend.due_target_ids(NOW) == [target.id]
    store_backend.pause_target(target.id, "key rejected", NOW)
    rekeyed = store_backend.upsert_target(user.id, "https://up.example/api/v1", "new", "new1", NOW + 1)
    assert rekeyed.id == target.id and rekeyed.paused_at is None and rekeyed.api_key_encrypted == "new"
    assert store_backend.delete_target(target.id) and not store_backend.delete_target(target.id)
    assert store_backend.list_targets() == []


# -- small records: import progress, job runs, plugin errors --------------------------------------------------
def test_import_progress(store_backend: StoreBackend) -> None:
    user = store_backend.create_user("imp")
    assert store_backend.import_progress(user.id, "a") == {}
    store_backend.save_import_progress(user.id, "a", {"done_through": "2025-01-01"})
    store_backend.save_import_progress(user.id, "a", {"done_through": "2025-01-02"})
    assert store_backend.import_progress(user.id, "a") == {"done_through": "2025-01-02"}
    assert store_backend.import_progress(user.id, "b") == {}


def test_job_runs(store_backend: StoreBackend) -> None:
    def update(runs: int, errors: int, *, error: str | None = None, answered: float | None = None) -> JobRunUpdate:
        return JobRunUpdate(name="sync", last_started_at=NOW, last_finished_at=NOW + 1, last_duration_ms=1000.0,
                            last_error=error, last_result='{"copied": 3}', last_success_at=None if error else NOW + 1,
                            next_due_at=NOW + 60, runs=runs, errors=errors, updated_at=NOW + 1,
                            answered_request=answered)

    assert store_backend.job_runs() == []
    store_backend.record_job_run(update(2, 0)).result(10)
    store_backend.record_job_run(update(1, 1, error="boom")).result(10)
    (run,) = store_backend.job_runs()
    assert (run.run_count, run.error_count, run.last_error, run.last_success_at) == (3, 1, "boom", NOW + 1)
    assert run.last_result == '{"copied": 3}' and run.requested_at is None
    store_backend.request_job_run("sync", 123.0)
    store_backend.request_job_run("backup", 124.0)
    assert {r.name: r.requested_at for r in store_backend.job_runs()} == {"backup": 124.0, "sync": 123.0}
    store_backend.record_job_run(update(1, 0, answered=999.0)).result(10)  # another request: still pending
    assert {r.name: r.requested_at for r in store_backend.job_runs()}["sync"] == 123.0
    store_backend.record_job_run(update(1, 0, answered=123.0)).result(10)
    assert {r.name: r.requested_at for r in store_backend.job_runs()}["sync"] is None


def test_plugin_errors_are_accepted(store_backend: StoreBackend) -> None:
    store_backend.record_plugin_error(NOW, "10.0.0.1", "wakatime/v1", '{"message": "oops"}').result(10)


# -- leaderboard and streak caches ----------------------------------------------------------------------------
def test_leaderboard_cache_round_trip(store_backend: StoreBackend) -> None:
    ann, bob, cid, dee = (store_backend.create_user(name) for name in ("ann", "bob", "cid", "dee"))
    rows = [BoardRow(ann.id, 7200.4, 1028.6, [("Python", 7200.4)]), BoardRow(bob.id, 3600.9, 514.4, []),
            BoardRow(cid.id, 3600.2, 514.3, [(None, 3600.2)]), BoardRow(dee.id, 60.0, 8.6, [])]
    built = BuiltBoard("last_7_days", 7, None, None, rows, {"Python": rows[:1]})
    assert store_backend.leaderboard_header("last_7_days", "") is None
    assert store_backend.replace_leaderboard(built, NOW) == 5
    header = store_backend.leaderboard_header("last_7_days", "")
    assert header is not None and (header.generated_at, header.days, header.language) == (NOW, 7, "")
    assert store_backend.leaderboard_header("last_7_days", "python").language == "Python"  # type: ignore[union-attr]
    store_backend.replace_streaks({bob.id: Streak(current=4, longest=9)}, NOW)
    store_backend.update_user(dee.id, leaderboard_opt_out=True)  # left out when read
    total, entries = store_backend.leaderboard_page("last_7_days", "", limit=2, offset=0)
    assert total == 3 and [(e.rank, e.user.username) for e in entries] == [(1, "ann"), (2, "bob")]
    assert entries[0].languages[0].name == "Python" and entries[1].current_streak == 4
    _, rest = store_backend.leaderboard_page("last_7_days", "", limit=2, offset=2)
    assert [(e.rank, e.user.username) for e in rest] == [(2, "cid")]  # equal whole seconds share a rank
    assert store_backend.leaderboard_entry("last_7_days", "", cid.id).rank == 2  # type: ignore[union-attr]
    assert store_backend.leaderboard_entry("last_7_days", "", dee.id) is None
    assert [(b.board, b.language, b.entry_count) for b in store_backend.list_leaderboards()] == [
        ("last_7_days", None, 4), ("last_7_days", "Python", 1)]
    assert store_backend.replace_leaderboard(BuiltBoard("last_7_days", 7, None, None, rows[:1], {}), NOW + 1) == 1
    assert [b.language for b in store_backend.list_leaderboards()] == [None]


def test_streak_cache_round_trip(store_backend: StoreBackend) -> None:
    ann, bob = store_backend.create_user("ann"), store_backend.create_user("bob")
    day = dt.date(2025, 6, 1)
    streak = Streak(current=3, current_start=day, current_end=day + dt.timedelta(days=2), longest=5,
                    longest_start=day - dt.timedelta(days=30), longest_end=day - dt.timedelta(days=26))
    assert store_backend.cached_streak(ann.id) is None
    assert store_backend.replace_streaks({ann.id: streak, bob.id: Streak()}, NOW) == 2
    assert store_backend.cached_streak(ann.id) == streak and store_backend.cached_streak(bob.id) == Streak()
    store_backend.replace_streaks({bob.id: Streak(current=1, longest=1)}, NOW + 1)
    assert store_backend.cached_streak(ann.id) is None


# -- lifecycle ------------------------------------------------------------------------------------------------
def test_close_stops_writes(store_backend: StoreBackend) -> None:
    user = store_backend.create_user("last")
    store_backend.close()
    with pytest.raises(StoreClosed):
        store_backend.insert_heartbeats(beat_rows(user.id, [NOW]), user_id=user.id, source="direct", origins=(),
                                        now=NOW)
    store_backend.close()  # closing twice is harmless


# -- the weekly report e-mail -------------------------------------------------------------------------------
def test_weekly_report_opt_in_and_sends(store_backend: StoreBackend) -> None:
    alice, bob = store_backend.create_user("wr_alice"), store_backend.create_user("wr_bob")
    assert not store_backend.weekly_report_opt_in(alice.id)
    assert store_backend.weekly_report_subscribers() == []
    store_backend.set_weekly_report_opt_in(alice.id, True, NOW)
    store_backend.set_weekly_report_opt_in(alice.id, True, NOW + 1)  # twice is once
    store_backend.set_weekly_report_opt_in(10_000_000, True, NOW)  # an unknown user stores nothing
    assert store_backend.weekly_report_opt_in(alice.id) and not store_backend.weekly_report_opt_in(bob.id)
    assert store_backend.weekly_report_subscribers() == [alice.id]
    # One claim per user and week: the second run of the job finds the week taken.
    assert store_backend.claim_weekly_report(alice.id, "2026-W48", NOW)
    assert not store_backend.claim_weekly_report(alice.id, "2026-W48", NOW + 5)
    assert store_backend.claim_weekly_report(bob.id, "2026-W48", NOW)
    assert not store_backend.claim_weekly_report(10_000_000, "2026-W48", NOW)
    store_backend.release_weekly_report(bob.id, "2026-W48")  # a failed send is tried again
    assert store_backend.claim_weekly_report(bob.id, "2026-W48", NOW)
    assert store_backend.weekly_reports_sent(alice.id) == ["2026-W48"]
    # Disabled users get nothing; opting out removes the subscription; deleting a user removes it all.
    store_backend.disable_user(alice.id)
    assert store_backend.weekly_report_subscribers() == []
    store_backend.set_weekly_report_opt_in(bob.id, True, NOW)
    store_backend.set_weekly_report_opt_in(bob.id, False, NOW)
    assert not store_backend.weekly_report_opt_in(bob.id)
    store_backend.delete_user(alice.id)
    assert store_backend.weekly_reports_sent(alice.id) == []


# -- goals ----------------------------------------------------------------------------------------------------
def test_goals_round_trip_and_are_scoped_by_their_owner(store_backend: StoreBackend) -> None:
    import re

    from hackatime_lite.errors import NotFoundError
    from hackatime_lite.store.records import GoalSpec

    alice, bob = store_backend.create_user("goal_alice"), store_backend.create_user("goal_bob")
    spec = GoalSpec(delta="day", seconds=3600, is_inverse=True, languages=("Python", "Go"), projects=("api",),
                    editors=("VS Code",), categories=("coding",), ignore_days=("saturday", "sunday"),
                    ignore_zero_days=True, is_enabled=False, custom_title="No more than an hour")
    first = store_backend.create_goal(alice.id, spec, now=NOW)
    assert re.fullmatch(r"[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89ab][a-f0-9]{3}-[a-f0-9]{12}", first.id)
    assert (first.user_id, first.spec, first.created_at, first.modified_at) == (alice.id, spec, NOW, None)
    second = store_backend.create_goal(alice.id, GoalSpec(delta="week", seconds=18_000), now=NOW + 1)
    assert second.spec == GoalSpec(delta="week", seconds=18_000) and second.id != first.id
    assert store_backend.list_goals(alice.id) == [first, second]  # oldest first
    assert store_backend.get_goal(alice.id, first.id) == first
    # Bob finds none of Alice's goals, and cannot change or delete them.
    assert store_backend.list_goals(bob.id) == [] and store_backend.get_goal(bob.id, first.id) is None
    with pytest.raises(NotFoundError):
        store_backend.update_goal(bob.id, first.id, spec, now=NOW)
    assert not store_backend.delete_goal(bob.id, first.id)
    assert store_backend.get_goal(alice.id, "00000000-0000-4000-8000-000000000000") is None

    changed = store_backend.update_goal(alice.id, first.id, GoalSpec(delta="day", seconds=60), now=NOW + 5)
    assert (changed.id, changed.spec, changed.created_at, changed.modified_at) == \
        (first.id, GoalSpec(delta="day", seconds=60), NOW, NOW + 5)
    assert store_backend.get_goal(alice.id, first.id) == changed
    assert store_backend.delete_goal(alice.id, first.id) and not store_backend.delete_goal(alice.id, first.id)
    assert store_backend.list_goals(alice.id) == [second]
    bobs = store_backend.create_goal(bob.id, spec, now=NOW)
    store_backend.delete_user(alice.id)  # a user's goals go with the user
    assert store_backend.list_goals(alice.id) == [] and store_backend.get_goal(alice.id, second.id) is None
    assert store_backend.list_goals(bob.id) == [bobs]


# -- trust and admin levels, the audit log (issue 15) ----------------------------------------------------------
def test_level_changes_are_recorded_and_survive_the_users(store_backend: StoreBackend) -> None:
    from hackatime_lite.errors import NotFoundError

    admin = store_backend.create_user("boss")  # the first user: admin by the is_admin flag
    target = store_backend.create_user("target")
    assert store_backend.admin_levels() == {admin.id: "admin", target.id: "none"}
    first = store_backend.set_user_level(target.id, "trust_level", "convicted", actor_id=admin.id, reason=" spam ",
                                         now=NOW)
    assert first is not None and (first.actor_name, first.target_name, first.old_value, first.new_value,
                                  first.reason, first.created_at) == ("boss", "target", "unscored", "convicted",
                                                                      "spam", NOW)
    assert store_backend.get_user(target.id).trust_level == "convicted"  # type: ignore[union-attr]
    assert store_backend.set_user_level(target.id, "trust_level", "convicted", actor_id=admin.id) is None
    store_backend.set_user_level(target.id, "admin_level", "viewer", actor_id=None, now=NOW + 1)
    assert store_backend.admin_level(target.id) == "viewer"
    assert not store_backend.get_user(target.id).is_admin  # type: ignore[union-attr]
    store_backend.set_user_level(target.id, "admin_level", "superadmin", actor_id=None, now=NOW + 2)
    assert store_backend.admin_level(target.id) == "superadmin"
    assert store_backend.get_user(target.id).is_admin  # type: ignore[union-attr]
    # The is_admin flag set elsewhere still decides "may administer".
    store_backend.update_user(target.id, is_admin=False)
    assert store_backend.admin_level(target.id) == "none"
    with pytest.raises(UserError):
        store_backend.set_user_level(target.id, "trust_level", "purple", actor_id=None)
    with pytest.raises(NotFoundError):
        store_backend.set_user_level(99_999, "trust_level", "trusted", actor_id=None)
    entries = store_backend.audit_log()
    assert [(e.actor_name, e.field, e.old_value, e.new_value) for e in entries] == [
        ("cli", "admin_level", "viewer", "superadmin"), ("cli", "admin_level", "none", "viewer"),
        ("boss", "trust_level", "unscored", "convicted")]
    assert store_backend.audit_log(limit=1, offset=1) == entries[1:2]
    assert store_backend.audit_log(user_id=admin.id) == []
    store_backend.delete_user(admin.id)
    kept = store_backend.audit_log(user_id=target.id)
    assert len(kept) == 3 and kept[-1].actor_id is None and kept[-1].actor_name == "boss"
    assert store_backend.admin_level(admin.id) == "none"


# -- aliases, labels, language mappings, exclusions (issue 14 item 2) ------------------------------------------------
def test_alias_rules_round_trip_and_are_scoped_by_their_owner(store_backend: StoreBackend) -> None:
    from hackatime_lite.store.records import AliasRuleSpec

    alice, bob = store_backend.create_user("rule_alice"), store_backend.create_user("rule_bob")
    specs = [AliasRuleSpec(kind="alias", dimension="project", pattern="api-*", value="API"),
             AliasRuleSpec(kind="label", dimension="project", pattern="web", value="work"),
             AliasRuleSpec(kind="language", dimension="language", pattern="vue", value="Vue.js"),
             AliasRuleSpec(kind="exclude", dimension="project", pattern="secret"),
             AliasRuleSpec(kind="hide", dimension="project", pattern="")]
    added = [store_backend.add_alias_rule(alice.id, spec, now=NOW + i) for i, spec in enumerate(specs)]
    assert [(r.user_id, r.spec, r.created_at) for r in added] == [(alice.id, s, NOW + i) for i, s in enumerate(specs)]
    assert store_backend.list_alias_rules(alice.id) == added  # oldest first
    # The same rule again is the stored one, not a second row.
    assert store_backend.add_alias_rule(alice.id, specs[0], now=NOW + 9) == added[0]
    assert len(store_backend.list_alias_rules(alice.id)) == len(specs)
    # Bob sees none of Alice's rules and cannot delete them.
    assert store_backend.list_alias_rules(bob.id) == []
    assert not store_backend.delete_alias_rule(bob.id, added[0].id)
    bobs = store_backend.add_alias_rule(bob.id, specs[3], now=NOW)
    assert store_backend.excluded_projects() == {alice.id: ["secret"], bob.id: ["secret"]}
    assert store_backend.delete_alias_rule(alice.id, added[0].id)
    assert not store_backend.delete_alias_rule(alice.id, added[0].id)
    assert store_backend.list_alias_rules(alice.id) == added[1:]
    store_backend.delete_user(alice.id)  # a user's rules go with the user
    assert store_backend.list_alias_rules(alice.id) == []
    assert store_backend.list_alias_rules(bob.id) == [bobs]
    assert store_backend.excluded_projects() == {bob.id: ["secret"]}


# -- teams (issue 15) -------------------------------------------------------------------------------------------
def test_teams_members_invites_and_the_owner_rule(store_backend: StoreBackend) -> None:
    from hackatime_lite.errors import ConflictError, NotFoundError

    owner, joiner, other = (store_backend.create_user(name) for name in ("owner", "joiner", "other"))
    with pytest.raises(UserError):
        store_backend.create_team("   ", owner.id, now=NOW)
    team = store_backend.create_team("  Core   crew ", owner.id, now=NOW)
    assert (team.name, team.created_by, team.created_at) == ("Core crew", owner.id, NOW)
    assert store_backend.get_team(team.public_id) == team and store_backend.get_team(team.id) == team
    assert store_backend.get_team("no-such-team") is None
    assert [(m.username, m.role, m.shares) for m in store_backend.team_members(team.id)] == [("owner", "owner", False)]
    invite, code = store_backend.create_team_invite(team.id, owner.id, max_uses=1, valid_days=1, now=NOW)
    assert invite.code_hint == code[:4] and invite.expires_at == NOW + 86400 and invite.uses == 0
    with pytest.raises(UserError):  # expired
        store_backend.join_team(code, joiner.id, now=NOW + 86401)
    with pytest.raises(ConflictError):  # a member already: nothing spent
        store_backend.join_team(code, owner.id, now=NOW)
    member = store_backend.join_team(f"  {code} ", joiner.id, now=NOW + 1)
    assert (member.username, member.role, member.shares, member.joined_at) == ("joiner", "member", False, NOW + 1)
    assert store_backend.team_invites(team.id)[0].uses == 1
    with pytest.raises(UserError):  # used up
        store_backend.join_team(code, other.id, now=NOW + 2)
    second, second_code = store_backend.create_team_invite(team.id, owner.id, max_uses=5, valid_days=None, now=NOW)
    assert store_backend.revoke_team_invite(team.id, second.id, now=NOW)
    assert not store_backend.revoke_team_invite(team.id, second.id, now=NOW)
    with pytest.raises(UserError):  # revoked
        store_backend.join_team(second_code, other.id, now=NOW)
    assert [t.id for t in store_backend.user_teams(joiner.id)] == [team.id] and store_backend.user_teams(other.id) == []
    changed = store_backend.update_team_member(team.id, joiner.id, role="admin", shares=True)
    assert (changed.role, changed.shares) == ("admin", True)
    with pytest.raises(UserError):
        store_backend.update_team_member(team.id, joiner.id, role="king")
    with pytest.raises(NotFoundError):
        store_backend.update_team_member(team.id, other.id, shares=True)
    # The last owner can be neither demoted nor removed while others stay; nothing changes.
    with pytest.raises(ConflictError):
        store_backend.update_team_member(team.id, owner.id, role="member")
    with pytest.raises(ConflictError):
        store_backend.remove_team_member(team.id, owner.id)
    assert store_backend.team_member(team.id, owner.id).role == "owner"  # type: ignore[union-attr]
    store_backend.update_team_member(team.id, joiner.id, role="owner")
    assert store_backend.remove_team_member(team.id, owner.id)
    assert store_backend.team_member(team.id, owner.id) is None
    # Deleting a member's account removes the membership; deleting the team removes the rest.
    store_backend.delete_user(joiner.id)
    assert store_backend.team_members(team.id) == []
    assert store_backend.delete_team(team.id) and store_backend.get_team(team.public_id) is None
    assert store_backend.team_invites(team.id) == []


def test_suspected_users_leave_others_boards_but_see_themselves(store_backend: StoreBackend) -> None:
    ann, sus = store_backend.create_user("ann"), store_backend.create_user("sus")
    rows = [BoardRow(sus.id, 7200.0, 1028.6, []), BoardRow(ann.id, 3600.0, 514.3, [])]
    store_backend.replace_leaderboard(BuiltBoard("today", 1, None, None, rows, {}), NOW)
    store_backend.set_user_level(sus.id, "trust_level", "suspected", actor_id=None)
    total, entries = store_backend.leaderboard_page("today", "", limit=10, offset=0)
    assert total == 1 and [(e.rank, e.user.username) for e in entries] == [(1, "ann")]
    total, entries = store_backend.leaderboard_page("today", "", limit=10, offset=0, viewer_id=sus.id)
    assert total == 2 and [(e.rank, e.user.username) for e in entries] == [(1, "sus"), (2, "ann")]
    assert store_backend.leaderboard_entry("today", "", sus.id).rank == 1  # type: ignore[union-attr]
    store_backend.set_user_level(sus.id, "trust_level", "convicted", actor_id=None)
    assert store_backend.leaderboard_page("today", "", limit=10, offset=0, viewer_id=sus.id)[0] == 1
    assert store_backend.leaderboard_entry("today", "", sus.id) is None


def test_webhooks_queue_each_event_once_and_settle(store_backend: StoreBackend) -> None:
    owner = store_backend.create_user("hookowner")
    member = store_backend.create_user("hookmember")
    team = store_backend.create_team("hookteam", owner.id, now=NOW)
    mine = store_backend.create_webhook(user_id=owner.id, team_id=None, url="https://example.com/a",
                                        events=("goal_reached", "daily_summary"), fmt="json",
                                        secret_encrypted="box", created_by=owner.id, now=NOW)
    teams_hook = store_backend.create_webhook(user_id=None, team_id=team.id, url="https://example.com/t",
                                              events=("daily_summary",), fmt="slack", secret_encrypted="box2",
                                              created_by=owner.id, now=NOW)
    assert [h.id for h in store_backend.list_webhooks(user_id=owner.id)] == [mine.id]
    assert [h.id for h in store_backend.list_webhooks(team_id=team.id)] == [teams_hook.id]
    assert store_backend.get_webhook(mine.id) == mine and mine.events == ("goal_reached", "daily_summary")
    assert store_backend.get_webhook(2 ** 70) is None
    # The owner shares nothing with the team yet: only their own webhook hears of them.
    assert store_backend.webhook_subscribers(("daily_summary",)) == [owner.id]
    assert store_backend.enqueue_webhook_event(owner.id, "daily_summary", "k1", '{"a": 1}', NOW).result(10) == 1
    assert store_backend.enqueue_webhook_event(owner.id, "daily_summary", "k1", '{"a": 2}', NOW).result(10) == 0
    assert store_backend.enqueue_webhook_event(owner.id, "goal_missed", "k2", "{}", NOW).result(10) == 0
    store_backend.update_team_member(team.id, owner.id, shares=True)
    assert store_backend.webhook_subscribers(("daily_summary",)) == [owner.id]
    # The same key again reaches only the team's webhook, which had not had it.
    assert store_backend.enqueue_webhook_event(owner.id, "daily_summary", "k1", "{}", NOW).result(10) == 1
    assert store_backend.enqueue_webhook_event(owner.id, "daily_summary", "k3", "{}", NOW, teams=False).result(10) == 1
    assert store_backend.enqueue_webhook_event(member.id, "daily_summary", "k4", "{}", NOW).result(10) == 0
    due = store_backend.due_webhook_deliveries(NOW, 10)
    assert sorted((d.webhook_id, d.event_key) for d in due) == sorted(
        [(mine.id, "k1"), (teams_hook.id, "k1"), (mine.id, "k3")])
    assert len({d.delivery_id for d in due}) == 3 and all(d.state == "pending" and d.attempts == 0 for d in due)
    assert store_backend.due_webhook_deliveries(NOW - 1, 10) == []
    first = next(d for d in due if d.webhook_id == mine.id and d.event_key == "k1")
    store_backend.settle_webhook_delivery(first.id, state="pending", status=503, error="down",
                                          next_attempt_at=NOW + 60, now=NOW)
    assert first.id not in {d.id for d in store_backend.due_webhook_deliveries(NOW, 10)}
    retried = next(d for d in store_backend.due_webhook_deliveries(NOW + 60, 10) if d.id == first.id)
    assert (retried.attempts, retried.last_status, retried.delivery_id) == (1, 503, first.delivery_id)
    store_backend.settle_webhook_delivery(first.id, state="delivered", status=200, error=None,
                                          next_attempt_at=NOW + 61, now=NOW + 61)
    # A settled delivery is never due again, and settling it again changes nothing.
    store_backend.settle_webhook_delivery(first.id, state="pending", status=500, error="x", next_attempt_at=NOW,
                                          now=NOW + 62)
    assert first.id not in {d.id for d in store_backend.due_webhook_deliveries(NOW + 10_000, 10)}
    settled = next(d for d in store_backend.webhook_deliveries(mine.id) if d.id == first.id)
    assert (settled.state, settled.attempts, settled.settled_at) == ("delivered", 2, NOW + 61)
    hook = store_backend.get_webhook(mine.id)
    assert hook is not None and hook.last_success_at == NOW + 61 and hook.last_error is None
    assert store_backend.prune_webhook_deliveries(NOW + 61) == 0
    assert store_backend.prune_webhook_deliveries(NOW + 62) == 1
    assert store_backend.delete_webhook(teams_hook.id) and not store_backend.delete_webhook(teams_hook.id)
    assert {d.webhook_id for d in store_backend.due_webhook_deliveries(NOW + 10_000, 10)} == {mine.id}
    store_backend.delete_user(owner.id)
    assert store_backend.list_webhooks(user_id=owner.id) == [] and store_backend.due_webhook_deliveries(NOW, 10) == []
