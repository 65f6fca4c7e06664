"""Start-up stays cheap: `hackatime-lite --help` loads no heavy library (the database engines, the web
framework, numpy, the HTTP client). bench/startup.py measures the times; this guards the imports that made
them slow. One subprocess (a fresh interpreter is the only honest sys.modules)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import hackatime_lite
from tests.conftest import basic_auth

# What --help must not load: each costs from tens to hundreds of milliseconds, and none is needed to print
# the command list. Commands import them when they run.
HEAVY = ("duckdb", "litestar", "uvicorn", "numpy", "sqlite_utils", "httpx", "argon2", "jinja2", "cryptography")

_PROBE = """
import io, json, sys
from contextlib import redirect_stdout
sys.argv = ["hackatime-lite", "--help"]
from hackatime_lite.cli import main
out = io.StringIO()
try:
    with redirect_stdout(out):
        main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "help": out.getvalue(),
                  "loaded": sorted({name.partition(".")[0] for name in sys.modules})}))
"""


@pytest.mark.slow  # a fresh interpreter is the point (~0.5 s of CPU): test.sh's second step runs it
def test_help_loads_no_heavy_library() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60,
                          env={"COLUMNS": "100", "PATH": "", "TERM": "dumb"})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, None)
    # It did print the help (every command group is listed), so the guard is about a real run.
    for command in ("serve", "report", "users", "migrate"):
        assert command in result["help"]
    loaded = set(result["loaded"])
    assert "hackatime_lite" in loaded and "typer" in loaded
    assert sorted(loaded & set(HEAVY)) == []


def test_serve_banner_is_what_rich_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    """cli/fast.py prints `serve`'s banner without rich when rich would print the line unchanged; the output
    must be rich's own for every kind of line (plain, markup, emoji code, too long to fit)."""
    from rich.console import Console

    from hackatime_lite.cli.fast import print_line

    for name in ("NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    lines = [
        "hackatime-lite 0.1.0 on http://127.0.0.1:3000 (data: /srv/hackatime/data)",
        "hackatime-lite 0.1.0 on http://localhost:8080 (data: /tmp/[bold]x[/bold])",
        "hackatime-lite 0.1.0 on http://127.0.0.1:3000 (data: /tmp/:fire:/data)",
        "hackatime-lite 0.1.0 on http://127.0.0.1:3000 (data: /a/very/long/path/" + "x" * 60 + ")",
    ]
    for line in lines:
        outputs = []
        for printer in (print_line, lambda text: Console().print(text, highlight=False)):
            out = io.StringIO()
            monkeypatch.setattr(sys, "stdout", out)
            printer(line)
            outputs.append(out.getvalue())
        monkeypatch.setattr(sys, "stdout", sys.__stdout__)
        assert outputs[0] == outputs[1], line


def test_server_modules_import_no_client_library_at_module_level() -> None:
    """What `serve` imports before its first answer loads no HTTP client or terminal renderer: the mirror, webhooks
    and importers import httpx when they send, and the banner is printed without rich (cli/fast.py). Read from
    the source: importing the app here would cost a second of CPU."""
    package = Path(hackatime_lite.__file__).parent
    # Module-level imports start a line; function bodies and TYPE_CHECKING blocks indent theirs.
    pattern = re.compile(r"^(?:import|from) (?:httpx|rich|typer|pygments)\b", re.MULTILINE)
    found = [str(path.relative_to(package)) for path in sorted(package.rglob("*.py"))
             if path.relative_to(package).parts[0] != "cli"  # commands import what they print with
             and pattern.search(path.read_text())]
    assert found == []


_SERVE_PROBE = """
import json, sys
import hackatime_lite.app, hackatime_lite.server
print(json.dumps(sorted({name.partition(".")[0] for name in sys.modules} | {name for name in sys.modules
                                                                          if name.startswith("hackatime_lite.")})))
"""


