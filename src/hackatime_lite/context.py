"""What request handlers, jobs and CLI use cases share: one typed object per running instance.

Everything an instance holds at run time lives here (the store, the replica, the scheduler, import jobs,
limiters, shutdown hooks), never in module globals, so two instances in one process (tests, `serve --get`,
the CLI's local mode) never share state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hackatime_lite.accounts.rate_limits import RateLimits
from hackatime_lite.accounts.throttle import LoginThrottle
from hackatime_lite.config import Settings
from hackatime_lite.errors import TemporarilyUnavailable
from hackatime_lite.events import UserNotifier
from hackatime_lite.store import StoreBackend
from hackatime_lite.webhooks.observer import FirstHeartbeatOfDay

if TYPE_CHECKING:  # annotations only: these modules import this one
    from hackatime_lite.analytics.replica import Replica
    from hackatime_lite.data.importers.jobs import ImportJobs
    from hackatime_lite.jobs.scheduler import Scheduler
    from hackatime_lite.metrics import AppMetrics

Clock = Callable[[], float]
HealthProbe = Callable[[], dict[str, Any]]


# How long a read waits for a replica still opening behind a starting server before it answers 503 (Retry-After).
REPLICA_WAIT_SECONDS = 20.0


class ServiceUnavailable(TemporarilyUnavailable):
    """A service this instance was started without (e.g. the replica in a store-only tool)."""

    retry_after = 5


@dataclass
class AppContext:
    settings: Settings
    store: StoreBackend
    clock: Clock = time.time
    started_at: float = field(default_factory=time.time)
    # The node's analytics replica; None only in tools that never read coding time, and while it opens behind a
    # starting server (then `replica_opening` resolves to it: require_replica waits for that).
    replica: Replica | None = None
    replica_opening: Future[Replica] | None = None
    # The background job runner of a running server (None in the CLI and in tests that don't start it).
    scheduler: Scheduler | None = None
    # Uploads being imported in the background (created on first upload, stopped with the app).
    import_jobs: ImportJobs | None = None
    # Abuse limits, built from the settings: failed logins, and API requests per key and per address.
    login_throttle: LoginThrottle = field(init=False)
    rate_limits: RateLimits = field(init=False)
    # The limits' clock: monotonic, so a wall-clock jump (or a test's frozen `clock`) neither locks anyone
    # out nor lets a storm through. Tests replace it to step time.
    limits_clock: Clock = time.monotonic
    # Delivery rounds never overlap for one instance: a slow upstream must not get the same batch twice.
    mirror_delivery_lock: threading.Lock = field(default_factory=threading.Lock)
    # The same for webhook delivery rounds (webhooks/delivery.py): an event must not be sent twice at once.
    webhook_delivery_lock: threading.Lock = field(default_factory=threading.Lock)
    # Extra components reported by /api/health, by name.
    health_probes: dict[str, HealthProbe] = field(default_factory=dict)
    # Called in reverse order when the app stops (what they return is ignored).
    shutdown_hooks: list[Callable[[], object]] = field(default_factory=list)
    # Told of every ingested batch after its commit, with its per-item results (ingest.IngestContext.observer).
    ingest_observers: list[Callable[[Any, list[Any]], None]] = field(default_factory=list)
    # Wakes the live dashboards (web/events.py) of users whose heartbeats changed: ingest and replica sync signal.
    live: UserNotifier = field(default_factory=UserNotifier)
    # Prometheus metrics (metrics/), when `metrics_enabled`.
    metrics: AppMetrics | None = None
    # Finished answers of polled reads (status bar, stats), each with the stamp it is valid for; kept and
    # checked on the event loop by api/answers.py.
    answers: dict[Hashable, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # In the store when several app nodes share it (PostgreSQL), else in this process.
        self.login_throttle = LoginThrottle.from_settings(self.settings, self.store)
        self.rate_limits = RateLimits.from_settings(self.settings, self.store)
        self.live.max_streams_per_user = self.settings.live_streams_per_user
        self.ingest_observers.append(self.live.observe_ingest)
        # Queues `first_heartbeat_of_day` webhook events (hackatime_lite.webhooks).
        self.ingest_observers.append(FirstHeartbeatOfDay(self.store, lambda: self.clock()))

    def observe_ingest(self, batch: Any, results: list[Any]) -> None:
        for observer in self.ingest_observers:
            observer(batch, results)

    def require_replica(self) -> Replica:
        """The replica; while it opens (app.create_app, replica_behind), waits up to REPLICA_WAIT_SECONDS for it."""
        replica = self.replica
        if replica is None and self.replica_opening is not None:
            try:
                replica = self.replica_opening.result(timeout=REPLICA_WAIT_SECONDS)
            except TimeoutError as exc:
                raise ServiceUnavailable("coding-time statistics are being prepared (the analytics replica is still "
                                         "opening); try again shortly") from exc
            except Exception as exc:
                raise ServiceUnavailable("the analytics replica could not be opened") from exc
        if replica is None:
            raise ServiceUnavailable("the analytics replica is not available")
        return replica

    def shutdown(self) -> None:
        """Run the shutdown hooks, newest first, each once."""
        while self.shutdown_hooks:
            self.shutdown_hooks.pop()()
