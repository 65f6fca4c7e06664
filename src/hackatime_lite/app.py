"""The Litestar application: create_app(settings, *, store=None, clock=None, start_scheduler=True)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import threading
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin  # the document's route list is only reachable through it
from litestar.config.cors import CORSConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components
from litestar.routes import HTTPRoute
from litestar.types import LifeSpanReceive, LifeSpanScope, LifeSpanSend, Receive, Scope, Send

from hackatime_lite import __version__
from hackatime_lite.api.errors import EXCEPTION_HANDLERS
from hackatime_lite.api.native import hackatime as native_hackatime
from hackatime_lite.api.native import health
from hackatime_lite.api.openapi import SECURITY_SCHEMES
from hackatime_lite.api.wakatime import ALIASES, CANONICAL_BASE, heartbeats, misc, reads, resources
from hackatime_lite.config import Settings
from hackatime_lite.context import REPLICA_WAIT_SECONDS, AppContext, Clock
from hackatime_lite.store import StoreBackend, open_store
from hackatime_lite.web import template_config, web_handlers

if TYPE_CHECKING:
    from litestar.plugins import PluginProtocol
    from litestar.routes import ASGIRoute, WebSocketRoute
    from litestar.template.config import TemplateConfig

    from hackatime_lite.analytics.replica import Replica

log = logging.getLogger(__name__)
READ_THREADS = 40  # worker threads for blocking handlers (anyio's default limiter, which they used before)


class _LocalSwagger(SwaggerRenderPlugin):
    """Swagger UI from the package's static files (web/build.mjs copies it there), not from a CDN, so the docs
    page works offline and behind firewalls. Their URLs carry content hashes (web.render.asset), looked up at
    the first render: web.render brings Jinja2 and the dashboard's helpers, which a server need not import to
    start (issue 13)."""

    _resolved = False

    def render(self, request: Any, openapi_schema: dict[str, Any]) -> bytes:
        if not self._resolved:
            from hackatime_lite.web.render import asset

            self.js_url = asset("vendor/swagger-ui/swagger-ui-bundle.js")
            self.css_url = asset("vendor/swagger-ui/swagger-ui.css")
            self.standalone_preset_js_url = asset("vendor/swagger-ui/swagger-ui-standalone-preset.js")
            self.favicon = f'<link rel="icon" type="image/svg+xml" href="{asset("favicon.svg")}">'
            self._resolved = True
        return super().render(request, openapi_schema)


def _openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="hackatime-lite",
        version=__version__,
        path="/schema",
        render_plugins=[_LocalSwagger(path="/swagger")],
        components=Components(security_schemes=SECURITY_SCHEMES),
        use_handler_docstrings=True,  # each handler's docstring is its operation's description
    )


@dataclass(frozen=True)
class Deferred:
    """Route handlers that HackatimeApp registers only when first needed: before routing the first request
    whose path lies outside every prefix in `outside` (when given), under a prefix in `under`, or (under /api)
    has one of `segments` as a path segment — so every request a route of the group could answer registers it
    first, and any other request is routed alike with or without it (tests/test_startup.py checks both) — or
    when anyone reads the app's route list. `templates`, if given, makes the app's template engine at the same
    moment."""

    handlers: Callable[[], list[Any]]
    outside: tuple[str, ...] = ()
    templates: Callable[[], TemplateConfig[Any]] | None = None
    under: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()

    def needed_for(self, path: str) -> bool:
        if self.outside and not any(_is_under(path, prefix) for prefix in self.outside):
            return True
        if any(_is_under(path, prefix) for prefix in self.under):
            return True
        return bool(self.segments) and path.startswith("/api/") and any(
            segment in self.segments for segment in path.split("/"))


def _is_under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


# The dashboard's pages and static files lie outside the APIs and the OpenAPI document.
DASHBOARD_OUTSIDE = ("/api", "/schema")
# Every API group is needed for the OpenAPI document (/schema), which lists all of them.
DOCUMENT = "/schema"


def _native_handlers() -> list[Any]:
    from hackatime_lite.api.native import admin, ai, aliases, data, focus, mirrors, settings, webhooks, weekly

    return [*settings.HANDLERS, *mirrors.HANDLERS, *data.HANDLERS, *weekly.HANDLERS, *admin.HANDLERS,
            *aliases.HANDLERS, *ai.HANDLERS, *focus.HANDLERS, *webhooks.HANDLERS]


def _goals_and_teams_handlers() -> list[Any]:
    from hackatime_lite.api.wakatime import goals, teams

    return [*goals.HANDLERS, *teams.HANDLERS]


def _badge_handlers() -> list[Any]:
    from hackatime_lite.api.native import badges

    return list(badges.HANDLERS)


def _metrics_handlers() -> list[Any]:
    from hackatime_lite.api.native import metrics

    return list(metrics.HANDLERS)


def route_handlers(settings: Settings) -> list[Any]:
    """Every route the app serves. Registered at start-up: what editors and status bars call (heartbeats, the
    WakaTime reads and resources, Hackatime's extensions) and the health check. Registered on first use
    (Deferred; each group's first request pays ~10–60 ms once, on the event loop): the native API (settings,
    import/export, mirrors, aliases, webhooks, teams, admin …), goals and teams, badges, metrics — their modules
    import cryptography, ijson, anybadge, prometheus_client and more — and the dashboard (pages, Jinja2). That
    was ~0.2 s of CPU at `serve`'s start-up (issue 13). Each group's paths must satisfy its Deferred's rule
    (tests/test_startup.py checks every route of every group, under every base path)."""
    return [
        *heartbeats.HANDLERS, *misc.HANDLERS, *reads.HANDLERS, *resources.HANDLERS, *native_hackatime.HANDLERS,
        *health.HANDLERS,
        # All their paths lie under /api/native/v1.
        Deferred(_native_handlers, under=("/api/native", DOCUMENT)),
        # WakaTime's goals and teams (under every base path: the alias's path has the segment too), and the
        # native team routes under /api/native/v1/teams.
        Deferred(_goals_and_teams_handlers, under=("/api/native", DOCUMENT), segments=("goals", "teams")),
        Deferred(_badge_handlers, under=("/api/badge", "/api/compat/shields", DOCUMENT)),
        Deferred(_metrics_handlers, under=("/api/metrics", DOCUMENT)),
        Deferred(lambda: web_handlers(settings), DASHBOARD_OUTSIDE, template_config),
    ]


_PARAM = re.compile(r"\{\w+:(\w+)\}")


def _template_regex(template: str) -> str:
    """A route template as a regex of the paths it matches: `{name:path}` any rest, other parameters one segment."""
    out, at = [], 0
    for match in _PARAM.finditer(template):
        out += [re.escape(template[at:match.start()]), ".*" if match.group(1) == "path" else "[^/]+"]
        at = match.end()
    out.append(re.escape(template[at:]))
    return "".join(out)


class HackatimeApp(Litestar):
    """The Litestar app, plus the base-path aliases (api/wakatime/__init__.py): a request under an alias base
    whose rest matches a route registered under CANONICAL_BASE is routed as that canonical path, before
    anything else sees it, so its answer is the canonical route's in every respect. Any other path under an
    alias is left alone (a native route there, or Litestar's 404). Route groups given as `Deferred` among the
    route handlers are registered when first needed (see Deferred)."""

    aliases: Mapping[str, frozenset[str]] = MappingProxyType({})  # alias base → route suffixes served there (none until indexed)
    _alias_matchers: tuple[tuple[str, re.Pattern[str]], ...] = ()
    _deferred: tuple[Deferred, ...] = ()  # groups not registered yet
    _registering_in: int | None = None  # the thread registering deferred groups (Litestar reads `routes` meanwhile)
    _indexed = False  # index_aliases() has run: deferred groups registered later are indexed as they come
    _route_list: list[HTTPRoute | ASGIRoute | WebSocketRoute]

    def __init__(self, *, route_handlers: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(route_handlers=[h for h in route_handlers if not isinstance(h, Deferred)], **kwargs)
        self._deferred = tuple(h for h in route_handlers if isinstance(h, Deferred))
        self._deferred_lock = threading.Lock()

    @staticmethod
    def _get_default_plugins(plugins: list[PluginProtocol]) -> list[PluginProtocol]:
        """msgspec's plugin only. Litestar adds pydantic's and attrs' whenever those libraries are importable
        (dev tools and typer bring pydantic along), importing pydantic and attrs — ~0.2 s of CPU at `serve`'s
        start-up — for types that no handler takes or returns (msgspec structs and dataclasses:
        tests/test_startup.py checks; the OpenAPI document came out identical without them)."""
        from litestar.plugins.core import MsgspecDIPlugin

        return [*plugins, MsgspecDIPlugin()]

    # Litestar keeps the registered routes in `self.routes` (Router.__init__ assigns it, register() appends to
    # it). Whoever reads it from outside — route listings, the OpenAPI fuzzing and security tests — gets every
    # route, deferred ones included; Litestar's own reads while registering see the list as it is.
    @property
    def routes(self) -> list[HTTPRoute | ASGIRoute | WebSocketRoute]:
        if self._deferred and self._registering_in != threading.get_ident():
            self.register_deferred(*self._deferred)
        return self._route_list

    @routes.setter
    def routes(self, value: list[HTTPRoute | ASGIRoute | WebSocketRoute]) -> None:
        self._route_list = value

    @property
    def deferred(self) -> tuple[Deferred, ...]:
        """The route groups not registered yet."""
        return self._deferred

    def register_deferred(self, *groups: Deferred) -> None:
        """Register deferred route groups now (each once; the others stay deferred)."""
        with self._deferred_lock:  # two event loops (test clients) may share an app; the first registers
            pending = [group for group in groups if group in self._deferred]
            if not pending:
                return
            self._registering_in = threading.get_ident()
            try:
                for group in pending:
                    if group.templates is not None:
                        self.template_engine = group.templates().engine_instance
                    for handler in group.handlers():
                        self.register(handler)
                    self._deferred = tuple(g for g in self._deferred if g is not group)
                if self._indexed:
                    self.index_aliases()  # a group's WakaTime routes are served under the alias bases too
            finally:
                self._registering_in = None

    def index_aliases(self) -> HackatimeApp:
        """Serve the aliases of the routes registered so far (call it once they all are); returns the app."""
        registered = {route.path for route in self._route_list}  # the APIs: no deferred group holds an alias
        canonical = {path[len(CANONICAL_BASE):] for path in registered
                     if path == CANONICAL_BASE or path.startswith(CANONICAL_BASE + "/")}
        # Litestar drops a trailing slash from templates ("" for the base itself stays "").
        self.aliases = {base: frozenset(s for s in suffixes if s.rstrip("/") in canonical)
                        for base, suffixes in ALIASES.items()}
        # Longest base first: "/api/hackatime/v1/…" is that alias's before it is "/api"'s. A trailing slash is
        # kept, so Litestar treats it under an alias as it does under the canonical base.
        self._alias_matchers = tuple(
            (base, re.compile("(?:" + "|".join(sorted(_template_regex(s) for s in suffixes)) + ")/?"))
            for base, suffixes in sorted(self.aliases.items(), key=lambda item: -len(item[0])) if suffixes)
        self._document_aliases()
        self._indexed = True
        return self

    def _document_aliases(self) -> None:
        """Put every alias in the OpenAPI document as its own path, as when each was a registered route: the
        document stays what clients and generators saw (one operation per base path, operationIds by path).
        The alias routes share the canonical route's handlers and parameter models; the router never sees them."""
        plugin = self.plugins.get(OpenAPIPlugin)
        for route in list(plugin.included_routes.values()):
            if not route.path.startswith(CANONICAL_BASE):
                continue
            suffix = route.path[len(CANONICAL_BASE):]
            for base, suffixes in self.aliases.items():
                if suffix in suffixes:
                    alias = HTTPRoute(path=base + suffix, route_handlers=list(route.route_handlers))
                    alias.route_handler_map = route.route_handler_map
                    plugin.included_routes[alias.path] = alias

    def canonical_path(self, path: str) -> str | None:
        """The canonical path a request for `path` is routed as, or None when `path` is no alias."""
        if not path.startswith("/api") or path.startswith(CANONICAL_BASE):
            return None  # the dashboard, or already canonical (no alias's suffix starts with "/v1")
        for base, matcher in self._alias_matchers:
            if path.startswith(base) and matcher.fullmatch(path, len(base)):
                return CANONICAL_BASE + path[len(base):]
        return None

    async def __call__(self, scope: Scope | LifeSpanScope, receive: Receive | LifeSpanReceive,
                       send: Send | LifeSpanSend) -> None:
        if scope["type"] != "lifespan":
            path = scope["path"]
            # Behind a proxy's root path (ASGI puts it at the front of `path`) the base paths follow it.
            root = scope.get("root_path") or ""
            start = len(root) if root and path.startswith(root) else 0
            if self._deferred:
                needed = [group for group in self._deferred if group.needed_for(path[start:])]
                if needed:
                    # On the event loop, before routing: ~0.1 s once, for the first dashboard request.
                    self.register_deferred(*needed)
            canonical = self.canonical_path(path[start:] if start else path)
            if canonical is not None:
                end = len(path) - (len(canonical) - len(CANONICAL_BASE))  # where the alias base ends
                raw = scope.get("raw_path") or b""
                # The raw path keeps the client's escaping of the rest; only the (plain ASCII) base is swapped.
                scope["raw_path"] = (raw[:start] + CANONICAL_BASE.encode() + raw[end:]
                                     if raw[:end] == path[:end].encode() else
                                     (path[:start] + canonical).encode())
                scope["path"] = path[:start] + canonical
        await super().__call__(scope, receive, send)


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    handler: str  # "module:function"
    alias_of: str | None = None  # the canonical path this base-path alias is served as


def route_table(settings: Settings) -> list[RouteInfo]:
    """The routes of an app built for `settings`, without opening its store (for `hackatime-lite routes`)."""
    return describe_routes(HackatimeApp(route_handlers=route_handlers(settings), openapi_config=None,
                                        logging_config=None).index_aliases())


def _qualified_name(fn: Any) -> str:
    # Litestar wraps some handlers (static files: AsyncCallable.func) and decorators set __wrapped__.
    while not hasattr(fn, "__qualname__") or hasattr(fn, "__wrapped__"):
        inner = getattr(fn, "__wrapped__", None) or getattr(fn, "func", None)
        if inner is None:
            fn = type(fn)
            break
        fn = inner
    return f"{fn.__module__}:{fn.__qualname__}"


def describe_routes(app: Litestar) -> list[RouteInfo]:
    """One row per (method, path) the app answers, with the function that answers it, sorted by path."""
    rows: set[RouteInfo] = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):  # plain ASGI mounts have none
            where = _qualified_name(handler.fn)
            if where.startswith("litestar.routes."):
                continue  # the OPTIONS answers Litestar adds to every path; nothing of ours runs there
            methods = sorted(getattr(handler, "http_methods", None) or {"WS"})
            rows.update(RouteInfo(method, route.path, where) for method in methods)
    # Every alias of a canonical route, so a URL under any base path leads to its handler too.
    aliases = getattr(app, "aliases", {})
    for row in list(rows):
        if row.path.startswith(CANONICAL_BASE):
            suffix = row.path[len(CANONICAL_BASE):]
            rows.update(RouteInfo(row.method, base + suffix, row.handler, row.path)
                        for base, suffixes in aliases.items() if suffix in suffixes)
    return sorted(rows, key=lambda r: (r.path, r.method))


@dataclass
class _Instance:
    """What bind() attached to an app: the context its handlers read and what its lifespan starts and stops."""

    ctx: AppContext
    start_scheduler: bool
    extra_startup: list[Callable[[AppContext], Any]]
    owns_store: bool


@asynccontextmanager
async def _lifespan(app: Litestar) -> AsyncGenerator[None, None]:
    instance: _Instance = app.state.instance
    ctx = instance.ctx
    app.state.ctx = ctx
    # Blocking handlers (api/params.in_thread) run on the loop's default executor: as many threads as anyio's
    # limiter allowed (40) rather than asyncio's cpu + 4, so a few slow reads cannot queue every status bar.
    # The loop shuts it down when it closes.
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="hackatime-read"))
    for hook in instance.extra_startup:
        hook(ctx)
    if instance.start_scheduler:
        from hackatime_lite.jobs.registry import start_jobs

        start_jobs(ctx)  # last: the jobs see everything above; stopped first via on_shutdown
    try:
        yield
    finally:
        ctx.shutdown()
        if instance.owns_store:
            ctx.store.close()


