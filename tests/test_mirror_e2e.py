"""Mirroring end to end between two real `hackatime-lite serve` processes on 127.0.0.1: A mirrors alice's
heartbeats to bob's account on B. Each test uses its own project, so tests stay independent of order and of
how pytest-xdist spreads them (the processes are shared within a worker)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hackatime_lite.config import Settings
from hackatime_lite.mirror import targets
from hackatime_lite.store import Store
from tests.conftest import ServerProcess, basic_auth
from tests.mirror_helpers import environment, heartbeat_items, wait_until

# Two real server processes and real delivery intervals: run by test.sh (`-m slow`), not by default. One
# worker runs them all (`--dist loadgroup`): the pair is module-scoped and the last test reads its logs.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mirror-e2e")]

UA = "wakatime/13.1.0 (Linux-6.1-x86_64-with-glibc2.36) Python3.11.7.final.0 vim/9.0 vim-wakatime/11.0.0"
FAST_MIRROR = {"HACKATIME_MIRROR_INTERVAL": "0.2", "HACKATIME_MIRROR_BACKOFF_BASE": "0.2",
               "HACKATIME_MIRROR_TIMEOUT": "3", "HACKATIME_LOG_LEVEL": "debug",
               "HACKATIME_REPLICA_SYNC_INTERVAL": "0.5"}
COMPARED = ("time", "entity", "type", "category", "project", "branch", "language", "dependencies", "is_write",
            "lines", "user_agent", "editor", "operating_system", "machine")


@dataclass
class Instance:
    server: ServerProcess
    key: str
    username: str

    def start(self) -> None:
        self.server.start()

    def post(self, items: list[dict[str, Any]], machine: str = "laptop") -> httpx.Response:
        response = httpx.post(f"{self.server.url}/api/v1/users/current/heartbeats.bulk", json=items, timeout=10,
                              headers={**basic_auth(self.key), "User-Agent": UA, "X-Machine-Name": machine})
        assert response.status_code == 201, response.text
        return response

    def rows(self, project: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.server.url}/api/native/v1/export", params={"format": "json"},
                             headers=basic_auth(self.key), timeout=10)
        assert response.status_code == 200, response.text
        return [r for r in response.json()["heartbeats"] if r["project"] == project]

    def db(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{self.server.data_dir / 'hackatime.sqlite3'}?mode=ro", uri=True)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()


def start_together(*instances: Instance) -> None:
    """Start servers in parallel (each start is mostly a Python process booting), with fast mirror settings.

    The environment is patched here, in this thread, once: patching it from several threads would leak."""
    with environment(**FAST_MIRROR), ThreadPoolExecutor(len(instances)) as pool:
        for future in [pool.submit(i.start) for i in instances]:
            future.result()


def _account(server: ServerProcess, name: str) -> str:
    """Create the user and a key before the server starts (the CLI would cost a process start each)."""
    server.data_dir.mkdir(parents=True, exist_ok=True)
    with Store(server.data_dir / "hackatime.sqlite3") as store:
        user = store.create_user(name)
        return store.create_api_key(user.id)[1]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Instance, Instance]]:
    root = tmp_path_factory.mktemp("mirror-e2e")
    b = Instance(ServerProcess(root / "b"), "", "bob")
    a = Instance(ServerProcess(root / "a"), "", "alice")
    b.key = _account(b.server, "bob")
    a.key = _account(a.server, "alice")
    start_together(a, b)
    try:
        added = httpx.post(f"{a.server.url}/api/native/v1/mirrors", headers=basic_auth(a.key), timeout=10,
                           json={"url": f"{b.server.url}/api/v1", "api_key": b.key})
        assert added.status_code == 201 and added.json()["data"]["id"] == 1, added.text
        yield a, b
    finally:
        a.server.stop()
        b.server.stop()


def _projection(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(tuple(json.dumps(r[k]) if isinstance(r[k], list) else r[k] for k in COMPARED) for r in rows)


def _delivered(a: Instance) -> int:
    return a.db("SELECT delivered_count FROM mirror_targets WHERE id = 1")[0][0]


def _pending(a: Instance) -> int:
    return a.db("SELECT COUNT(*) FROM mirror_outbox")[0][0]


def _arrived(a: Instance, b: Instance, project: str, count: int) -> bool:
    return len(b.rows(project)) >= count and _pending(a) == 0


def test_heartbeats_sent_to_a_appear_in_b(pair):
    a, b = pair
    before = _delivered(a)
    items = heartbeat_items(40, time.time() - 5000, project="live")
    a.post(items[:15])
    a.post(items[15:], machine="desk top")
    wait_until(lambda: _arrived(a, b, "live", 40))
    assert _projection(b.rows("live")) == _projection(a.rows("live"))
    assert {r["machine"] for r in b.rows("live")} == {"laptop", "desk top"}
    assert {r["editor"] for r in b.rows("live")} == {"Vim"}
    assert {r["source"] for r in b.rows("live")} == {"mirror"}
    assert _delivered(a) - before == 40


def test_upstream_down_and_a_restarted_mid_backlog_then_everything_arrives_once(pair):
    a, b = pair
    before = _delivered(a)
    b.server.stop()
    items = heartbeat_items(60, time.time() - 9000, project="outage")
    a.post(items[:30])
    wait_until(lambda: a.db("SELECT failures FROM mirror_targets WHERE id = 1")[0][0] >= 2)
    assert "connection failed" in a.db("SELECT last_error FROM mirror_targets WHERE id = 1")[0][0]
    a.post(items[30:])
    assert _pending(a) == 60
    # A restarts with the backlog still queued; B comes back while A is down.
    a.server.stop()
    assert _pending(a) == 60
    start_together(a, b)
    wait_until(lambda: _arrived(a, b, "outage", 60), timeout=25)
    rows = b.rows("outage")
    assert len(rows) == 60 and len({(r["time"], r["entity"]) for r in rows}) == 60
    assert _projection(rows) == _projection(a.rows("outage"))
    assert _delivered(a) - before == 60  # each heartbeat was accepted upstream exactly once


def test_mutual_mirroring_does_not_loop(pair):
    a, b = pair
    if not b.db("SELECT 1 FROM mirror_targets"):
        with Store(b.server.data_dir / "hackatime.sqlite3") as store:
            settings = Settings(data_dir=str(b.server.data_dir), port=b.server.port)
            targets.add_target(store, settings, 1, f"{a.server.url}/api/v1", a.key)
    a.post(heartbeat_items(20, time.time() - 17000, project="ping"))
    b.post(heartbeat_items(20, time.time() - 21000, project="pong"))
    for project in ("ping", "pong"):
        wait_until(lambda p=project: len(a.rows(p)) == 20 and len(b.rows(p)) == 20, timeout=25)
    wait_until(lambda: _pending(a) == 0 and _pending(b) == 0)
    settled = (_delivered(a), b.db("SELECT delivered_count FROM mirror_targets")[0][0])
    # No fixed wait: one marker heartbeat each way per round, and each round waits until both have crossed and
    # both outboxes are empty, so each side has run full delivery rounds since `settled`. A loop would have
    # kept re-sending ping/pong meanwhile; instead only the markers moved (each delivered once, and relayed
    # back at most once, which is then a duplicate).
    rounds = 3
    for n in range(rounds):
        now = time.time()
        a.post(heartbeat_items(1, now - 25000 - 100 * n, project="ping-marker", prefix=f"m{n}-"))
        b.post(heartbeat_items(1, now - 26000 - 100 * n, project="pong-marker", prefix=f"m{n}-"))
        wait_until(lambda n=n: len(b.rows("ping-marker")) == n + 1 and len(a.rows("pong-marker")) == n + 1
                   and _pending(a) == 0 and _pending(b) == 0, timeout=25)
    grown = (_delivered(a) - settled[0], b.db("SELECT delivered_count FROM mirror_targets")[0][0] - settled[1])
    assert all(rounds <= count <= 2 * rounds for count in grown), grown
    assert _pending(a) == 0 and _pending(b) == 0
    for project in ("ping", "pong"):
        assert _projection(a.rows(project)) == _projection(b.rows(project))
    # A relayed bob's heartbeats back at most once each; B never sent alice's back (they carried A's id).
    assert b.db("SELECT COUNT(*) FROM heartbeats WHERE project = 'ping' AND source = 'mirror'")[0][0] == 20
    assert a.db("SELECT COUNT(*) FROM heartbeats WHERE project = 'ping' AND source = 'direct'")[0][0] == 20


def test_no_secret_in_any_log_line(pair):
    a, b = pair
    secrets = [a.key, b.key]
    secrets += [(s.server.data_dir / "secret.key").read_text().strip() for s in (a, b)
                if (s.server.data_dir / "secret.key").exists()]
    assert secrets[2:], "the mirror key should have created a server secret"
    for instance in (a, b):
        log = Path(instance.server.log_path).read_text()
        # A's debug log holds its deliveries (the outbound requests), so there is something to leak from.
        # (Whether a delivery round also fell in B's downtime, and logged a retry, depends on timing.)
        assert "heartbeats.bulk" in log or instance is b
        for secret in secrets:
            assert secret not in log
