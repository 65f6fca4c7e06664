"""In-process scheduler: background threads run plain job functions `fn(ctx) -> dict | None` on intervals.

One thread per enabled job, so a slow job (a backup) never delays a fast one (the replica sync) and can
never overlap itself. Each run's start, finish, duration, error and result are kept in memory and in the
store's job records, where `hackatime-lite jobs` reads them from another process. Those records also carry
run requests: `jobs run NAME` sets `requested_at` and the running server's scheduler picks it up.

Several nodes may share one store (PostgreSQL). A job that does cluster-wide work (leaderboards, mirror
delivery, retention, backups, reports) is a `singleton`: before each run the scheduler takes the store's
lease on the job for this node (`try_job_lease`; SQLite grants every lease), and a node that does not get it
skips the period. The holder renews the lease at each run, so the job stays on one node while that node
lives; when it stops it releases the lease, when it dies the lease expires (LEASE_TTL below) and another node
takes over. Per-node work (the replica sync) runs everywhere. Each run records the node that ran it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from hackatime_lite.config import Settings
from hackatime_lite.context import AppContext
from hackatime_lite.errors import TemporarilyUnavailable
from hackatime_lite.store import StoreBackend, StoreClosed
from hackatime_lite.store.records import JobRunUpdate

log = logging.getLogger(__name__)

JobFn = Callable[[AppContext], "dict[str, Any] | None"]
MAX_ERROR_CHARS = 500
MAX_RESULT_CHARS = 2000
# Frequent jobs (the 1 s replica sync) write their record at most this often unless something changes.
PERSIST_EVERY = 10.0
# `jobs run NAME` against a running server waits at most this long for the run to begin (one tiny read).
REQUEST_POLL_SECONDS = 0.5
# A singleton's lease outlives the interval by half of it (at least a minute): the holder renews it at its
# next run with room to spare, a run that takes longer than the interval is still covered, and a dead holder's
# job moves to another node within 1.5 intervals.
LEASE_MIN_MARGIN = 60.0


def lease_ttl(interval: float) -> float:
    return interval + max(LEASE_MIN_MARGIN, interval * 0.5)


def new_node_id() -> str:
    """This scheduler's name in leases and job records: host, process and a random part (one process may run
    several instances, as the tests do)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobError(RuntimeError):
    """A job cannot run (e.g. the analytics replica is unavailable); the message is safe to show."""


@dataclass(frozen=True)
class Job:
    name: str
    fn: JobFn
    interval: Callable[[Settings], float]
    """Seconds between starts, from the settings; 0 or less disables the job."""
    description: str
    first_delay: float = 0.0
    """Wait this long after start before the first run of a job that never ran in this data dir."""
    needs_replica: bool = False
    singleton: bool = True
    """Cluster-wide work: on nodes sharing a store it runs on one node at a time (the lease holder). False for
    per-node work (the replica sync)."""

    def interval_for(self, settings: Settings) -> float:
        return max(0.0, float(self.interval(settings)))


class JobStatus(msgspec.Struct, kw_only=True):
    name: str
    description: str
    interval_seconds: float
    enabled: bool
    running: bool = False
    last_started_at: float | None = None
    last_finished_at: float | None = None
    last_duration_ms: float | None = None
    last_error: str | None = None
    last_result: dict[str, Any] | None = None
    last_success_at: float | None = None
    next_due_at: float | None = None
    run_count: int = 0
    error_count: int = 0
    requested_at: float | None = None
    singleton: bool = True
    node: str | None = None
    """The node that ran it last (this one for live status; any node for persisted records)."""
    skipped_count: int = 0
    """Periods this node skipped because another node held the job's lease."""
    last_skipped_at: float | None = None


def _describe_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:MAX_ERROR_CHARS]


def _result_json(result: dict[str, Any] | None) -> str | None:
    if result is None:
        return None
    text = json.dumps(result, default=str, sort_keys=True)
    if len(text) > MAX_RESULT_CHARS:
        text = json.dumps({"truncated": text[:MAX_RESULT_CHARS]})
    return text


