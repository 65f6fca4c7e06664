"""One server per data dir: the OS lock, and what a second `serve` on a data dir in use does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from hackatime_lite.analytics.replica import Replica
from hackatime_lite.config import Settings
from hackatime_lite.runtime import DataDirInUse, DataDirLock, read_server_file, write_server_file
from hackatime_lite.store import Store
from tests.conftest import ServerProcess, free_port


def test_a_second_lock_on_a_data_dir_is_refused_and_names_the_holder(tmp_path: Path) -> None:
    paths = Settings(data_dir=str(tmp_path)).paths
    write_server_file(paths.server_file, "http://127.0.0.1:3999")
    with DataDirLock(paths.lock_file, paths.server_file):
        # flock conflicts between two open files even inside one process, so this is the real check.
        with pytest.raises(DataDirInUse) as refused:
            DataDirLock(paths.lock_file, paths.server_file).acquire()
        assert f"pid {os.getpid()}" in str(refused.value)
        assert "http://127.0.0.1:3999" in str(refused.value)
    # Released on exit: the next server may start.
    DataDirLock(paths.lock_file, paths.server_file).acquire().release()


def test_server_file_is_ignored_when_its_process_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "server.json"
    path.write_text(json.dumps({"pid": 2**22 + 12345, "url": "http://127.0.0.1:1"}))
    assert read_server_file(path) is None


@pytest.mark.slow
def test_second_serve_on_a_data_dir_in_use_exits_1_and_leaves_the_first_alone(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path / "data").start()
    try:
        server_json = (first.data_dir / "server.json").read_text()
        second = subprocess.run(
            [sys.executable, "-m", "hackatime_lite", "serve", "--host", "127.0.0.1", "--port", str(free_port()),
             "--data-dir", str(first.data_dir)],
            capture_output=True, text=True, timeout=120,
        )
        assert second.returncode == 1, second.stdout + second.stderr
        assert f"pid {first.proc.pid}" in second.stderr  # type: ignore[union-attr]
        assert first.url in second.stderr
        # The first server keeps serving, and CLI discovery still finds it.
        assert (first.data_dir / "server.json").read_text() == server_json
        assert httpx.get(first.url + "/api/health", timeout=10).status_code == 200
        info = read_server_file(first.data_dir / "server.json")
        assert info is not None and info["url"] == first.url
    finally:
        assert first.stop() == 0


@pytest.mark.slow  # another process is the point: test.sh's second step runs it
def test_the_replica_stays_locked_against_other_processes_while_open(store: Store, settings: Settings) -> None:
    # DuckDB's POSIX lock on the file would be dropped if this process ever opened and closed the file on the
    # side (health and sync checks do look at it): another process could then open and write the replica.
    with Replica(store, settings) as replica:
        replica.sync()
        assert replica.health()["status"] == "ok"
        replica.sync()
        probe = subprocess.run([sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1])",
                                str(replica.path)], capture_output=True, text=True, timeout=120)
    assert probe.returncode != 0
    assert "lock" in probe.stderr.lower()
