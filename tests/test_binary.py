"""The one-file executable, end to end: build it (scripts/build_binary.sh), serve a temp data dir on a free port,
send heartbeats with the real legacy client, read the status bar and a report, stop with SIGTERM.

Excluded from the default run (`-m binary`); set HACKATIME_BINARY=path to test an executable built earlier.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT, basic_auth, free_port
from tests.support.legacy_client import legacy_client_available, offline_queue_count, run_legacy_client

pytestmark = [
    pytest.mark.binary,
    pytest.mark.timeout(1200),
    pytest.mark.skipif(not legacy_client_available(), reason="wakatime==13.1.0 not installed"),
]


@pytest.fixture(scope="module")
def binary() -> Path:
    prebuilt = os.environ.get("HACKATIME_BINARY")
    if prebuilt:
        return Path(prebuilt).resolve()
    built = subprocess.run(
        ["bash", "scripts/build_binary.sh"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=1100
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    path = REPO_ROOT / "dist" / "hackatime-lite"
    assert path.stat().st_size < 80_000_000
    return path


def _run(binary: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(binary), *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


def test_smoke_get_answers_in_process(binary: Path, tmp_path: Path) -> None:
    done = _run(binary, "serve", "--get", "/api/health", "--data-dir", str(tmp_path / "data"))
    status, body = done.stdout.split("\n", 1)
    assert status == "200" and json.loads(body)["status"] == "ok"
    # Package data travels inside the executable (paths.web_root() under sys._MEIPASS).
    asset = _run(binary, "serve", "--get", "/static/app.js", "--data-dir", str(tmp_path / "data"))
    assert asset.stdout.startswith("200\n") and len(asset.stdout) > 1000
    assert "report" in _run(binary, "--help").stdout


def test_serves_legacy_client_status_bar_and_report(binary: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    _run(binary, "user", "create", "ada", "--data-dir", str(data))
    key = _run(binary, "key", "create", "ada", "--data-dir", str(data)).stdout.strip()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(binary), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the executable did not become healthy"
            time.sleep(0.1)
        # The heartbeats below go through serve's writer process: the executable starts itself as the child.
        while httpx.get(f"{url}/api/health", timeout=5).json()["database"].get("heartbeat_writer") != "process":
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the executable's heartbeat writer process did not start"
            time.sleep(0.1)

        source = tmp_path / "work" / "main.py"
        source.parent.mkdir()
        source.write_text("print('hello')\n")
        now = time.time()
        extra = [
            {
                "entity": str(source),
                "type": "file",
                "time": now - 600 + 60 * i,
                "project": "binproj",
                "is_write": True,
            }
            for i in range(5)
        ]
        sent = run_legacy_client(
            f"{url}/api/v1/users/current/heartbeats.bulk",
            key,
            str(source),
            home=tmp_path / "client-home",
            project="binproj",
            time=now - 60,
            extra_heartbeats=extra,
        )
        assert sent.returncode == 0, sent.stderr
        assert offline_queue_count(tmp_path / "client-home") == 0

        status = httpx.get(f"{url}/api/v1/users/current/statusbar/today", headers=basic_auth(key)).json()
        today = status["data"]["grand_total"]["total_seconds"]
        assert today > 0 and status["data"]["projects"][0]["name"] == "binproj"

        report = _run(
            binary, "report", "today", "--json", "-v", "--data-dir", str(data), env={"HACKATIME_API_KEY": key}
        )
        assert f"server {url}" in report.stderr
        assert json.loads(report.stdout)["total_seconds"] == pytest.approx(today)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0, (tmp_path / "server.log").read_text()
    assert not (data / "server.json").exists()
    with sqlite3.connect(data / "hackatime.sqlite3") as db:
        stored = db.execute("SELECT COUNT(*), MIN(project), MAX(project) FROM heartbeats").fetchone()
    assert stored == (6, "binproj", "binproj")


def test_unpacks_once_into_its_cache(binary: Path, tmp_path: Path) -> None:
    """The one file unpacks its build on the first start only (scripts/selfextract.sh): two first starts at once
    publish one copy (the other removes its own), a later start unpacks nothing, and a deleted copy is
    unpacked again."""
    cache = tmp_path / "cache"
    env = {**os.environ, "HACKATIME_CACHE_DIR": str(cache)}
    starts = [subprocess.Popen([str(binary), "--version"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for start in starts:
        out, err = start.communicate(timeout=300)
        assert start.returncode == 0 and out.startswith("hackatime-lite "), err
    [link] = [entry for entry in cache.iterdir() if entry.is_symlink()]
    assert sorted(cache.iterdir()) == sorted([link, link.resolve()])  # nothing left of the losing start
    unpacked = {path: path.stat().st_mtime_ns for path in link.resolve().rglob("*")}
    assert len(unpacked) > 100 and (link / "hackatime-lite").is_file()

    assert _run(binary, "--version", env={"HACKATIME_CACHE_DIR": str(cache)}).stdout.startswith("hackatime-lite ")
    assert sorted(cache.iterdir()) == sorted([link, link.resolve()])
    assert {path: path.stat().st_mtime_ns for path in link.resolve().rglob("*")} == unpacked

    shutil.rmtree(link.resolve())
    assert _run(binary, "--version", env={"HACKATIME_CACHE_DIR": str(cache)}).stdout.startswith("hackatime-lite ")
    assert (link / "hackatime-lite").is_file()