class _JobState:
    """One job's live state; guarded by `lock` (held for the whole run, so runs never overlap)."""

    def __init__(self, job: Job, interval: float) -> None:
        self.job = job
        self.interval = interval
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.status = JobStatus(name=job.name, description=job.description, interval_seconds=interval,
                                enabled=interval > 0, singleton=job.singleton)
        self.holds_lease = False
        self.runs_here = 0  # runs by this scheduler (run_count also counts the persisted history)
        self.next_due_mono = 0.0
        self.triggered = False
        self.pending_request: float | None = None
        self.unpersisted_runs = 0
        self.unpersisted_errors = 0
        self.last_persist_mono = float("-inf")


class Scheduler:
    """Runs `jobs` for `ctx` in daemon threads between start() and stop()."""

    def __init__(self, ctx: AppContext, jobs: Sequence[Job], *, persist: bool = True,
                 request_poll: float = REQUEST_POLL_SECONDS, persist_every: float = PERSIST_EVERY) -> None:
        names = [job.name for job in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate job names in {names}")
        self.ctx = ctx
        self.persist = persist
        self.request_poll = request_poll
        self.persist_every = persist_every
        self.stopping = threading.Event()
        self.node_id = new_node_id()
        self._states = {job.name: _JobState(job, job.interval_for(ctx.settings)) for job in jobs}
        self._threads: list[threading.Thread] = []
        self._started = False

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._started:
            return
        self._started = True
        persisted = self._load_persisted() if self.persist else {}
        now_mono, now_wall = time.monotonic(), self.ctx.clock()
        for state in self._states.values():
            previous = persisted.get(state.job.name)
            if previous is not None:
                state.status.run_count = previous.run_count
                state.status.error_count = previous.error_count
                for field in ("last_started_at", "last_finished_at", "last_duration_ms", "last_error",
                              "last_result", "last_success_at"):
                    setattr(state.status, field, getattr(previous, field))
            if not state.status.enabled:
                continue
            if previous is not None and previous.last_started_at is not None:
                # Long intervals survive restarts: a daily backup is not retaken on every start.
                wait = previous.last_started_at + state.interval - now_wall
            else:
                wait = state.job.first_delay
            state.next_due_mono = now_mono + max(0.0, min(wait, state.interval))
            state.status.next_due_at = now_wall + max(0.0, min(wait, state.interval))
            thread = threading.Thread(target=self._job_loop, args=(state,), name=f"job-{state.job.name}",
                                      daemon=True)
            state.thread = thread
            self._threads.append(thread)
        if self.persist and self.request_poll > 0:
            self._threads.append(threading.Thread(target=self._request_loop, name="job-requests", daemon=True))
        for thread in self._threads:
            thread.start()
        log.info("scheduler started: %s", ", ".join(
            f"{s.job.name}/{s.interval:g}s" for s in self._states.values() if s.status.enabled))

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop the loops; returns False if a job was still running after `timeout` (its thread is a daemon)."""
        self.stopping.set()
        for state in self._states.values():
            state.wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            log.warning("scheduler stopped with jobs still running: %s", ", ".join(alive))
        self._release_leases()
        if self.persist:
            for state in self._states.values():
                if state.unpersisted_runs and not state.lock.locked():
                    self._persist(state, wait=True)
            # Earlier persists were queued without waiting; flush() returns only after they are committed,
            # so what stop() leaves behind is on disk.
            with contextlib.suppress(StoreClosed):
                self.ctx.store.flush()
        return not alive

    # -- control --------------------------------------------------------------------------------
    @property
    def job_names(self) -> list[str]:
        return list(self._states)

    def status(self) -> list[JobStatus]:
        return [msgspec.structs.replace(state.status) for state in self._states.values()]

    def trigger(self, name: str) -> None:
        """Ask the job's thread to run it as soon as its current run (if any) is over."""
        state = self._state(name)
        state.triggered = True
        state.wake.set()

    def run_now(self, name: str) -> JobStatus:
        """Run the job in the calling thread (after any in-flight run finishes) and return its record. An
        operator's explicit run: no lease is asked for."""
        state = self._state(name)
        self._run(state, leased=False)
        return msgspec.structs.replace(state.status)

    def _release_leases(self) -> None:
        """Hand singleton jobs over at once instead of when the leases expire."""
        for state in self._states.values():
            if state.holds_lease and not state.lock.locked():
                try:
                    self.ctx.store.release_job_lease(state.job.name, self.node_id)
                    state.holds_lease = False
                except Exception as exc:  # a closed or unreachable store: the lease expires by itself
                    log.debug("could not release the lease on %s: %s", state.job.name, exc)

    def _takes_lease(self, state: _JobState) -> bool:
        """Whether this node may run the job now: always for per-node jobs; for singletons, when it holds (or
        just took or renewed) the store's lease on the job."""
        if not state.job.singleton:
            return True
        try:
            granted = self.ctx.store.try_job_lease(state.job.name, self.node_id,
                                                   lease_ttl(state.interval or PERSIST_EVERY))
        except Exception as exc:  # the store is unreachable: run nothing that needs to be alone
            log.debug("could not take the lease on %s: %s", state.job.name, exc)
            granted = False
        state.holds_lease = granted
        if not granted:
            state.status.skipped_count += 1
            state.status.last_skipped_at = self.ctx.clock()
            log.debug("job %s skipped: another node holds its lease", state.job.name)
        return granted

    def health(self) -> dict[str, object]:
        failing = {s.job.name: s.status.last_error for s in self._states.values() if s.status.last_error}
        # Which node this is and what it ran: with several nodes on one store, each singleton shows runs on
        # one node (the lease holder) and skipped periods on the others.
        return {"status": "ok", "jobs": len(self._states), "failing": failing, "node": self.node_id,
                "leases": sorted(s.job.name for s in self._states.values() if s.holds_lease and s.job.singleton),
                "runs": {s.job.name: s.runs_here for s in self._states.values()},
                "skipped": {s.job.name: s.status.skipped_count for s in self._states.values()
                            if s.status.skipped_count}}

    def _state(self, name: str) -> _JobState:
        try:
            return self._states[name]
        except KeyError:
            raise JobError(f"unknown job {name!r} (jobs: {', '.join(self._states)})") from None

    # -- loops ----------------------------------------------------------------------------------
    def _job_loop(self, state: _JobState) -> None:
        while not self.stopping.is_set():
            if not state.triggered:
                delay = state.next_due_mono - time.monotonic()
                if delay > 0:
                    state.wake.wait(delay)
                    state.wake.clear()
                    continue
            state.triggered = False
            started = time.monotonic()
            self._run(state)
            finished = time.monotonic()
            # A run longer than the interval is followed by a short rest, not an immediate rerun.
            state.next_due_mono = max(started + state.interval, finished + state.interval * 0.1)
            state.status.next_due_at = self.ctx.clock() + (state.next_due_mono - finished)

    def _run(self, state: _JobState, *, leased: bool = True) -> None:
        with state.lock:
            status = state.status
            request = state.pending_request
            if leased and not self._takes_lease(state):
                if request is not None and state.pending_request == request:
                    state.pending_request = None  # the lease holder answers it
                return
            status.node = self.node_id
            status.running = True
            status.last_started_at = self.ctx.clock()
            begun = time.perf_counter()
            error: str | None = None
            result: dict[str, Any] | None = None
            try:
                outcome = state.job.fn(self.ctx)
                result = outcome if isinstance(outcome, dict) else None
            except Exception as exc:  # recorded and logged; the loop must go on
                error = _describe_error(exc)
                if isinstance(exc, TemporarilyUnavailable):
                    # A full disk, a replica being repaired: logged once per incident where it was noticed.
                    log.debug("job %s failed: %s", state.job.name, error)
                elif error != status.last_error:
                    log.warning("job %s failed: %s", state.job.name, error, exc_info=exc)
                else:
                    log.debug("job %s failed again: %s", state.job.name, error)
            elapsed_ms = (time.perf_counter() - begun) * 1000
            finished = self.ctx.clock()
            error_changed = error != status.last_error
            if status.last_error and error is None:
                log.info("job %s recovered", state.job.name)
            status.running = False
            status.last_finished_at = finished
            status.last_duration_ms = round(elapsed_ms, 3)
            status.last_error = error
            status.last_result = result
            status.run_count += 1
            state.runs_here += 1
            state.unpersisted_runs += 1
            if error is None:
                status.last_success_at = finished
            else:
                status.error_count += 1
                state.unpersisted_errors += 1
            if request is not None and state.pending_request == request:
                state.pending_request = None
            if self.persist and (request is not None or error_changed or state.interval >= self.persist_every
                                 or time.monotonic() - state.last_persist_mono >= self.persist_every):
                self._persist(state, answered_request=request)

    def _request_loop(self) -> None:
        while not self.stopping.wait(self.request_poll):
            try:
                rows = [(run.name, run.requested_at) for run in self.ctx.store.job_runs()
                        if run.requested_at is not None]
            except Exception as exc:  # a closed store at shutdown; try again next poll
                log.debug("could not read job requests: %s", exc)
                continue
            for name, requested_at in rows:
                state = self._states.get(name)
                if state is None or state.pending_request == requested_at:
                    continue
                log.info("job %s requested from the command line", name)
                state.pending_request = requested_at
                if state.thread is not None:
                    self.trigger(name)
                else:
                    # A disabled job has no thread; run it here so the request is still answered.
                    self._run(state)

    # -- persistence ----------------------------------------------------------------------------
    def _load_persisted(self) -> dict[str, JobStatus]:
        try:
            return {s.name: s for s in read_job_runs(self.ctx.store)}
        except Exception as exc:  # history is a convenience; never stops the scheduler
            log.warning("could not read job history: %s", exc)
            return {}

    def _persist(self, state: _JobState, *, answered_request: float | None = None, wait: bool = False) -> None:
        status = state.status
        runs, errors = state.unpersisted_runs, state.unpersisted_errors
        state.unpersisted_runs = state.unpersisted_errors = 0
        state.last_persist_mono = time.monotonic()
        update = JobRunUpdate(
            name=status.name, last_started_at=status.last_started_at, last_finished_at=status.last_finished_at,
            last_duration_ms=status.last_duration_ms, last_error=status.last_error,
            last_result=_result_json(_with_node(status.last_result, self.node_id)),
            last_success_at=status.last_success_at,
            next_due_at=status.next_due_at, runs=runs, errors=errors, updated_at=self.ctx.clock(),
            answered_request=answered_request,
        )
        try:
            future = self.ctx.store.record_job_run(update)
        except StoreClosed:
            return
        if wait:
            try:
                future.result(timeout=2)
            except Exception as exc:  # best effort at shutdown
                log.debug("could not record job %s: %s", status.name, exc)
        else:
            future.add_done_callback(_log_failed_write)


def _with_node(result: dict[str, Any] | None, node: str) -> dict[str, Any]:
    # The node goes into the persisted result (job_runs has no column for it), read back by read_job_runs.
    return {**(result or {}), NODE_KEY: node}


NODE_KEY = "_node"


def _log_failed_write(future: Any) -> None:
    # A storage fault is logged once per incident by the store, not once per job run.
    if future.exception() is not None and not isinstance(future.exception(), TemporarilyUnavailable):
        log.warning("could not record a job run: %s", future.exception())


def _split_node(text: str | None) -> tuple[dict[str, Any] | None, str | None]:
    result = json.loads(text) if text else None
    if not isinstance(result, dict):
        return None, None
    node = result.pop(NODE_KEY, None)
    return (result or None), (str(node) if node is not None else None)


def read_job_runs(store: StoreBackend) -> list[JobStatus]:
    """Persisted job records (the server's store, or the CLI's read-only one)."""
    statuses = []
    for run in store.job_runs():
        result, node = _split_node(run.last_result)
        statuses.append(JobStatus(
            name=run.name, description="", interval_seconds=0.0, enabled=False, last_started_at=run.last_started_at,
            last_finished_at=run.last_finished_at, last_duration_ms=run.last_duration_ms, last_error=run.last_error,
            last_result=result, last_success_at=run.last_success_at, next_due_at=run.next_due_at,
            run_count=run.run_count, error_count=run.error_count, requested_at=run.requested_at, node=node))
    return statuses


def install_scheduler(ctx: AppContext, jobs: Sequence[Job]) -> Scheduler:
    """Create and start the scheduler for a running app; it stops with the app (a shutdown hook)."""
    scheduler = Scheduler(ctx, jobs)
    ctx.scheduler = scheduler
    ctx.shutdown_hooks.append(scheduler.stop)
    ctx.health_probes["scheduler"] = scheduler.health
    scheduler.start()
    return scheduler
