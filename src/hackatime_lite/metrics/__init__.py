"""Prometheus metrics of one running instance (`/api/metrics`, off unless `metrics_enabled`).

Everything lives in the instance's own CollectorRegistry (`AppMetrics.registry`), never prometheus_client's
global default one: the test suite builds many apps per process, and two instances in one process must not
count into each other. What is measured where:

- process and platform metrics: prometheus_client's collectors, on this registry;
- HTTP requests and latency by route template and status: `metrics.http.HttpMetricsMiddleware`;
- ingest outcomes: `observe_ingest`, an AppContext ingest observer called after each batch's commit;
- replica lag and sync time, job runs and failures, mirror outbox depth, and the admin gauges: read at
  scrape time by `_InstanceCollector` (the replica's sync state, `store.job_runs`, `store.outbox_counts`, …);
- the caller's own coding time in Wakapi's metric names (`wakatime_*`, today's seconds per dimension, as
  Wakapi's routes/api/metrics.go names them): `user_metrics`, built per scrape for that caller only.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from hackatime_lite import reports
from hackatime_lite.errors import TemporarilyUnavailable

if TYPE_CHECKING:
    from hackatime_lite.context import AppContext
    from hackatime_lite.models import User

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Latency buckets (seconds): most answers take milliseconds; reads of long ranges and big batches take more.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ACTIVE_WINDOW = 86400.0

# A rejected heartbeat's reason (ingest's message, which may quote the value) → a small fixed set of label
# values, so the counter's cardinality stays bounded whatever clients send. First match wins.
_REASONS: tuple[tuple[str, str], ...] = (
    ("time is in the future", "time_in_future"),
    ("time is required", "missing_time"),
    ("time ", "implausible_time"),
    ("entity is required", "missing_entity"),
    ("type must be", "invalid_type"),
    ("heartbeat is not valid json", "unreadable"),
    ("heartbeat is nested", "unreadable"),
    ("each heartbeat must be", "unreadable"),
    ("heartbeat could not be read", "unreadable"),
)
REJECT_REASONS = (*dict.fromkeys(label for _, label in _REASONS), "missing_field", "invalid_field")


def reject_reason(message: str | None) -> str:
    text = (message or "").lower()
    for prefix, label in _REASONS:
        if text.startswith(prefix):
            return label
    return "missing_field" if text.endswith(" is required") else "invalid_field"


class AppMetrics:
    """The metrics of one AppContext: its registry, the counters the app updates, and the scrape-time readers."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.http_requests = Counter(
            "hackatime_http_requests", "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"], registry=self.registry)
        self.http_latency = Histogram(
            "hackatime_http_request_duration_seconds",
            "Time until the response starts (a stream's lifetime is not latency), by method, route template "
            "and status.", ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.accepted = Counter("hackatime_heartbeats_accepted", "Heartbeats stored (new).",
                                registry=self.registry)
        self.duplicates = Counter("hackatime_heartbeats_duplicate",
                                  "Heartbeats received that were already stored (answered 201, not stored again).",
                                  registry=self.registry)
        self.rejected = Counter("hackatime_heartbeats_rejected", "Heartbeats refused (per-item 400), by reason.",
                                ["reason"], registry=self.registry)
        for reason in REJECT_REASONS:  # every reason exported from the start (0), so rate() sees the first one
            self.rejected.labels(reason)
        self.registry.register(_InstanceCollector(ctx))

    def observe_ingest(self, batch: Any, results: Sequence[Any]) -> None:
        """An AppContext ingest observer: one committed batch's per-item results (ingest.ItemResult)."""
        accepted = duplicates = 0
        for result in results:
            if result.error is not None:
                self.rejected.labels(reject_reason(result.error)).inc()
            elif result.created:
                accepted += 1
            else:
                duplicates += 1
        if accepted:
            self.accepted.inc(accepted)
        if duplicates:
            self.duplicates.inc(duplicates)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method, route, str(status))
        self.http_requests.labels(*labels).inc()
        self.http_latency.labels(*labels).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


