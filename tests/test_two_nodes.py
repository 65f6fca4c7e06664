"""Several nodes on one PostgreSQL: the deploy/ examples describe a valid setup (cheap, no Docker)."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import msgspec
import pytest
import yaml

from hackatime_lite.config import ENV_PREFIX, Settings
from tests.conftest import run_cli

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
SETTINGS = {f.name for f in msgspec.structs.fields(Settings)}


def _serve_options() -> set[str]:
    return {word.split("=")[0] for word in run_cli("serve", "--help").stdout.split() if word.startswith("--")}


def _check_serve(argv: list[str], options: set[str]) -> None:
    assert argv[0].endswith("hackatime-lite") and argv[1] == "serve"
    used = {arg for arg in argv[2:] if arg.startswith("--")}
    assert used <= options, used - options
    assert "--data-dir" in used


def test_compose_example_runs_nodes_with_own_data_dirs_on_one_database() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    nodes = {name: svc for name, svc in services.items() if name.startswith("node")}
    assert len(nodes) >= 2 and "db" in services and "proxy" in services
    options = _serve_options()
    volumes = set()
    for svc in nodes.values():
        _check_serve(svc["command"], options)
        env = svc["environment"]
        assert env["HACKATIME_DATABASE_URL"].startswith("postgresql://")
        # Every variable names a real setting; the secret is shared by all nodes.
        assert {k.removeprefix(ENV_PREFIX).lower() for k in env} <= SETTINGS
        assert "HACKATIME_SECRET" in env
        data_dir = svc["command"][svc["command"].index("--data-dir") + 1]
        (mount,) = [v for v in svc["volumes"] if v.endswith(":" + data_dir)]
        volumes.add(mount.split(":")[0])
    assert len(volumes) == len(nodes)  # a data dir (replica, server.json) per node
    proxy = " ".join(services["proxy"]["command"])
    assert all(f"{name}:3000" in proxy for name in nodes)


def test_systemd_unit_starts_serve_with_a_data_dir() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string((DEPLOY / "hackatime-lite.service").read_text())
    _check_serve(shlex.split(unit["Service"]["ExecStart"]), _serve_options())
    assert unit["Install"]["WantedBy"] == "multi-user.target"


# -- two real nodes on one PostgreSQL (slow: processes) ----------------------------------------------------
READS = [
    "/api/v1/users/current/statusbar/today",
    "/api/v1/users/current/summaries?range=today",
    "/api/v1/users/current/stats/last_7_days",
    "/api/v1/users/current/durations?date={today}",
    "/api/v1/users/current/projects",
    "/api/v1/users/current/all_time_since_today",
    "/api/v1/users/current/user_agents",
    "/api/v1/users/current/machine_names",
]
# Fields that say when a node answered, not what it knows.
_VOLATILE = {"modified_at", "created_at", "last_heartbeat_at", "now", "generated_at", "cached_at"}


def _stable(value: object) -> object:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


@pytest.mark.slow
@pytest.mark.postgres
def test_two_nodes_on_one_postgres(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64
    import datetime as dt
    import re
    import signal
    import threading
    import time

    import httpx

    from hackatime_lite.store.postgres.store import PostgresStore
    from tests.conftest import ServerProcess
    from tests.web_helpers import PASSWORD

    monkeypatch.setenv("HACKATIME_DATABASE_URL", pg_url)
    monkeypatch.setenv("HACKATIME_SECRET", "one secret for every node")
    monkeypatch.setenv("HACKATIME_LEADERBOARD_INTERVAL", "1")
    monkeypatch.setenv("HACKATIME_API_INGEST_PER_MINUTE", "0")
    store = PostgresStore(pg_url, pool_size=2)
    try:
        user = store.create_user("alice", password=PASSWORD)
        _, key = store.create_api_key(user.id)
        auth = {"Authorization": "Basic " + base64.b64encode(key.encode()).decode()}
        a = ServerProcess(tmp_path / "a").start()
        b = ServerProcess(tmp_path / "b").start()
        nodes = [a, b]
        try:
            # Singletons: while both nodes live, each job ran on one of them and the other skipped it.
            def health(node: ServerProcess) -> dict:
                # A scheduler still starting (server.JOBS_START_DELAY) has no runs and no skips yet.
                found = httpx.get(node.url + "/api/health", timeout=10).json()["scheduler"]
                return {"runs": {}, "skipped": {}, **found}

            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                ha, hb = health(a), health(b)
                if sum(h["runs"].get("leaderboards", 0) for h in (ha, hb)) >= 3 and (ha["skipped"] or hb["skipped"]):
                    break
                time.sleep(0.05)
            ran = [h["node"] for h in (ha, hb) if h["runs"].get("leaderboards")]
            assert len(ran) == 1, (ha, hb)
            idle = hb if ran[0] == ha["node"] else ha
            assert idle["skipped"].get("leaderboards", 0) > 0 and idle["runs"].get("replica_sync", 0) > 0

            # A login on node A is valid on node B.
            with httpx.Client(base_url=a.url, timeout=10) as browser:
                page = browser.get("/login").text
                token = re.search(r'<meta name="csrf-token" content="([^"]*)">', page).group(1)  # type: ignore[union-attr]
                done = browser.post("/login", data={"username": "alice", "password": PASSWORD,
                                                     "_csrf_token": token}, follow_redirects=False)
                assert done.status_code == 303
                cookie = browser.cookies["hl_session"]
            on_b = httpx.get(b.url + "/", cookies={"hl_session": cookie}, timeout=10, follow_redirects=False)
            assert on_b.status_code == 200, on_b.status_code

            # Ingest round-robin over 4 connections; node B is SIGKILLed part-way through.
            start = time.time() - 3600
            acknowledged: set[tuple[str, float]] = set()
            lock = threading.Lock()
            counter = iter(range(120))
            killed = threading.Event()

            def post(conn: int) -> None:
                node = nodes[conn % 2]
                with httpx.Client(base_url=node.url, headers=auth, timeout=15) as client:
                    for batch in counter:
                        if batch == 40 and not killed.is_set():
                            killed.set()
                            assert b.proc is not None
                            b.proc.send_signal(signal.SIGKILL)
                        items = [{"entity": f"/src/f{batch}_{i}.py", "type": "file", "category": "coding",
                                  "project": f"p{batch % 3}", "language": "Python",
                                  "time": round(start + batch * 25 + i, 3)} for i in range(25)]
                        try:
                            response = client.post("/api/v1/users/current/heartbeats.bulk", json=items)
                        except httpx.HTTPError:
                            continue  # not acknowledged
                        if response.status_code != 201:
                            continue
                        answers = response.json()["responses"]
                        with lock:
                            acknowledged.update((item["entity"], item["time"]) for item, (_body, status)
                                                in zip(items, answers, strict=True) if status in (200, 201, 202))

            threads = [threading.Thread(target=post, args=(i,)) for i in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            assert killed.is_set() and len(acknowledged) >= 40 * 25
            b.proc.wait(10)  # type: ignore[union-attr]
            stored = {(row["entity"], round(row["time"], 3)) for row in store.export_rows("heartbeats")}
            assert acknowledged <= stored, f"{len(acknowledged - stored)} acknowledged heartbeats lost"

            # Node B comes back on its data dir; both nodes then answer every read the same.
            b2 = ServerProcess(tmp_path / "b").start()
            nodes[1] = b2
            today = dt.datetime.now(dt.UTC).date().isoformat()
            paths = [p.format(today=today) for p in READS]
            deadline = time.monotonic() + 60
            while True:
                answers = [[_stable(httpx.get(n.url + p, headers=auth, timeout=10).json()) for p in paths]
                           for n in (a, b2)]
                if answers[0] == answers[1] or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            for path, left, right in zip(paths, answers[0], answers[1], strict=True):
                assert left == right, path
        finally:
            for node in nodes:
                node.stop()
            if b is not nodes[1]:
                b.stop()
    finally:
        store.close()
