"""Reuse one Litestar app per test worker instead of building ~350 routes for every test.

`create_app()` spends most of its ~0.4 s in Litestar registering the route handlers; what makes an app one
test's app is only its AppContext (store, replica, clock, …), which handlers read from `app.state.ctx`, and
the lifespan that binds and shuts down that context. So, per worker and per app-relevant settings:

* the first test builds a real app with `create_app()` (Litestar's options recorded on the way);
* later tests run `create_app()` again with a stand-in for `Litestar` that only records the options — the
  whole per-test part of create_app runs as written (context, replica, lifespan), nothing is registered —
  then bind the result to the idle real app: its `state` and its lifespan manager.

The routes of an app depend on the settings (the CSRF secret, the body size limit), so apps are only shared
between equal settings apart from the data directory. Anything unexpected in what create_app passes to
Litestar turns the pool off for that call (a real app is built, as without the pool); so does
HACKATIME_TEST_APP_POOL=0. This is test machinery for speed only; see the note in tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import os
import threading
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import msgspec
from litestar import Litestar

import hackatime_lite.app as app_module
from hackatime_lite.config import Settings

# What create_app passes to Litestar today. Anything else (new hooks, middleware, plugins, …) might hold
# per-instance state, so such an app is built for real and not shared.
_SHAREABLE_OPTIONS = {
    "route_handlers", "template_config", "lifespan", "exception_handlers", "openapi_config", "cors_config",
    "request_max_body_size", "debug", "logging_config",
}


class _Recorder:
    """Stands in for Litestar inside create_app: records the options and the state, registers nothing."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.state = types.SimpleNamespace()


@dataclass
class _Pooled:
    app: Litestar
    lifespan: list[Any]  # the lifespan managers create_app passed for the context bound now
    busy: bool = True


@dataclass
class AppPool:
    apps: dict[str, list[_Pooled]] = field(default_factory=dict)
    enabled: bool = field(default_factory=lambda: os.environ.get("HACKATIME_TEST_APP_POOL", "1") != "0")

    @staticmethod
    def _key(settings: Settings) -> str:
        shape = msgspec.structs.asdict(settings)
        shape.pop("data_dir", None)
        return repr(sorted(shape.items()))

    @staticmethod
    def _shareable(options: dict[str, Any]) -> bool:
        return set(options) <= _SHAREABLE_OPTIONS and len(options.get("lifespan") or ()) == 1

    def create(self, settings: Settings, **kwargs: Any) -> Litestar:
        """create_app(settings, **kwargs), on a reused app when an idle one fits. Call release() after."""
        if not self.enabled:
            return app_module.create_app(settings, **kwargs)
        key = self._key(settings)
        idle = next((p for p in self.apps.get(key, ()) if not p.busy), None)
        if idle is not None:
            with mock.patch.object(app_module, "Litestar", _Recorder):
                shell = app_module.create_app(settings, **kwargs)
            if isinstance(shell, _Recorder) and self._shareable(shell.options):
                self._bind(idle, shell)
                return idle.app
            # Unexpected: undo what this create_app opened, then build for real (and stop pooling).
            ctx = getattr(shell.state, "ctx", None)
            if ctx is not None:
                ctx.shutdown()
            self.enabled = False
            return app_module.create_app(settings, **kwargs)
        recorded: dict[str, Any] = {}
        real = app_module.Litestar

        def recording(**options: Any) -> Litestar:
            recorded.update(options)
            return real(**options)

        with mock.patch.object(app_module, "Litestar", recording):
            app = app_module.create_app(settings, **kwargs)
        if self._shareable(recorded):
            self.apps.setdefault(key, []).append(_Pooled(app, list(recorded["lifespan"])))
        return app

    def _bind(self, pooled: _Pooled, shell: _Recorder) -> None:
        app = pooled.app
        new = list(shell.options["lifespan"])
        # Keep whatever Litestar added itself (its stores), replace the manager create_app passed.
        kept = [m for m in app._lifespan_managers if not any(m is old for old in pooled.lifespan)]
        app._lifespan_managers = [*new, *kept]
        pooled.lifespan = new
        for name in list(app.state.dict()):
            delattr(app.state, name)
        for name, value in vars(shell.state).items():
            setattr(app.state, name, value)
        pooled.busy = True

    def release(self, app: Litestar) -> None:
        for pooled in (p for entries in self.apps.values() for p in entries):
            if pooled.app is app:
                pooled.busy = False


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