def _http_metrics_middleware() -> type[Any]:
    from hackatime_lite.metrics.http import HttpMetricsMiddleware

    return HttpMetricsMiddleware


def build_app(settings: Settings) -> Litestar:
    """The app's routes, templates, OpenAPI document and error mapping for `settings`, with no instance yet;
    bind() attaches one. Building is most of create_app's cost (Litestar registers every route) and depends on
    the settings alone, so one app can serve one instance after another: the test suite builds an app per
    process and binds a fresh instance to it for every test."""
    return HackatimeApp(
        route_handlers=route_handlers(settings),  # the dashboard's Deferred group brings the template config
        lifespan=[_lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=_openapi_config(),
        cors_config=CORSConfig(
            allow_origins=["*"], allow_methods=["GET", "OPTIONS"], allow_credentials=False
        ),
        request_max_body_size=settings.max_body_bytes,
        debug=False,
        # Request counts and latency by route (metrics/http.py): only when metrics are on, else no cost at all.
        middleware=[DefineMiddleware(_http_metrics_middleware())] if settings.metrics_enabled else None,
        # Logging is the process's business (server.serve configures it): Litestar's default config would put
        # a stderr handler on the root logger of whatever process builds an app (the CLI, tests).
        logging_config=None,
    ).index_aliases()


def bind(
    app: Litestar,
    settings: Settings,
    *,
    store: StoreBackend | None = None,
    clock: Clock | None = None,
    start_scheduler: bool = True,
    extra_startup: list[Callable[[AppContext], Any]] | None = None,
    replica: Replica | None = None,
) -> Litestar:
    """Attach a new instance (its AppContext: store, replica, clock, …) to `app`, an app from build_app(settings)
    that no running instance uses; the app's lifespan starts and stops it. A store or replica passed in stays
    owned by the caller; those created here close with the app."""
    owns_store = store is None
    if store is None:
        store = open_store(settings)
    owns_replica = replica is None
    if replica is None:
        replica = open_replica(store, settings)
    return _attach(app, settings, store, owns_store, replica, owns_replica, clock=clock,
                   start_scheduler=start_scheduler, extra_startup=extra_startup)


def open_replica(store: StoreBackend, settings: Settings) -> Replica:
    """Open (or build) the node's replica. `reports` is imported first, which imports the analytics in their
    usual order: a request thread importing it meanwhile (api/lazy.py) waits on the same first module instead of
    meeting this thread's imports halfway."""
    import hackatime_lite.reports  # noqa: F401  # the analytics, in import order (see above)
    from hackatime_lite.analytics.replica import Replica

    return Replica(store, settings)


def _attach(app: Litestar, settings: Settings, store: StoreBackend, owns_store: bool, replica: Replica | None,
            owns_replica: bool, *, clock: Clock | None, start_scheduler: bool,
            extra_startup: list[Callable[[AppContext], Any]] | None,
            opening: _ReplicaOpening | None = None) -> Litestar:
    """The instance for `app`: its context with `replica`, or (None) the one `opening` resolves to (owned)."""
    ctx = AppContext(settings=settings, store=store)
    if clock is not None:
        ctx.clock = clock
        ctx.started_at = clock()
    if replica is not None:
        if owns_replica:
            ctx.shutdown_hooks.append(replica.close)  # a replica passed in stays owned by the caller
        _use_replica(ctx, replica)
    elif opening is not None:
        ctx.replica_opening = opening
        ctx.health_probes["replica"] = functools.partial(_opening_health, opening)
        ctx.shutdown_hooks.append(opening.close)
        opening.add_done_callback(functools.partial(_opened, ctx))
    if settings.metrics_enabled:
        from hackatime_lite.metrics import install_metrics  # prometheus_client: only when metrics are on

        install_metrics(ctx)
    app.state.instance = _Instance(ctx, start_scheduler, list(extra_startup or ()), owns_store)
    app.state.ctx = ctx
    return app


def create_app(
    settings: Settings,
    *,
    store: StoreBackend | None = None,
    clock: Clock | None = None,
    start_scheduler: bool = True,
    extra_startup: list[Callable[[AppContext], Any]] | None = None,
    replica: Replica | None = None,
    replica_behind: bool = False,
) -> Litestar:
    """Build the app with its instance. A store passed in stays owned by the caller; one created here closes
    with the app.

    The replica opens in a thread while Litestar builds the app: DuckDB opens and checks the file with the GIL
    released, so the two overlap on a second core; both are done before the app is returned. With
    `replica_behind` (`serve`) the app is returned without it: the replica opens — or is rebuilt, for minutes on
    a large database — in a thread started by the first read that needs it or REPLICA_OPEN_DELAY seconds after
    start-up, whichever comes first (_ReplicaOpening), while the server answers. Health and heartbeats need no
    replica; every read waits for it (AppContext.require_replica: up to REPLICA_WAIT_SECONDS, then 503 with
    Retry-After), so its freshness rule is unchanged. The health check shows it as opening until then."""
    owns_store = store is None
    if store is None:
        store = open_store(settings)
    opening = _ReplicaOpening(store, settings) if replica is None else None
    if opening is not None and not replica_behind:
        opening.start()
    try:
        app = build_app(settings)
        if opening is not None and not replica_behind:
            replica = opening.result()
    except BaseException:
        if opening is not None:
            opening.close()
        if owns_store:
            store.close()
        raise
    if opening is not None and replica_behind:
        opening.start_after(REPLICA_OPEN_DELAY)
        return _attach(app, settings, store, owns_store, None, True, clock=clock, start_scheduler=start_scheduler,
                       extra_startup=extra_startup, opening=opening)
    return _attach(app, settings, store, owns_store, replica, opening is not None, clock=clock,
                   start_scheduler=start_scheduler, extra_startup=extra_startup)


def _use_replica(ctx: AppContext, replica: Replica) -> None:
    ctx.replica = replica
    ctx.health_probes["replica"] = replica.health
    replica.on_change = ctx.live.users_changed  # live dashboards hear of rows a sync copied (other nodes' too)


def _opened(ctx: AppContext, opening: Future[Replica]) -> None:
    """The replica opened behind the app (create_app, replica_behind) is ready, or could not be opened."""
    failure = opening.exception()
    if failure is None:
        _use_replica(ctx, opening.result())
        return
    log.error("the analytics replica could not be opened; coding-time reads answer 503: %s", failure)
    ctx.health_probes["replica"] = lambda: {"status": "error", "error": "the analytics replica could not be opened"}


def _opening_health(opening: _ReplicaOpening) -> dict[str, object]:
    if opening.done() and opening.exception() is None:
        return opening.result().health()
    return {"status": "ok", "opening": True}  # heartbeats are accepted; reads wait for it


# Seconds after `serve`'s start-up at which the replica opens if no read asked for it first: its imports and
# DuckDB's open (~0.15 s of CPU, seconds to minutes for a rebuild) come after the first answers, not before.
REPLICA_OPEN_DELAY = 1.0


class _ReplicaOpening(Future["Replica"]):
    """The replica an app opens in a thread of its own: at once (start(), while create_app builds the app) or, for a
    starting server, on first need: by the first result() (a read: AppContext.require_replica) or start_after()'s
    delay, whichever comes first."""

    def __init__(self, store: StoreBackend, settings: Settings) -> None:
        super().__init__()
        self._store, self._settings = store, settings
        self._lock = threading.Lock()
        self._started = False
        self._closed = threading.Event()

    def start(self) -> None:
        with self._lock:
            if self._started or self._closed.is_set():
                return
            self._started = True
        threading.Thread(target=self._open, name="replica-open", daemon=True).start()

    def start_after(self, delay: float) -> None:
        def later() -> None:
            if not self._closed.wait(delay):
                self.start()

        threading.Thread(target=later, name="replica-open-later", daemon=True).start()

    def _open(self) -> None:
        try:
            self.set_result(open_replica(self._store, self._settings))
        except BaseException as exc:  # handed to whoever waits on it
            self.set_exception(exc)

    def result(self, timeout: float | None = None) -> Replica:
        self.start()
        return super().result(timeout)

    def close(self) -> None:
        """At shutdown: no open from now on; one under way is waited for (up to REPLICA_WAIT_SECONDS: a rebuild cut
        short by the exit leaves a file without its marks, which the next start builds again) and its replica
        closed."""
        with self._lock:
            self._closed.set()
            started = self._started
        if started:
            with contextlib.suppress(BaseException):
                super().result(timeout=REPLICA_WAIT_SECONDS).close()
