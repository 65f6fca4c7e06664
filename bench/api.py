"""Read-API latency over HTTP against a real server process, next to a static route in the same run.

    .venv/bin/python bench/api.py [--user-rows 1000000] [--total-rows 2000000] [--requests 200]

One user ("bench") gets `--user-rows` heartbeats over the last `--days` days (bursts of short gaps with
breaks), the other users share the rest. Measured sequentially (one keep-alive connection, as a plugin or a
dashboard calls): GET /api/v1/meta (static, the baseline), the status bar, stats/last_7_days and
summaries?range=last_7_days. Targets (issue 4): status bar p50 <= 15 ms, stats p50 <= 50 ms.

Rows are written straight into SQLite (bench data: a counter stands in for the dedup hash, and the secondary
indexes are rebuilt after the load), then the server starts and builds its analytics replica.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from measure import free_port, percentile

from hackatime_lite.config import Settings
from hackatime_lite.models import HEARTBEAT_COLUMNS
from hackatime_lite.store import Store

PROJECTS = [f"project-{i}" for i in range(12)]
LANGUAGES = ["Python", "Go", "TypeScript", "Rust", "Markdown", None]
EDITORS = ["VS Code", "Vim", "IntelliJ IDEA"]
SYSTEMS = ["Linux", "Mac"]
MACHINES = ["laptop", "desktop"]
_SECONDARY_INDEXES = ("heartbeats_user_time", "heartbeats_user_project_time")


def user_rows(user_id: int, count: int, end: float, days: int, seed: int, first_hash: int):  # type: ignore[no-untyped-def]
    """`count` heartbeats ending about at `end`, spread over `days`: bursts with 10-30 min breaks."""
    rng = random.Random(seed)
    step = days * 86400 / count  # average spacing needed to fill the days
    p_break = min(0.01, step / 2400)  # breaks average 1200 s and take at most half of the time
    gap = (step - p_break * 1200) / (1 - p_break)
    t = end - days * 86400
    for i in range(count):
        project = PROJECTS[(i // 400) % len(PROJECTS)]
        yield (user_id, t, f"/src/{project}/file{rng.randint(0, 200)}.py", "file", "coding", project, "main",
               rng.choice(LANGUAGES), None, 100, 1, 1, 0, 1, None, None, None, None, None, None, None, None,
               None, "wakatime/v1.98.0 (linux) go1.22 vscode/1.89 vscode-wakatime/24.5.0", rng.choice(EDITORS),
               rng.choice(SYSTEMS), rng.choice(MACHINES), "direct", (first_hash + i).to_bytes(16, "big"), t)
        t = min(end, t + (rng.uniform(600, 1800) if rng.random() < p_break else rng.uniform(0.5, 1.5) * gap))


def load(database: Path, users: list[tuple[int, int]], end: float, days: int) -> None:
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    for name in _SECONDARY_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    sql = f"INSERT INTO heartbeats ({', '.join(HEARTBEAT_COLUMNS)}) VALUES ({', '.join('?' * len(HEARTBEAT_COLUMNS))})"
    hashes = 0
    for user_id, count in users:
        conn.execute("BEGIN")
        conn.executemany(sql, user_rows(user_id, count, end, days, user_id, hashes))
        conn.execute("COMMIT")
        hashes += count
    conn.execute("CREATE INDEX heartbeats_user_time ON heartbeats(user_id, time)")
    conn.execute("CREATE INDEX heartbeats_user_project_time ON heartbeats(user_id, project, time)")
    conn.close()


async def measure(port: int, path: str, headers: dict[str, str], requests: int) -> tuple[list[float], int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode()
    latencies, failures = [], 0
    for _ in range(requests):
        started = time.perf_counter()
        writer.write(request)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        failures += status != 200
    writer.close()
    return latencies, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--user-rows", type=int, default=1_000_000, help="heartbeats of the measured user")
    parser.add_argument("--total-rows", type=int, default=2_000_000, help="heartbeats of all users together")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        settings = Settings(data_dir=str(data_dir))
        settings.paths.ensure()
        store = Store(settings.paths.database)
        bench = store.create_user("bench", timezone="Europe/Berlin")
        _, key = store.create_api_key(bench.id)
        others = [store.create_user(f"user{i}").id for i in range(args.users - 1)]
        store.close()
        rest = max(0, args.total_rows - args.user_rows)
        plan = [(bench.id, args.user_rows)] + [(uid, rest // len(others)) for uid in others if rest]
        started = time.perf_counter()
        now = time.time()
        load(settings.paths.database, plan, now - 60, args.days)
        print(f"loaded {sum(c for _, c in plan):,} heartbeats in {time.perf_counter() - started:.1f} s")

        port = free_port()
        started = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "hackatime_lite", "serve", "--port", str(port), "--data-dir", str(data_dir),
             "--log-level", "warning", "--no-scheduler"], env=dict(os.environ))
        try:
            for _ in range(3000):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            print(f"server ready (replica built) in {time.perf_counter() - started:.1f} s")
            headers = {"Authorization": "Basic " + base64.b64encode(key.encode()).decode()}
            routes = [("static /api/v1/meta", "/api/v1/meta"),
                      ("status bar today", "/api/v1/users/current/statusbar/today"),
                      ("stats last_7_days", "/api/v1/users/current/stats/last_7_days"),
                      ("summaries last_7_days", "/api/v1/users/current/summaries?range=last_7_days")]
            results = {}
            for label, path in routes:
                asyncio.run(measure(port, path, headers, 5))  # warm up
                latencies, failures = asyncio.run(measure(port, path, headers, args.requests))
                results[label] = percentile(latencies, 0.5)
                print(f"{label:24} p50 {percentile(latencies, .5) * 1000:7.2f} ms   "
                      f"p99 {percentile(latencies, .99) * 1000:7.2f} ms   failures {failures}")
            print(f"targets: status bar p50 <= 15 ms: {results['status bar today'] * 1000 <= 15}; "
                  f"stats p50 <= 50 ms: {results['stats last_7_days'] * 1000 <= 50}")
        finally:
            server.terminate()
            server.wait(15)


if __name__ == "__main__":
    main()
