"""A real `hackatime-lite serve` process: health, acknowledged writes survive SIGTERM, exit status 0."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess, basic_auth


@pytest.mark.slow  # SIGTERM to a real server process
def test_sigterm_is_a_clean_exit_without_data_loss(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data").start()
    try:
        server.cli("user", "create", "sam")
        key = server.cli("key", "create", "sam").stdout.strip()
        health = httpx.get(server.url + "/api/health", timeout=5).json()
        assert health["status"] == "ok"
        assert (server.data_dir / "server.json").exists()
        now = time.time()
        acknowledged = 0
        for batch in range(10):
            items = [{"entity": f"f{batch}-{i}.py", "time": now - 600 + batch * 25 + i} for i in range(25)]
            response = httpx.post(f"{server.url}/api/v1/users/current/heartbeats.bulk", json=items,
                                  headers=basic_auth(key), timeout=10)
            assert response.status_code == 201
            acknowledged += sum(1 for _, status in response.json()["responses"] if status == 201)
    finally:
        exit_status = server.stop()
    assert exit_status == 0
    assert not (server.data_dir / "server.json").exists()
    conn = sqlite3.connect(server.data_dir / "hackatime.sqlite3")
    try:
        assert conn.execute("SELECT COUNT(*) FROM heartbeats").fetchone()[0] == acknowledged == 250
    finally:
        conn.close()
