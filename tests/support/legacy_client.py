"""Run the real legacy Python WakaTime client (``wakatime==13.1.0``) in tests.

The client is a CLI that sends one heartbeat per run (plus whatever it has
queued offline) and then exits; see ``tests/support/LEGACY_CLIENT.md`` for the
exact request it sends and which responses it treats as success.

Typical use::

    pytestmark = pytest.mark.skipif(
        not legacy_client_available(), reason="wakatime==13.1.0 not installed"
    )

    proc = run_legacy_client(f"{base}/api/v1/users/current/heartbeats.bulk",
                             api_key, str(src_file), home=tmp_path / "home")
    assert proc.returncode == 0
    assert offline_queue_count(tmp_path / "home") == 0
"""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

# Exit codes of wakatime/constants.py.
SUCCESS = 0
API_ERROR = 102  # non-2xx/connection error; heartbeats went to the offline queue
AUTH_ERROR = 104  # HTTP 401, or a --key that is not a UUID4 (rejected locally)

# sitecustomize.py that re-adds collections.Mapping & co. (removed in 3.10),
# which the client's vendored urllib3 still imports.
SHIM_DIR = Path(__file__).resolve().parent / "legacy_shim"

# Env vars that would reroute or reconfigure the client: requests honours the
# proxy variables even for 127.0.0.1; WAKATIME_HOME moves ~/.wakatime.{cfg,db,log}.
_DROPPED_ENV = {
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "WAKATIME_HOME",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
}


def legacy_client_available() -> bool:
    """True when the ``wakatime`` package is importable by this interpreter.

    Only locates the top-level package: importing it here would fail on
    Python >= 3.10 without the shim.
    """
    return importlib.util.find_spec("wakatime") is not None


def run_legacy_client(
    api_url: str,
    api_key: str,
    entity: str,
    *,
    home: Path,
    project: str | None = None,
    branch: str | None = None,
    language: str | None = None,
    hostname: str | None = None,
    time: float | None = None,
    plugin: str = "vim/9.0 vim-wakatime/11.0.0",
    write: bool = True,
    timeout: float = 30,
    extra_args: Sequence[str] = (),
    extra_heartbeats: list[dict] | None = None,
) -> subprocess.CompletedProcess:
    """Run the legacy client once and return the finished process.

    ``api_url`` is used verbatim as the POST URL (the client appends nothing),
    so pass the full ``.../users/current/heartbeats.bulk`` URL.
    ``entity`` must be an existing file: the client silently skips (exit 0,
    no request) heartbeats for missing files.  ``home`` becomes ``$HOME`` and
    receives ``.wakatime.db`` (offline queue) and ``.wakatime.log`` (verbose
    log, read it when a test fails); no ``.wakatime.cfg`` is needed.

    The client has no ``--branch`` flag: it reads the branch from
    ``.git/HEAD`` of an enclosing git repo, or from line 2 of a
    ``.wakatime-project`` file.  When ``branch`` is given we write such a file
    next to ``entity`` for the duration of the run (restoring any previous
    one); its line 1 is ``project`` (blank = fall back to ``--project``/git).
    ``project`` is otherwise passed as ``--project`` (beats git detection).

    ``extra_heartbeats`` (dicts with ``entity``, ``time``, ``is_write``,
    ``project``, ``language``...) are fed on stdin via ``--extra-heartbeats``
    and sent in the same bulk request (max 25 per request).
    """
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)

    # Module form instead of the `wakatime` console script: works from any
    # venv/interpreter that has the package, no PATH lookup.
    cmd = [
        sys.executable,
        "-m",
        "wakatime.cli",
        "--key",
        api_key,
        "--api-url",
        api_url,
        "--entity",
        entity,
        "--plugin",
        plugin,
        # Client-side HTTP timeout below ours, so a hung server yields exit
        # 102 + queued heartbeat instead of a killed subprocess.
        "--timeout",
        str(max(1, int(timeout // 2))),
        # Only affects ~/.wakatime.log inside the temp HOME.
        "--verbose",
    ]
    if write:
        cmd.append("--write")
    if project is not None:
        cmd += ["--project", project]
    if language is not None:
        cmd += ["--language", language]
    if hostname is not None:
        cmd += ["--hostname", hostname]  # only sent as X-Machine-Name header
    if time is not None:
        cmd += ["--time", repr(float(time))]  # note: 0 means "now" to the client
    if extra_heartbeats is not None:
        cmd.append("--extra-heartbeats")
    cmd += list(extra_args)

    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env["HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(SHIM_DIR)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    # The vendored pytz ships no zone database; only "UTC" resolves.  With it
    # the client sends a stable `TimeZone: UTC` header, without it none at all.
    env["TZ"] = "UTC"

    stdin = json.dumps(extra_heartbeats) + "\n" if extra_heartbeats is not None else ""

    project_file = Path(entity).resolve().parent / ".wakatime-project"
    previous = project_file.read_bytes() if project_file.exists() else None
    if branch is not None:
        project_file.write_text(f"{project or ''}\n{branch}\n", encoding="utf-8")
    try:
        return subprocess.run(
            cmd,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        if branch is not None:
            if previous is None:
                project_file.unlink(missing_ok=True)
            else:
                project_file.write_bytes(previous)


def offline_queue_count(home: Path) -> int:
    """Number of heartbeats waiting in the client's offline queue.

    The queue is table ``heartbeat_2`` (columns ``id``, ``heartbeat`` JSON) in
    ``$HOME/.wakatime.db``; the same file also caches a pickled HTTP session in
    table ``session``.  Missing file or table means nothing is queued.
    """
    db = Path(home) / ".wakatime.db"
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT COUNT(*) FROM heartbeat_2").fetchone()[0]
    except sqlite3.OperationalError:  # table not created yet
        return 0
    finally:
        conn.close()