# -- read at scrape time ---------------------------------------------------------------------------------
def _gauge(name: str, doc: str, value: float | None = None, labels: Sequence[str] = ()) -> GaugeMetricFamily:
    if labels:
        return GaugeMetricFamily(name, doc, labels=list(labels))
    return GaugeMetricFamily(name, doc, value=value if value is not None else float("nan"))


class _InstanceCollector:
    """The instance's state, read when scraped: replica, jobs, mirror outbox and the admin gauges."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def describe(self) -> Iterable[Metric]:
        return ()  # nothing to check at registration; keeps register() from collecting (querying) early

    def collect(self) -> Iterator[Metric]:
        yield _gauge("hackatime_live_streams", "Open live-dashboard event streams (/live/events).",
                     self.ctx.live.total_streams())
        yield from self._replica()
        yield from self._jobs()
        yield from self._outbox()
        yield from self._admin()

    def _replica(self) -> Iterator[Metric]:
        replica = self.ctx.replica
        if replica is None:
            return
        health = replica.health()
        yield _gauge("hackatime_replica_up", "1 while the analytics replica is usable, else 0.",
                     1.0 if health.get("status") == "ok" else 0.0)
        watermark = health.get("heartbeat_watermark")
        if isinstance(watermark, int):
            behind = max(0, self.ctx.store.change_marks().heartbeat_id - watermark)
            yield _gauge("hackatime_replica_lag_heartbeats",
                         "Heartbeat ids committed to the store that the replica has not copied yet.", behind)
        synced_at = getattr(replica, "last_sync_at", None)
        if synced_at is not None:
            yield _gauge("hackatime_replica_last_sync_age_seconds", "Seconds since the replica's last sync.",
                         max(0.0, time.time() - synced_at))
        sync_ms = getattr(replica, "last_sync_ms", None)
        if sync_ms is not None:
            yield _gauge("hackatime_replica_last_sync_duration_seconds", "How long the last replica sync took.",
                         sync_ms / 1000)

    def _jobs(self) -> Iterator[Metric]:
        runs = CounterMetricFamily("hackatime_job_runs", "Runs of each background job.", labels=["job"])
        failures = CounterMetricFamily("hackatime_job_failures", "Failed runs of each background job.",
                                       labels=["job"])
        duration = _gauge("hackatime_job_last_duration_seconds", "How long each job's last run took.",
                          labels=["job"])
        success = _gauge("hackatime_job_last_success_timestamp_seconds", "When each job last succeeded.",
                         labels=["job"])
        for run in self.ctx.store.job_runs():
            runs.add_metric([run.name], run.run_count)
            failures.add_metric([run.name], run.error_count)
            if run.last_duration_ms is not None:
                duration.add_metric([run.name], run.last_duration_ms / 1000)
            if run.last_success_at is not None:
                success.add_metric([run.name], run.last_success_at)
        yield from (runs, failures, duration, success)

    def _outbox(self) -> Iterator[Metric]:
        labels = ["target", "host"]
        pending = _gauge("hackatime_mirror_outbox_pending", "Heartbeats waiting for delivery to each mirror target.",
                         labels=labels)
        due = _gauge("hackatime_mirror_outbox_due", "Waiting heartbeats due for delivery now.", labels=labels)
        retrying = _gauge("hackatime_mirror_outbox_retrying", "Waiting heartbeats that failed before.",
                          labels=labels)
        oldest = _gauge("hackatime_mirror_outbox_oldest_age_seconds", "Age of the oldest waiting heartbeat.",
                        labels=labels)
        paused = _gauge("hackatime_mirror_target_paused", "1 while a mirror target is paused.", labels=labels)
        now = self.ctx.clock()
        for target in self.ctx.store.list_targets():
            # The target's id and host only: the URL's path may carry a key, and the user is not a label.
            label = [str(target.id), urlsplit(target.url).hostname or ""]
            counts = self.ctx.store.outbox_counts(target.id, now)
            pending.add_metric(label, counts.pending)
            due.add_metric(label, counts.due)
            retrying.add_metric(label, counts.retrying)
            if counts.oldest_created_at is not None:
                oldest.add_metric(label, max(0.0, now - counts.oldest_created_at))
            paused.add_metric(label, 1.0 if target.paused_at is not None else 0.0)
        yield from (pending, due, retrying, oldest, paused)

    def _admin(self) -> Iterator[Metric]:
        # Wakapi's admin gauge names (routes/api/metrics.go, getAdminMetrics).
        users = self.ctx.store.list_users()
        yield _gauge("wakatime_admin_users_total", "Total number of registered users.", len(users))
        since = self.ctx.clock() - ACTIVE_WINDOW
        last = self.ctx.store.last_heartbeat_times([u.id for u in users])
        active = sum(1 for seen in last.values() if seen is not None and seen >= since)
        yield _gauge("wakatime_admin_users_active_total", "Users with a heartbeat in the last 24 hours.", active)
        replica = self.ctx.replica
        if replica is not None:
            try:
                replica.sync()  # after the lag was read above; costs one tiny query when nothing changed
                count = replica.heartbeat_rows()
            except TemporarilyUnavailable:
                return  # the replica is being repaired: hackatime_replica_up says so, the rest still scrapes
            yield _gauge("wakatime_admin_heartbeats_total",
                         "Total number of tracked heartbeats (all users, all time).", count)


# -- the caller's own gauges -------------------------------------------------------------------------------
# Wakapi's per-user metric names (routes/api/metrics.go, getUserMetrics): today's seconds per dimension, by
# our plural breakdown key. Labels are Wakapi's `name`; Wakapi's project labels have no equivalent here, so
# wakatime_label_seconds_total is exported without samples.
USER_DIMENSIONS = (
    ("projects", "wakatime_project_seconds_total", "Total seconds for each project."),
    ("languages", "wakatime_language_seconds_total", "Total seconds for each language."),
    ("editors", "wakatime_editor_seconds_total", "Total seconds for each editor."),
    ("operating_systems", "wakatime_operating_system_seconds_total", "Total seconds for each operating system."),
    ("machines", "wakatime_machine_seconds_total", "Total seconds for each machine."),
    ("labels", "wakatime_label_seconds_total", "Total seconds for each project label."),
    ("categories", "wakatime_category_seconds_total", "Total seconds for each category."),
)


class _UserCollector:
    def __init__(self, ctx: AppContext, user: User) -> None:
        self.ctx, self.user = ctx, user

    def describe(self) -> Iterable[Metric]:
        return ()

    def collect(self) -> Iterator[Metric]:
        # The status bar's own use case, so each figure equals what the editor plugins show for today.
        today = reports.status_bar_today(self.ctx, self.user)
        all_time = reports.all_time_since_today(self.ctx, self.user)
        yield _gauge("wakatime_cumulative_seconds_total", "Total seconds (all time).", all_time.total.total_seconds)
        yield _gauge("wakatime_seconds_total", "Total seconds.", today.grand_total.total_seconds)
        for key, name, doc in USER_DIMENSIONS:
            family = _gauge(name, doc, labels=["name"])
            for entry in today.breakdowns.get(key, []):
                family.add_metric([entry.name], entry.total_seconds)
            yield family


def user_metrics(ctx: AppContext, user: User) -> bytes:
    """The caller's own gauges (today and all time), in the text format."""
    registry = CollectorRegistry()
    registry.register(_UserCollector(ctx, user))
    return generate_latest(registry)


def install_metrics(ctx: AppContext) -> AppMetrics:
    """Give `ctx` its metrics and let them count every ingested batch."""
    ctx.metrics = AppMetrics(ctx)
    ctx.ingest_observers.append(ctx.metrics.observe_ingest)
    return ctx.metrics
