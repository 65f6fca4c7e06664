"""Start-up stays cheap: `hackatime-lite --help` loads no heavy library (the database engines, the web
framework, numpy, the HTTP client). bench/startup.py measures the times; this guards the imports that made
them slow. One subprocess (a fresh interpreter is the only honest sys.modules)."""

from __future__ import annotations

import json
import subprocess
import sys

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
