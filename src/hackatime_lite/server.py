"""Run the app under uvicorn, holding the data dir's lock and advertising the server in server.json."""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn

from hackatime_lite.config import Settings
from hackatime_lite.runtime import DataDirLock, remove_server_file, write_server_file

if TYPE_CHECKING:
    from hackatime_lite.context import AppContext
    from hackatime_lite.jobs.scheduler import Scheduler

log = logging.getLogger(__name__)


def _event_loop() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def _http_impl() -> str:
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "h11"
    return "httptools"


class _GracefulServer(uvicorn.Server):
    """uvicorn re-raises SIGTERM after its graceful shutdown (exit status -15); a service manager expects 0
    after a clean stop, so SIGTERM is not re-raised. SIGINT keeps uvicorn's behaviour."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        # Live-dashboard streams never end by themselves: end them now, or the graceful shutdown waits its
        # full timeout for their connections to close.
        ctx = getattr(getattr(self.config.app, "state", None), "ctx", None)
        if ctx is not None:
            ctx.live.close()
        if sig == signal.SIGTERM and self._captured_signals and self._captured_signals[-1] == sig:
            self._captured_signals.pop()


# Seconds between the app being up and the jobs starting: every job runs on an interval of seconds to hours, and
# the first requests after a start (an editor's queued heartbeats, a status bar) come first.
JOBS_START_DELAY = 1.0


def _start_jobs_behind(ctx: AppContext) -> None:
    """Start the background jobs (as jobs.registry.start_jobs does) in a thread of their own, JOBS_START_DELAY
    seconds after the app is up, so the server answers while their modules (the analytics among them) import and
    their threads start (~0.1 s of CPU that, holding the GIL beside the first requests, delayed the first answer:
    issue 13). Nothing a request does waits for them: handlers never read the scheduler, and the health check
    shows it as starting until it runs. Shutdown cancels a start not begun, waits for one under way, then stops
    the jobs."""
    lock = threading.Lock()
    started: list[Scheduler] = []

    def start(stopping: threading.Event) -> None:
        from hackatime_lite.jobs.registry import JOBS
        from hackatime_lite.jobs.scheduler import Scheduler

        with lock:
            if stopping.is_set():
                return
            scheduler = Scheduler(ctx, JOBS)
            ctx.scheduler = scheduler
            ctx.health_probes["scheduler"] = scheduler.health
            scheduler.start()
            started.append(scheduler)

    def stop() -> None:
        with lock:  # a start under way finishes first; none begins after
            stopping.set()
        for scheduler in started:
            scheduler.stop()

    ctx.health_probes["scheduler"] = lambda: {"status": "ok", "starting": True}
    stopping = _behind("scheduler-start", start)
    ctx.shutdown_hooks.append(stop)  # where the lifespan's own start would put the scheduler's stop: run first


def _start_writer_behind(ctx: AppContext) -> None:
    """Start the store's heartbeat writer process (store/sqlite/writer_process.py) JOBS_START_DELAY seconds after
    the app is up, like the jobs: the child's interpreter starts on the other core while the first requests are
    answered, and heartbeats take the in-process writer until it is ready. Shutdown cancels a start not begun;
    the store's close ends a child that runs."""
    ctx.shutdown_hooks.append(_behind("writer-process-start", lambda _: ctx.store.start_writer_process()).set)


def _behind(name: str, run: Callable[[threading.Event], object]) -> threading.Event:
    """Call run(stopping) in a thread named `name` JOBS_START_DELAY seconds from now, unless `stopping` (returned)
    is set first."""
    stopping = threading.Event()

    def wait_then_run() -> None:
        if not stopping.wait(JOBS_START_DELAY):
            run(stopping)

    threading.Thread(target=wait_then_run, name=name, daemon=True).start()
    return stopping


def serve(settings: Settings, *, start_scheduler: bool = True) -> None:
    # A server has its own thread pools; OpenBLAS would start a thread per core when numpy is imported, (~0.05 s
    # of CPU at start-up) for matrix routines the replica never calls (its numpy work is element-wise).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # No collections while start-up imports and builds (cli/fast.py pauses the collector before importing this
    # module): what it allocates lives as long as the process, so the ~150 young and ~15 middle collections
    # and the full one that ran during start-up (~60–100 ms of CPU, measured with gc.callbacks) found next to
    # nothing (~600 objects, 0.1 MB, left frozen below).
    gc.disable()
    try:
        _start(settings, start_scheduler)
    finally:
        gc.enable()


def _start(settings: Settings, start_scheduler: bool) -> None:
    from hackatime_lite.app import create_app

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The event loop and the SQLite writer thread hand the GIL back and forth on every request; the default
    # 5 ms switch interval makes the loop wait behind a busy writer. 1 ms measured ~15 % more heartbeats/s.
    sys.setswitchinterval(0.001)
    settings.paths.ensure()
    # Taken before anything touches the data dir: a second server must not migrate, rebuild the replica or
    # overwrite server.json under the first one.
    lock = DataDirLock(settings.paths.lock_file, settings.paths.server_file).acquire()
    try:
        # The replica opens behind the app (create_app: reads wait for it, heartbeats do not): a server listens
        # at once, also while a missing or damaged replica is rebuilt.
        behind: list[Callable[[AppContext], Any]] = [_start_jobs_behind] if start_scheduler else []
        if settings.writer_process:
            behind.append(_start_writer_behind)
        app = create_app(settings, start_scheduler=False, replica_behind=True, extra_startup=behind)
        # What start-up built lives as long as the process: out of the collector's reach, a full collection
        # under load walks only what requests made since (issue 13: one over the ~100k start-up objects cost
        # ~120 ms of CPU holding the GIL, a stall of every request; after freeze() it costs ~0). Nothing is
        # collected first: with the collector paused every start-up object is young, so even a young collection
        # would walk them all (~100 ms) to find the few hundred above.
        gc.freeze()
        gc.enable()
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            loop=_event_loop(),
            http=_http_impl(),
            # An access-log line per request costs ~40 % of throughput; off unless asked for.
            access_log=settings.access_log,
            log_level=settings.log_level,
            lifespan="on",
            server_header=False,
            timeout_graceful_shutdown=10,
        )
        server = _GracefulServer(config)
        write_server_file(settings.paths.server_file, f"http://{settings.host}:{settings.port}")
        try:
            server.run()
        finally:
            remove_server_file(settings.paths.server_file)
    finally:
        lock.release()
