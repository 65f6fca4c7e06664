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
