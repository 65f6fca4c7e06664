"""Ingest throughput: raw SQLite baseline vs HTTP bulk and single POSTs against a real server process.

    .venv/bin/python bench/ingest.py [--requests 2000] [--concurrency 8] [--prefill 0]

The baseline inserts identical heartbeat rows (same schema, indexes and dedup hash) with plain sqlite3 in
transactions of 25, in the same run, so the ratio is meaningful on a noisy shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from measure import free_port, percentile

from hackatime_lite.config import Settings
from hackatime_lite.ingest import IngestContext, PreparedBatch
from hackatime_lite.store import Store

LANGS = ["Python", "Go", "Rust", "TypeScript", "C"]
UA = "wakatime/v1.102.1 (linux-6.1.0-x86_64) go1.22.5 vscode/1.89.1 vscode-wakatime/24.5.0"


def make_heartbeats(count: int, start: float, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [
        {
            "entity": f"/home/dev/proj{rng.randint(0, 9)}/src/file{rng.randint(0, 500)}.py",
            "type": "file",
            "category": "coding",
            "time": start + i * 0.37 + rng.random() * 0.01,
            "project": f"proj{rng.randint(0, 9)}",
            "branch": "main",
            "language": rng.choice(LANGS),
            "lineno": rng.randint(1, 900),
            "cursorpos": rng.randint(1, 80),
            "lines": 900,
            "is_write": rng.random() < 0.2,
            "dependencies": ["os", "sys"],
        }
        for i in range(count)
    ]


def prefill(store: Store, user_id: int, rows: int) -> None:
    """Fill the store first: inserts slow down as indexes grow, so measure on a non-empty table too."""
    if rows <= 0:
        return
    user = store.get_user(user_id)
    done = 0
    while done < rows:
        chunk = min(50_000, rows - done)
        items = make_heartbeats(chunk, 1.6e9 + done * 0.4, seed=done + 7)
        batch = PreparedBatch(store, items, IngestContext(user=user, now=time.time()))
        store.import_heartbeats(batch.rows)
        done += chunk


def raw_sqlite_baseline(total: int, batch: int, prefill_rows: int) -> float:
    """Plain sqlite3 executemany of prepared rows, one transaction per `batch` rows: heartbeats/s."""
    import sqlite3

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "baseline.sqlite3")
        user = store.create_user("bench")
        prefill(store, user.id, prefill_rows)
        items = make_heartbeats(total, time.time() - 86400 * 2, seed=1)
        rows = PreparedBatch(store, items, IngestContext(user=user, now=time.time())).rows
        store.close()
        conn = sqlite3.connect(Path(tmp) / "baseline.sqlite3", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        sql = (f"INSERT INTO heartbeats VALUES (NULL, {', '.join('?' for _ in rows[0])}) "
               "ON CONFLICT(dedup_hash) DO NOTHING")
        started = time.perf_counter()
        for i in range(0, len(rows), batch):
            conn.execute("BEGIN")
            conn.executemany(sql, rows[i:i + batch])
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
        return len(rows) / elapsed


class RawHttpClient:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams.

    httpx costs more CPU per request than the server under test; on a 2-core machine that would measure
    the load generator. This one only frames requests and reads status + Content-Length bodies.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n{head}Content-Length: {len(body)}\r\n\r\n"
                          .encode() + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def http_load(port: int, path: str, key: str, payloads: list[object],
                    concurrency: int) -> tuple[float, list[float], int]:
    import msgspec

    headers = {"Authorization": "Basic " + base64.b64encode(key.encode()).decode(), "User-Agent": UA,
               "Content-Type": "application/json", "X-Machine-Name": "bench-box"}
    bodies = [msgspec.json.encode(payload) for payload in payloads]
    latencies: list[float] = []
    failures = 0
    next_index = 0

    async def worker() -> None:
        nonlocal failures, next_index
        client = RawHttpClient("127.0.0.1", port)
        try:
            while next_index < len(bodies):
                body = bodies[next_index]
                next_index += 1
                started = time.perf_counter()
                status = await client.post(path, body, headers)
                latencies.append(time.perf_counter() - started)
                if status not in (201, 202):
                    failures += 1
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="bulk requests of 25 heartbeats")
    parser.add_argument("--single", type=int, default=2000, help="single-heartbeat requests")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--prefill", type=int, default=0, help="heartbeats stored before measuring")
    args = parser.parse_args()

    baseline = raw_sqlite_baseline(args.requests * 25, 25, args.prefill)
    print(f"baseline  raw sqlite3, transactions of 25: {baseline:10.0f} heartbeats/s")

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        settings = Settings(data_dir=str(data_dir))
        settings.paths.ensure()
        store = Store(settings.paths.database)
        user = store.create_user("bench")
        _, key = store.create_api_key(user.id)
        prefill(store, user.id, args.prefill)
        store.close()
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "hackatime_lite", "serve", "--port", str(port), "--data-dir", str(data_dir),
             "--log-level", "warning"],
            env={**os.environ, "HACKATIME_REPLICA_SYNC_INTERVAL": "1"},
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    if httpx.get(base + "/api/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            start = time.time() - 86400
            bulk = [make_heartbeats(25, start + i * 25, seed=100 + i) for i in range(args.requests)]
            elapsed, lat, failures = asyncio.run(
                http_load(port, "/api/v1/users/current/heartbeats.bulk", key, bulk, args.concurrency))
            bulk_rate = args.requests * 25 / elapsed
            print(f"http bulk (25/request, {args.concurrency} clients): {bulk_rate:10.0f} heartbeats/s  "
                  f"{args.requests / elapsed:6.0f} req/s  p50 {percentile(lat, .5) * 1000:6.1f} ms  "
                  f"p99 {percentile(lat, .99) * 1000:6.1f} ms  failures {failures}")
            singles = make_heartbeats(args.single, time.time() - 40000, seed=5)
            elapsed, lat, failures = asyncio.run(
                http_load(port, "/api/v1/users/current/heartbeats", key, singles, args.concurrency))
            single_rate = args.single / elapsed
            print(f"http single ({args.concurrency} clients):           {single_rate:10.0f} heartbeats/s  "
                  f"p50 {percentile(lat, .5) * 1000:6.1f} ms  p99 {percentile(lat, .99) * 1000:6.1f} ms  "
                  f"failures {failures}")
            print(f"ratio bulk/baseline   {bulk_rate / baseline:6.2f}  (target >= 0.60)")
            print(f"ratio single/baseline {single_rate / baseline:6.2f}")
        finally:
            server.terminate()
            server.wait(15)


if __name__ == "__main__":
    main()
