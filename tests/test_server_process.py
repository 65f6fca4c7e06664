"""A real `hackatime-lite serve` process: health, acknowledged writes survive SIGTERM, exit status 0."""

from __future__ import annotations

import itertools
import signal
import sqlite3
import threading
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


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`: each of its threads lists the children it started (Linux /proc)."""
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


def wait_for_writer(server: ServerProcess, writer: str, timeout: float = 60.0) -> None:
    """Until the server's health shows heartbeats going to `writer` (serve starts its writer process ~1 s in)."""
    deadline = time.monotonic() + timeout
    while True:
        health = httpx.get(server.url + "/api/health", timeout=5).json()
        if health["database"].get("heartbeat_writer") == writer:
            return
        assert time.monotonic() < deadline, f"heartbeats never went to the {writer} writer: {health}"
        time.sleep(0.05)


@pytest.mark.slow  # SIGKILL to a real server process under concurrent ingest
@pytest.mark.parametrize("writer", ["process", "in-process"])
def test_sigkill_under_concurrent_bulk_ingest_keeps_every_acknowledged_heartbeat(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: str) -> None:
    """Acknowledged means committed, also when the writer inserts the requests queued together as one statement:
    clients post concurrently (overlapping batches, so duplicates meet in one group commit), the process is
    killed mid-stream, and every heartbeat of every 201 answer is in the database afterwards, once. With the
    heartbeat writer process (serve's default) the child ends by itself once its parent is gone."""
    monkeypatch.setenv("HACKATIME_API_INGEST_PER_MINUTE", "0")  # measure durability, not the limiter
    monkeypatch.setenv("HACKATIME_WRITER_PROCESS", "true" if writer == "process" else "false")
    server = ServerProcess(tmp_path / "data").start()
    acknowledged: set[str] = set()
    answered = threading.Semaphore(0)
    stop = threading.Event()
    lock = threading.Lock()
    now = time.time()
    try:
        wait_for_writer(server, writer)
        assert server.proc is not None
        writer_children = children(server.proc.pid)
        assert len(writer_children) == (1 if writer == "process" else 0)
        server.cli("user", "create", "kim")
        key = server.cli("key", "create", "kim").stdout.strip()

        def post(worker: int) -> None:
            with httpx.Client(base_url=server.url, headers=basic_auth(key), timeout=10) as client:
                for batch in itertools.count():
                    if stop.is_set():
                        return
                    # Each batch overlaps the previous worker's by five heartbeats (same entity and time).
                    first = (worker * 10_000 + batch * 20) if batch % 3 else batch * 20
                    items = [{"entity": f"k{first + i}.py", "time": now - 3000 + (first + i) * 0.01}
                             for i in range(25)]
                    try:
                        response = client.post("/api/v1/users/current/heartbeats.bulk", json=items)
                    except httpx.HTTPError:
                        return  # the server is gone
                    if response.status_code == 201:
                        with lock:
                            acknowledged.update(item["entity"] for item, (_, status)
                                                in zip(items, response.json()["responses"], strict=True)
                                                if status == 201)
                        answered.release()

        workers = [threading.Thread(target=post, args=(w,), daemon=True) for w in range(6)]
        for worker in workers:
            worker.start()
        for _ in range(60):  # killed once 60 batches are acknowledged, with others in flight
            assert answered.acquire(timeout=60), "the server stopped acknowledging"
        assert server.proc is not None
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
        stop.set()
        for worker in workers:
            worker.join(20)
        deadline = time.monotonic() + 20
        while any(Path(f"/proc/{pid}").exists() for pid in writer_children):  # the child reads EOF and ends
            assert time.monotonic() < deadline, "the writer process outlived its server"
            time.sleep(0.05)
    finally:
        stop.set()
        server.stop()
    conn = sqlite3.connect(server.data_dir / "hackatime.sqlite3")
    try:
        stored = [row[0] for row in conn.execute("SELECT entity FROM heartbeats")]
    finally:
        conn.close()
    assert len(stored) == len(set(stored))
    with lock:
        assert len(acknowledged) >= 60 * 5
        assert acknowledged <= set(stored)
