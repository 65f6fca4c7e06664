"""Run the app under uvicorn, holding the data dir's lock and advertising the server in server.json."""

from __future__ import annotations

import gc
import logging
import signal
import sys
from types import FrameType

import uvicorn

from hackatime_lite.config import Settings
from hackatime_lite.runtime import DataDirLock, remove_server_file, write_server_file

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


def serve(settings: Settings, *, start_scheduler: bool = True) -> None:
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
        app = create_app(settings, start_scheduler=start_scheduler)
        # What start-up built lives as long as the process: out of the collector's reach, a full collection
        # under load walks only what requests made since (issue 13: one over the ~100k start-up objects cost
        # ~120 ms of CPU holding the GIL, a stall of every request; after freeze() it costs ~0). Only the young
        # generations are collected first: a full collection here found ~10 objects and cost ~90 ms of start-up
        # (the collector's own runs during the imports already swept the older ones).
        gc.collect(1)
        gc.freeze()
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
