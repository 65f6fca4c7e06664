"""The real legacy WakaTime client (wakatime==13.1.0) against a real `hackatime-lite serve` process."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.conftest import ServerProcess
from tests.support.legacy_client import legacy_client_available, offline_queue_count, run_legacy_client


def test_legacy_client_is_installed() -> None:
    # The test extra pins wakatime==13.1.0; a missing client must fail loudly, not skip.
    assert legacy_client_available()


@pytest.mark.slow  # the real client process against a real server process
def test_legacy_client_round_trip_and_dedup(server: ServerProcess, tmp_path: Path) -> None:
    server.cli("user", "create", "vimmer")
    key = server.cli("key", "create", "vimmer").stdout.strip()
    project_dir = tmp_path / "work" / "myproj"
    project_dir.mkdir(parents=True)
    source = project_dir / "main.py"
    source.write_text("print('hi')\n")
    when = time.time() - 60
    home = tmp_path / "home"

    answers = [
        run_legacy_client(f"{server.url}/api/v1", key, str(source), home=home, project="myproj", branch="feature-x",
                          language="Python", hostname="build-box", time=when)
        for _ in range(2)
    ]
    for proc in answers:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert offline_queue_count(home) == 0

    conn = sqlite3.connect(server.data_dir / "hackatime.sqlite3")
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute("SELECT * FROM heartbeats").fetchall()
    finally:
        conn.close()
    assert len(rows) == 1  # the second run's identical heartbeat was deduplicated
    row = rows[0]
    assert row["entity"] == str(source.resolve())
    assert (row["project"], row["branch"], row["language"]) == ("myproj", "feature-x", "Python")
    assert row["editor"].lower() == "vim"
    assert row["operating_system"].lower() == "linux"
    assert row["machine"] == "build-box"
    assert abs(row["time"] - when) < 0.001
    assert row["is_write"] == 1
