"""The StoreBackend's shared-state methods for the one-node SQLite store: nothing to share with other nodes,
so the counters live in this process (callers keep their own faster in-memory limiters and do not call these
unless `shares_state`), and every job lease is granted."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any


class SQLiteShared:
    """Mixed into SQLiteStore: in-process counters with the same rules as the PostgreSQL ones."""

    _shared_lock = threading.Lock()

    @property
    def shares_state(self) -> bool:
        return False

    def _counters(self) -> dict[tuple[str, str], list[float]]:
        found: dict[tuple[str, str], list[float]] | None = getattr(self, "_shared_counters", None)
        if found is None:
            found = {}
            self._shared_counters = found
        return found

    def take_token(self, scope: str, key: str, *, per_minute: int, now: float) -> float:
        if per_minute <= 0:
            return 0.0
        rate = per_minute / 60.0
        with self._shared_lock:
            counters = self._counters()
            level, at = counters.get((scope, key), [float(per_minute), now])[:2]
            level = min(float(per_minute), level + max(0.0, now - at) * rate)
            granted = level >= 1.0
            counters[(scope, key)] = [level - 1.0 if granted else level, now]
        return 0.0 if granted else (1.0 - level) / rate

    def count_failure(self, scope: str, key: str, *, free: int, backoff_max: float, window: float,
                      now: float) -> None:
        with self._shared_lock:
            counters = self._counters()
            count, last, until = counters.get((scope, "fail:" + key), [0.0, now, now])
            if now - last > window:
                count, until = 0.0, now
            count += 1
            if count > free:
                until = now + min(backoff_max, 2.0 ** min(count - free - 1, 64))
            counters[(scope, "fail:" + key)] = [count, now, until]

    def failure_wait(self, scope: str, keys: Sequence[str], *, window: float, now: float) -> float:
        with self._shared_lock:
            counters = self._counters()
            waits = [found[2] - now for key in keys
                     if (found := counters.get((scope, "fail:" + key))) and now - found[1] <= window]
        return max([0.0, *waits])

    def clear_failures(self, scope: str, key: str) -> None:
        with self._shared_lock:
            self._counters().pop((scope, "fail:" + key), None)

    def try_job_lease(self, name: str, node_id: str, ttl: float, *, now: float | None = None) -> bool:
        return True  # one node per data dir (the data-dir lock): nobody else can hold it

    def release_job_lease(self, name: str, node_id: str) -> None:
        return None

    def save_import_job(self, job_id: str, user_id: int, record: Mapping[str, Any], now: float) -> None:
        with self._shared_lock:
            jobs: dict[str, dict[str, Any]] = self.__dict__.setdefault("_shared_import_jobs", {})
            jobs[job_id] = {**record, "user_id": user_id}

    def import_job(self, job_id: str, user_id: int) -> dict[str, Any] | None:
        found = self.__dict__.get("_shared_import_jobs", {}).get(job_id)
        return dict(found) if found is not None and found.get("user_id") == user_id else None