@pytest.mark.slow  # a fresh interpreter is the point (~0.4 s of CPU): test.sh's second step runs it
def test_serve_imports_no_analytics_before_its_first_answer() -> None:
    """The app and the server load without the analytics (numpy, DuckDB, the replica, `reports`): `serve` opens the
    replica behind its first answers (app.create_app, replica_behind), and the read handlers import `reports` on
    first use (api/lazy.py)."""
    done = subprocess.run([sys.executable, "-c", _SERVE_PROBE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "litestar" in loaded and "hackatime_lite.api.wakatime.reads" in loaded  # the read routes did load
    assert sorted(loaded & {"numpy", "duckdb", "hackatime_lite.reports", "hackatime_lite.analytics.replica"}) == []


# -- what `serve` builds before its first answer (app.py) --------------------------------------------------
def _dashboard(app):
    [group] = [group for group in app.deferred if group.templates is not None]
    return group


def test_dashboard_registers_on_its_first_request(settings, store) -> None:
    """The dashboard (pages, static files, Jinja2) is registered before the first request outside the APIs and
    the docs (/schema: not asked here, generating the document costs half a second); requests there are
    answered before it is."""
    from litestar.testing import TestClient

    from hackatime_lite.app import HackatimeApp, bind, build_app

    app = build_app(settings)
    assert isinstance(app, HackatimeApp)
    dashboard = _dashboard(app)
    with TestClient(bind(app, settings, store=store, start_scheduler=False)) as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/v1/users/current/statusbar/today").status_code == 401
        assert client.get("/api/no-such-route").status_code == 404
        assert dashboard in app.deferred and app.template_engine is None  # still nothing of the dashboard
        page = client.get("/login")
        assert page.status_code == 200 and "<form" in page.text
        assert dashboard not in app.deferred and app.template_engine is not None


def _sample_path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", template)


def test_deferred_routes_cannot_answer_a_request_served_before_them(settings) -> None:
    """A request no deferred group is needed for is routed before the group is registered, so no route of the
    group may match it: every route of every group (under every alias base, for WakaTime routes) satisfies
    the group's rule on its fixed text alone — the dashboard's first segment is a fixed name outside the APIs
    (a parameter there could match `/api/…`); an API group's prefix or segment is fixed text of the template —
    so every path the route matches satisfies it too."""
    from hackatime_lite.api.wakatime import ALIASES, CANONICAL_BASE
    from hackatime_lite.app import HackatimeApp, build_app

    app = build_app(settings)
    assert isinstance(app, HackatimeApp) and len(app.deferred) >= 2
    eager = {route.path for route in app._route_list}
    for group in app.deferred:
        before = {route.path for route in app._route_list}
        app.register_deferred(group)
        added = {route.path for route in app._route_list} - before
        assert added, group
        for template in added:
            if group.outside:  # the dashboard
                first = template.split("/")[1]
                assert template == "/" or (not first.startswith("{") and group.needed_for(f"/{first}")), template
            paths = [template]
            if template.startswith(CANONICAL_BASE):
                suffix = template[len(CANONICAL_BASE):]
                paths += [base + suffix for base, suffixes in ALIASES.items() if suffix in suffixes]
            for path in paths:
                assert group.needed_for(path) and group.needed_for(_sample_path(path)), (template, path)
    assert app.deferred == ()
    # What start-up registers includes the routes editors call, which no deferred group takes over.
    assert {"/api/health", "/api/v1/users/{user:str}/heartbeats.bulk",
            "/api/v1/users/{user:str}/statusbar/today"} <= eager


def test_each_deferred_api_group_registers_on_its_first_request(settings, store) -> None:
    """A request to a route of a deferred API group, under any base path, is answered as when the group was
    registered at start-up: it registers the group (only that one) before routing. The health check, the
    status bar and heartbeats register none."""
    from litestar.testing import TestClient

    from hackatime_lite.app import bind, build_app

    user = store.create_user("startup")
    _, key = store.create_api_key(user.id)
    auth = basic_auth(key)
    app = build_app(settings)
    pending = len(app.deferred)
    with TestClient(bind(app, settings, store=store, start_scheduler=False)) as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/v1/users/current/statusbar/today", headers=auth).status_code == 200
        done = client.post("/api/v1/users/current/heartbeats.bulk", headers=auth,
                           json=[{"entity": "a.py", "time": 1_700_000_000, "type": "file"}])
        assert done.status_code == 201, done.text
        assert len(app.deferred) == pending
        # An alias of a deferred WakaTime route: the group registers, then the alias is served as /api/v1 is.
        goals = client.get("/api/hackatime/v1/users/current/goals", headers=auth)
        assert goals.status_code == 200 and goals.json() == client.get(
            "/api/v1/users/current/goals", headers=auth).json()
        assert len(app.deferred) == pending - 1
        native = client.get("/api/native/v1/settings", headers=auth)
        assert native.status_code == 200 and native.json()["data"]["username"] == "startup"
        assert client.get("/api/native/v1/settings").status_code == 401
        assert client.post("/api/native/v1/settings", headers=auth).status_code == 405  # routed, not 404
        assert len(app.deferred) == pending - 2
        badge = client.get(f"/api/badge/{user.username}/today")
        # The badge route's own answer (the user shares nothing), not Litestar's 404.
        assert (badge.status_code, badge.json()) == (403, {"error": "this user does not share their stats"})
        assert len(app.deferred) == pending - 3


def _foreign_types(annotation: object, seen: set[int]) -> set[str]:
    """Modules of pydantic or attrs types reachable from a handler's annotation (generic arguments, dataclass
    and msgspec struct fields)."""
    import dataclasses
    import typing

    import msgspec

    if id(annotation) in seen:
        return set()
    seen.add(id(annotation))
    found = set()
    module = getattr(annotation, "__module__", "") or ""
    if module.partition(".")[0] in ("pydantic", "pydantic_core", "attr", "attrs"):
        found.add(module)
    if getattr(annotation, "__attrs_attrs__", None) is not None:
        found.add(module)
    inner: list[object] = list(typing.get_args(annotation))
    if isinstance(annotation, type):
        if dataclasses.is_dataclass(annotation):
            inner += typing.get_type_hints(annotation).values()
        elif issubclass(annotation, msgspec.Struct):
            inner += [field.type for field in msgspec.structs.fields(annotation)]
    for item in inner:
        found |= _foreign_types(item, seen)
    return found


def test_no_handler_takes_or_returns_pydantic_or_attrs_types(client) -> None:
    """HackatimeApp leaves out Litestar's pydantic and attrs plugins (importing them cost ~0.2 s of CPU at `serve`'s
    start-up): they only act on such types, and no handler takes or returns one."""
    plugins = {type(plugin).__module__ for plugin in client.app.plugins}
    assert not {name for name in plugins if "pydantic" in name or "attrs" in name}, plugins
    seen: set[int] = set()
    found = set()
    for route in client.app.routes:
        for handler in getattr(route, "route_handlers", ()):
            signature = handler.parsed_fn_signature
            for field in [signature.return_type, *signature.parameters.values()]:
                found |= _foreign_types(field.annotation, seen)
    assert found == set()


def test_serve_starts_the_jobs_behind_its_first_answers(settings, store, monkeypatch) -> None:
    """`serve` starts the scheduler in a thread once the app is up (server._start_jobs_behind, after
    JOBS_START_DELAY): the health check answers meanwhile (the scheduler shown as starting, status ok), the jobs
    then run as with the lifespan's own start, and shutdown stops them — also when it comes before the start."""
    from litestar.testing import TestClient

    from hackatime_lite import server
    from hackatime_lite.server import _start_jobs_behind

    monkeypatch.setattr(server, "JOBS_START_DELAY", 0.0)
    from tests.app_pool import pooled_app
    from tests.mirror_helpers import wait_until

    with pooled_app(settings, store=store, start_scheduler=False, extra_startup=[_start_jobs_behind]) as app, \
            TestClient(app) as client:
        ctx = client.app.state.ctx
        first = client.get("/api/health")
        assert first.status_code == 200 and first.json()["scheduler"]["status"] == "ok"
        scheduler = wait_until(lambda: ctx.scheduler)
        assert wait_until(lambda: client.get("/api/health").json()["scheduler"].get("jobs") == len(scheduler.job_names))
        assert wait_until(lambda: scheduler._threads and all(thread.is_alive() for thread in scheduler._threads))
        threads = list(scheduler._threads)
    assert scheduler.stopping.is_set() and not any(thread.is_alive() for thread in threads)

    # Shut down at once: a start not begun is cancelled, one under way waited for, and whatever it started stopped.
    monkeypatch.setattr(server, "JOBS_START_DELAY", 3600.0)
    with pooled_app(settings, store=store, start_scheduler=False, extra_startup=[_start_jobs_behind]) as app, \
            TestClient(app) as client:
        ctx = client.app.state.ctx
    if ctx.scheduler is not None:
        assert ctx.scheduler.stopping.is_set() and not any(t.is_alive() for t in ctx.scheduler._threads)
    assert wait_until(lambda: not [t for t in threading.enumerate() if t.name == "scheduler-start"], timeout=10)


def test_serve_collects_nothing_while_it_starts_and_collects_again_once_up(settings, monkeypatch) -> None:
    """server.serve pauses the collector while start-up imports and builds (it found next to nothing there, at
    ~60–100 ms of CPU), freezes what start-up built, and serves with the collector on again."""
    import gc

    from hackatime_lite import server

    seen: dict[str, object] = {}

    def run(self) -> None:  # uvicorn's run, not started: what it would start with
        seen.update(enabled=gc.isenabled(), frozen=gc.get_freeze_count(), app=self.config.app)

    monkeypatch.setattr(server._GracefulServer, "run", run)
    from hackatime_lite import app as app_module

    def create_app(*args, real=app_module.create_app, **kwargs):
        seen["collecting_while_building"] = gc.isenabled()
        return real(*args, **kwargs)

    monkeypatch.setattr(app_module, "create_app", create_app)
    try:
        server.serve(settings, start_scheduler=False)
    finally:
        gc.unfreeze()  # the test process's objects go back to the collector
    assert seen["collecting_while_building"] is False and seen["enabled"] is True and seen["frozen"] > 10_000
    assert gc.isenabled()
    seen["app"].state.ctx.shutdown()
    seen["app"].state.ctx.store.close()
