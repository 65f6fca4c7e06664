"""One Litestar app per test worker and app-relevant settings, with a fresh instance bound to it per test.

Building an app (`hackatime_lite.app.build_app`: Litestar registering ~400 routes, the OpenAPI and template
config) costs ~0.35 s of CPU and depends on the settings only; what makes an app one test's app is its instance
(`bind`: the AppContext with its store, replica, clock, …, started and stopped by the app's lifespan). So a test
takes an idle app built for equal settings (apart from where the data lives), binds its own instance, and gives
the app back afterwards. Two apps are in use at once only when a test runs two instances (`other_instance`).

HACKATIME_TEST_APP_POOL=0 builds every app afresh (create_app), as without the pool.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar

from hackatime_lite.app import bind, build_app, create_app
from hackatime_lite.config import Settings

# The settings an app's build depends on (hackatime_lite.app.build_app and the route lists it calls); the CSRF
# secret it derives from the data dir's server secret is a signing key only (tokens are checked by the same app).
BUILD_SETTINGS = ("max_body_bytes", "metrics_enabled")


@dataclass
class _Pooled:
    app: Litestar
    busy: bool = True


@dataclass
class AppPool:
    apps: dict[str, list[_Pooled]] = field(default_factory=dict)
    enabled: bool = field(default_factory=lambda: os.environ.get("HACKATIME_TEST_APP_POOL", "1") != "0")

    @staticmethod
    def _key(settings: Settings) -> str:
        # Only the settings build_app reads (BUILD_SETTINGS; tests/test_app_pool.py checks the list against the
        # source): modules that change a rate limit or a job interval share the worker's app (a build costs
        # ~0.4 s of CPU; the other settings are read through the bound instance's context).
        # HACKATIME_TEST_APP_POOL_KEY=all: one app per distinct settings (apart from where the data lives), as before.
        if os.environ.get("HACKATIME_TEST_APP_POOL_KEY") == "all":
            import msgspec

            shape = msgspec.structs.asdict(settings)
            return repr(sorted((k, v) for k, v in shape.items() if k not in ("data_dir", "database_url")))
        return repr([(name, getattr(settings, name)) for name in BUILD_SETTINGS])

    def create(self, settings: Settings, **kwargs: Any) -> Litestar:
        """create_app(settings, **kwargs), on a reused app when an idle one fits. Call release() after."""
        if not self.enabled:
            return create_app(settings, **kwargs)
        entries = self.apps.setdefault(self._key(settings), [])
        pooled = next((p for p in entries if not p.busy), None)
        if pooled is None:
            pooled = _Pooled(build_app(settings))
            entries.append(pooled)
        pooled.busy = True
        try:
            return bind(pooled.app, settings, **kwargs)
        except BaseException:
            pooled.busy = False
            raise

    def release(self, app: Litestar) -> None:
        for pooled in (p for entries in self.apps.values() for p in entries):
            if pooled.app is app:
                pooled.busy = False
                # Nothing of the finished instance stays reachable from the idle app.
                for name in ("instance", "ctx"):
                    with contextlib.suppress(AttributeError, KeyError):
                        delattr(app.state, name)


POOL = AppPool()


class LazyReplica:
    """The analytics replica, opened (built, for a fresh data dir) on first use instead of at app start.

    For write-path test modules (marked `lazy_replica`) that mostly never read coding time: opening a DuckDB
    replica costs ~0.1 s of CPU per test. Passed to create_app as `replica=`, so the caller closes it.
    """

    def __init__(self, store: Any, settings: Settings) -> None:
        self._args = (store, settings)
        self._real: Any = None
        self._lock = threading.Lock()

    def _replica(self) -> Any:
        with self._lock:
            if self._real is None:
                from hackatime_lite.analytics.replica import Replica

                self._real = Replica(*self._args)
            return self._real

    def health(self) -> Any:  # create_app registers the bound method as a probe: not a reason to open it
        return self._replica().health()

    def close(self) -> None:
        with self._lock:
            if self._real is not None:
                self._real.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._replica(), name)


@contextlib.contextmanager
def pooled_app(settings: Settings, **kwargs: Any) -> Iterator[Litestar]:
    """An app as create_app(settings, **kwargs) builds it, from the worker's pool; back to the pool after."""
    app = POOL.create(settings, **kwargs)
    try:
        yield app
    finally:
        POOL.release(app)
