"""The in-process scheduler, its jobs (retention), the app lifespan hook and the `jobs` CLI."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from hackatime_lite.analytics.oracle import Beat
from hackatime_lite.analytics.queries import summarize
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.cli.main import app as cli_app
from hackatime_lite.config import Settings
from hackatime_lite.context import AppContext
from hackatime_lite.jobs.registry import JOBS, delete_expired_heartbeats
from hackatime_lite.jobs.scheduler import Job, JobError, Scheduler, read_job_runs
from hackatime_lite.store import Store
from tests.analytics_helpers import insert_beats
from tests.app_pool import pooled_app
from tests.conftest import Account, ServerProcess, make_account

NOW = 1_780_000_000.0  # 2026-05-28, a fixed "now" for the jobs' clock


def every(seconds: float):  # type: ignore[no-untyped-def]
    return lambda settings: seconds


# Generous: a passing run returns as soon as the condition holds; a loaded machine needs the slack.
def wait_until(predicate, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


@pytest.fixture
def ctx(settings: Settings, store: Store) -> AppContext:
    return AppContext(settings=settings, store=store)


@pytest.fixture
def scheduler_factory(ctx: AppContext) -> Iterator:  # type: ignore[type-arg]
    made: list[Scheduler] = []

    def make(jobs: list[Job], **options) -> Scheduler:  # type: ignore[no-untyped-def]
        scheduler = Scheduler(ctx, jobs, **options)
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        scheduler.stop(timeout=2)


def test_job_runs_on_its_interval_and_its_runs_are_persisted(scheduler_factory, store: Store) -> None:
    runs: list[float] = []

    def tick(ctx: AppContext) -> dict[str, int]:
        runs.append(time.monotonic())
        return {"run": len(runs)}

    scheduler = scheduler_factory([Job("tick", tick, every(0.03), "counts")], persist_every=0.0)
    scheduler.start()
    assert wait_until(lambda: len(runs) >= 4)
    assert scheduler.stop()
    # Started on the interval, not back to back. The mean gap, because a single gap between two tick()
    # calls can shrink when one call is delayed after its scheduled start on a loaded machine.
    assert (runs[-1] - runs[0]) / (len(runs) - 1) >= 0.025
    (status,) = scheduler.status()
    assert status.run_count == len(runs) and status.error_count == 0
    assert status.last_result == {"run": len(runs)} and status.last_duration_ms is not None
    (persisted,) = read_job_runs(store)
    assert persisted.name == "tick" and persisted.run_count == len(runs)
    assert persisted.last_result == {"run": len(runs)} and persisted.last_error is None


def test_a_slow_job_never_overlaps_itself(scheduler_factory) -> None:
    active, most, runs = [0], [0], [0]
    guard = threading.Lock()

    def slow(ctx: AppContext) -> None:
        with guard:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.05)
        with guard:
            active[0] -= 1
            runs[0] += 1

    scheduler = scheduler_factory([Job("slow", slow, every(0.001), "slower than its interval")], persist=False)
    scheduler.start()
    # Triggers and direct runs from other threads queue behind the running one instead of overlapping.
    extra = [threading.Thread(target=scheduler.run_now, args=("slow",)) for _ in range(3)]
    for thread in extra:
        thread.start()
        scheduler.trigger("slow")
    for thread in extra:
        thread.join(20)
    assert wait_until(lambda: runs[0] >= 5)
    scheduler.stop()
    assert most[0] == 1


def test_a_failing_job_is_recorded_and_the_loop_goes_on(scheduler_factory, store: Store) -> None:
    calls = [0]

    def flaky(ctx: AppContext) -> dict[str, int]:
        calls[0] += 1
        if calls[0] <= 2:
            raise RuntimeError(f"boom {calls[0]}")
        return {"ok": calls[0]}

    ticks = [0]
    scheduler = scheduler_factory([
        Job("flaky", flaky, every(0.02), "fails twice"),
        Job("steady", lambda ctx: ticks.__setitem__(0, ticks[0] + 1), every(0.02), "keeps going"),
    ])
    scheduler.start()
    assert wait_until(lambda: calls[0] >= 1 and scheduler.status()[0].last_error is not None)
    failing = scheduler.status()[0]
    assert failing.last_error in ("RuntimeError: boom 1", "RuntimeError: boom 2") and failing.error_count >= 1
    # A new error is persisted at once, for `hackatime-lite jobs` in another process.
    assert wait_until(lambda: any(s.last_error for s in read_job_runs(store)))
    assert wait_until(lambda: calls[0] >= 4 and ticks[0] >= 4)
    scheduler.stop()
    flaky_status, steady_status = scheduler.status()
    assert flaky_status.last_error is None and flaky_status.error_count == 2
    assert flaky_status.last_result == {"ok": calls[0]}
    assert flaky_status.last_success_at is not None
    assert steady_status.run_count >= 4 and ticks[0] == steady_status.run_count


def test_stop_is_prompt_even_with_a_job_in_flight(scheduler_factory) -> None:
    started = threading.Event()

    def long_running(ctx: AppContext) -> None:
        started.set()
        # Long jobs watch the scheduler's stopping event (the backup does, between pages).
        ctx_scheduler.stopping.wait(30)

    ctx_scheduler = scheduler_factory([
        Job("long", long_running, every(3600), "runs at start, then hourly"),
        Job("hourly", lambda ctx: None, every(3600), "waits", first_delay=3600),
    ])
    ctx_scheduler.start()
    assert started.wait(20)
    began = time.monotonic()
    assert ctx_scheduler.stop(timeout=5)
    assert time.monotonic() - began < 0.5


def test_restart_keeps_long_intervals_and_disabled_jobs_have_no_thread(ctx: AppContext, store: Store) -> None:
    ran: list[str] = []
    jobs = [
        Job("recent", lambda c: ran.append("recent"), every(3600), "ran 10 s ago"),
        Job("overdue", lambda c: ran.append("overdue"), every(3600), "ran 2 h ago"),
        Job("off", lambda c: ran.append("off"), every(0), "disabled"),
    ]
    now = time.time()
    store.write(lambda db: db.conn.executemany(
        "INSERT INTO job_runs (name, last_started_at, run_count, updated_at) VALUES (?, ?, 5, ?)",
        [("recent", now - 10, now), ("overdue", now - 7200, now)]))
    scheduler = Scheduler(ctx, jobs)
    scheduler.start()
    try:
        assert wait_until(lambda: "overdue" in ran)
        # Its run is recorded once it has returned (no fixed wait); "recent" is due only in about an hour.
        assert wait_until(lambda: scheduler.status()[1].run_count == 6)
        assert ran == ["overdue"]
        recent, overdue, off = scheduler.status()
        assert recent.run_count == 5 and recent.next_due_at == pytest.approx(now - 10 + 3600, abs=2)
        assert overdue.run_count == 6
        assert not off.enabled and off.run_count == 0
    finally:
        scheduler.stop()
    with pytest.raises(JobError, match="unknown job"):
        scheduler.run_now("nope")


def test_a_run_requested_through_the_database_is_answered(scheduler_factory, store: Store) -> None:
    ran = threading.Event()
    scheduler = scheduler_factory([
        Job("report", lambda c: ran.set() or {"done": True}, every(3600), "hourly", first_delay=3600),
        Job("off", lambda c: {"disabled": "still runs on request"}, every(0), "disabled"),
    ], request_poll=0.02)
    scheduler.start()
    store.request_job_run("report", 123.0)
    store.request_job_run("off", 124.0)
    assert ran.wait(20)

    def answered() -> bool:
        rows = {s.name: s for s in read_job_runs(store)}
        return all(rows[n].requested_at is None and rows[n].last_result for n in ("report", "off"))

    assert wait_until(answered)
    rows = {s.name: s for s in read_job_runs(store)}
    assert rows["report"].last_result == {"done": True}
    assert rows["off"].last_result == {"disabled": "still runs on request"}


def test_retention_deletes_only_old_heartbeats_and_the_replica_follows(settings: Settings, store: Store,
                                                                       alice: Account) -> None:
    uid = alice.user.id
    old = [Beat(id=0, user_id=uid, time=NOW - 40 * 86400 + i * 60) for i in range(7)]
    recent = [Beat(id=0, user_id=uid, time=NOW - 86400 + i * 60) for i in range(4)]
    insert_beats(store, old + recent)
    retained = Settings(data_dir=settings.data_dir, retention_days=30)
    ctx = AppContext(settings=retained, store=store, clock=lambda: NOW)
    with Replica(store, retained) as replica:
        assert summarize(replica, uid, None, None, dimensions=()).total_seconds == 6 * 60 + 120 + 3 * 60
        result = delete_expired_heartbeats(ctx)
        assert result == {"deleted": 7, "cutoff": NOW - 30 * 86400}
        times = [row[0] for row in store.reader().execute("SELECT time FROM heartbeats ORDER BY time")]
        assert times == [b.time for b in recent]
        # Deletions leave tombstones; the replica drops the same rows on its next sync.
        assert summarize(replica, uid, None, None, dimensions=()).total_seconds == 3 * 60
    off = AppContext(settings=settings, store=store, clock=lambda: NOW)
    assert delete_expired_heartbeats(off) is None


def test_the_app_lifespan_runs_the_jobs_and_stops_them(settings: Settings, store: Store, alice: Account) -> None:
    uid = alice.user.id
    insert_beats(store, [Beat(id=0, user_id=uid, time=NOW - 3600 + i * 60, language="Python") for i in range(11)])
    # The worker's pooled app (tests/app_pool.py: building one costs ~0.35 s of CPU) with this test's instance
    # bound to it: the same lifespan starts and stops the scheduler as create_app's would.
    with pooled_app(settings, store=store, clock=lambda: NOW, start_scheduler=True) as app, TestClient(app) as client:
        ctx: AppContext = client.app.state.ctx
        scheduler: Scheduler = ctx.scheduler
        assert scheduler.job_names == [job.name for job in JOBS]

        def built() -> bool:
            statuses = {s.name: s for s in scheduler.status()}
            return all(statuses[n].run_count >= 1 and statuses[n].last_error is None
                       for n in ("replica_sync", "streaks", "leaderboards"))

        assert wait_until(built)
        board = store.reader().execute(
            "SELECT user_id, total_seconds FROM leaderboard_entries WHERE board = 'today' AND language = ''"
        ).fetchall()
        assert [tuple(row) for row in board] == [(uid, 600.0)]
        health = client.get("/api/health").json()
        assert health["scheduler"]["status"] == "ok"
        threads = list(scheduler._threads)
    assert scheduler.stopping.is_set()
    assert not any(thread.is_alive() for thread in threads)
    statuses = {s.name: s for s in scheduler.status()}
    assert statuses["backup"].run_count == 0  # a fresh data dir's first backup waits; no backup per start
    assert statuses["retention"].enabled is False


# -- CLI --------------------------------------------------------------------------------------------------
def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, list(args))
    return result.exit_code, result.output


def test_jobs_cli_lists_jobs_and_runs_one_without_a_server(tmp_path: Path) -> None:
    data = str(tmp_path / "cli-data")
    code, out = invoke("jobs", "--data-dir", data, "--json")
    assert code == 0, out
    listing = json.loads(out)
    assert listing["server_running"] is False
    jobs = {job["name"]: job for job in listing["jobs"]}
    assert list(jobs) == [job.name for job in JOBS]
    assert jobs["replica_sync"]["interval_seconds"] == 1.0 and jobs["backup"]["interval_seconds"] == 86400.0
    assert jobs["retention"]["enabled"] is False and jobs["leaderboards"]["last_started_at"] is None

    code, out = invoke("jobs", "run", "backup", "--data-dir", data, "--json")
    assert code == 0, out
    ran = json.loads(out)
    assert ran["ran_in"] == "here" and ran["last_error"] is None
    assert (Path(data) / "backups" / ran["last_result"]["path"]).is_file()

    code, out = invoke("jobs", "--data-dir", data, "--json")
    jobs = {job["name"]: job for job in json.loads(out)["jobs"]}
    assert jobs["backup"]["run_count"] == 1 and jobs["backup"]["last_duration_ms"] > 0
    assert jobs["backup"]["last_result"]["path"] == ran["last_result"]["path"]

    code, out = invoke("jobs", "--data-dir", data)
    assert code == 0 and "backup" in out and "no server running" in out

    code, out = invoke("jobs", "run", "nope", "--data-dir", data)
    assert code == 2 and "unknown job" in out


@pytest.mark.slow
def test_jobs_cli_asks_the_running_server_and_sigterm_stops_it_promptly(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server-data").start()
    try:
        store = Store(server.data_dir / "hackatime.sqlite3")
        try:
            make_account(store, "alice")
        finally:
            store.close()
        # In-process CLI calls (faster than subprocesses); the server is still another process.
        data = str(server.data_dir)
        code, out = invoke("jobs", "run", "leaderboards", "--json", "--timeout", "20", "--data-dir", data)
        assert code == 0, out
        ran = json.loads(out)
        assert ran["ran_in"] == "server" and ran["last_error"] is None
        assert set(ran["last_result"]) == {"today", "last_24_hours", "last_7_days", "last_30_days"}
        listing = json.loads(invoke("jobs", "--json", "--data-dir", data)[1])
        assert listing["server_running"] is True
        jobs = {job["name"]: job for job in listing["jobs"]}
        assert jobs["leaderboards"]["run_count"] >= 1
    finally:
        began = time.monotonic()
        code = server.stop()
        stopped_in = time.monotonic() - began
    # uvicorn re-raises SIGTERM after its graceful shutdown, so the exit status reports the signal.
    assert code in (0, -15)
    assert stopped_in < 5
    log = server.log_path.read_text()
    assert "Application shutdown complete" in log and "still running" not in log
