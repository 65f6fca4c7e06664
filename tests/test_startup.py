"""Start-up stays cheap: `hackatime-lite --help` loads no heavy library (the database engines, the web
framework, numpy, the HTTP client). bench/startup.py measures the times; this guards the imports that made
them slow. One subprocess (a fresh interpreter is the only honest sys.modules)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import hackatime_lite

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


# -- what `serve` builds before its first answer (app.py) --------------------------------------------------
def test_dashboard_registers_on_its_first_request(settings, store) -> None:
    """The dashboard (pages, static files, Jinja2) is registered before the first request outside the APIs and
    the docs (/schema: not asked here, generating the document costs half a second); requests there are
    answered before it is."""
    from litestar.testing import TestClient

    from hackatime_lite.app import HackatimeApp, bind, build_app

    app = build_app(settings)
    assert isinstance(app, HackatimeApp) and len(app.deferred) == 1
    with TestClient(bind(app, settings, store=store, start_scheduler=False)) as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/v1/users/current/statusbar/today").status_code == 401
        assert client.get("/api/no-such-route").status_code == 404
        assert len(app.deferred) == 1 and app.template_engine is None  # still nothing of the dashboard
        page = client.get("/login")
        assert page.status_code == 200 and "<form" in page.text
        assert app.deferred == () and app.template_engine is not None


def test_deferred_routes_cannot_answer_a_request_served_before_them(settings) -> None:
    """A request under the prefixes a deferred group lies outside is routed before the group is registered, so
    no route of the group may match any path there: each template's first segment is a fixed name outside them
    (a parameter there could match `/api/…`)."""
    from hackatime_lite.app import HackatimeApp, build_app

    app = build_app(settings)
    assert isinstance(app, HackatimeApp)
    [group] = app.deferred
    eager = {route.path for route in app._route_list}
    deferred = {route.path for route in app.routes} - eager  # reading `routes` registers the group
    assert app.deferred == () and {"/login", "/settings", "/static/{file_path:path}"} <= deferred
    for template in deferred:
        first = template.split("/")[1]
        assert template == "/" or (not first.startswith("{") and group.needed_for(f"/{first}")), template
        assert group.needed_for(template), template


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
