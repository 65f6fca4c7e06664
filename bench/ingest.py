"""Ingest throughput: raw SQLite baseline vs HTTP bulk and single POSTs against a real server process.

    .venv/bin/python bench/ingest.py [--requests 2000] [--concurrency 8] [--prefill 0]

The baseline inserts identical heartbeat rows (same schema, indexes and dedup hash) with plain sqlite3 in
transactions of 25, in the same run, so the ratio is meaningful on a noisy shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import percentile, tree_cpu_seconds

from hackatime_lite.ingest import IngestContext, PreparedBatch
from hackatime_lite.store import Store, open_store

# CPU µs per heartbeat of the last raw_sqlite_baseline (steadier than its rate on a shared machine).
LAST_BASELINE_CPU_US = [0.0]
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
        cpu = time.process_time()
        for i in range(0, len(rows), batch):
            conn.execute("BEGIN")
            conn.executemany(sql, rows[i:i + batch])
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        LAST_BASELINE_CPU_US[0] = (time.process_time() - cpu) / len(rows) * 1e6
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


async def http_load(port: int | list[int], path: str, key: str, payloads: list[object],
                    concurrency: int) -> tuple[float, list[float], int]:
    """`concurrency` keep-alive clients; with several ports (nodes) the clients are spread round-robin."""
    import msgspec

    headers = {"Authorization": "Basic " + base64.b64encode(key.encode()).decode(), "User-Agent": UA,
               "Content-Type": "application/json", "X-Machine-Name": "bench-box"}
    bodies = [msgspec.json.encode(payload) for payload in payloads]
    latencies: list[float] = []
    failures = 0
    next_index = 0

    ports = port if isinstance(port, list) else [port]

    async def worker(index: int) -> None:
        nonlocal failures, next_index
        client = RawHttpClient("127.0.0.1", ports[index % len(ports)])
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
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return time.perf_counter() - started, latencies, failures


def children_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a server's child processes (serve's heartbeat writer process) (Linux /proc)."""
    return tree_cpu_seconds(pid) - cpu_seconds_of(Path(f"/proc/{pid}/stat"))


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """User + system CPU time of each thread of a process, by native thread id (Linux /proc)."""
    out: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[int(task.name)] = cpu_seconds_of(task / "stat")
        except (FileNotFoundError, ProcessLookupError):  # the thread ended meanwhile
            continue
    return out


def cpu_seconds_of(stat: Path) -> float:
    fields = stat.read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_names(py_spy_raw: str) -> dict[int, str]:
    """Native thread id -> Python thread name, from the `thread (TID): name` frames of py-spy's raw output."""
    import re

    names: dict[int, str] = {}
    with contextlib.suppress(FileNotFoundError):
        for line in Path(py_spy_raw).read_text().splitlines():
            found = re.match(r"thread \((\d+)\)(?:: ([^;]+))?;", line)
            if found and found.group(2):
                names[int(found.group(1))] = found.group(2).strip()
    return names


def run_http(requests: int, single: int, concurrency: int, prefill_rows: int = 0, *,
             database_url: str | None = None, nodes: int = 1, py_spy: str | None = None,
             py_spy_gil: bool = False) -> dict[str, Any]:
    """Bulk then single POSTs against `nodes` serve processes (on `database_url` when given; clients spread
    round-robin over the nodes): heartbeats/s, p50/p99 ms, failures, and the servers' CPU µs per heartbeat
    (steadier than the rate on a shared machine). `py_spy`: record the first server during the bulk phase
    (raw stacks to that path)."""
    import servers

    if nodes > 1 and not database_url:
        raise SystemExit("--nodes > 1 needs --database-url (nodes share one database; SQLite is one machine's)")
    with tempfile.TemporaryDirectory() as tmp:
        data_dirs = [Path(tmp) / f"node{i}" for i in range(nodes)]
        settings = servers.bench_settings(data_dirs[0], database_url)
        settings.paths.ensure()
        store = open_store(settings)
        user = store.create_user(f"bench{random.randrange(10**9)}")
        _, key = store.create_api_key(user.id)
        prefill(store, user.id, prefill_rows)
        store.close()
        cluster = servers.start_nodes(data_dirs, database_url=database_url,
                                      extra_env={"HACKATIME_REPLICA_SYNC_INTERVAL": "1"})
        try:
            start = time.time() - 86400
            bulk = [make_heartbeats(25, start + i * 25, seed=100 + i) for i in range(requests)]
            pids = [node.process.pid for node in cluster.nodes]
            spy = None
            if py_spy:
                spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pids[0]),
                                        "--format", "raw", "--rate", "250", "--threads", "--output", py_spy,
                                        "--nonblocking", *(["--gil"] if py_spy_gil else [])], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cpu = sum(tree_cpu_seconds(pid) for pid in pids)
            threads_before = thread_cpu_seconds(pids[0])
            children_before = children_cpu_seconds(pids[0])
            try:
                elapsed, lat, failures = asyncio.run(
                    http_load(cluster.ports, "/api/v1/users/current/heartbeats.bulk", key, bulk, concurrency))
            finally:
                if spy is not None:
                    spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT, not SIGTERM
                    spy.wait(30)
            cpu = sum(tree_cpu_seconds(pid) for pid in pids) - cpu
            # Each thread's share of the first server's CPU (named from py-spy's stacks when it recorded them).
            names = thread_names(py_spy) if py_spy else {}
            per_thread: dict[str, float] = {}
            for tid, seconds in thread_cpu_seconds(pids[0]).items():
                name = names.get(tid, "MainThread" if tid == pids[0] else "other threads")
                per_thread[name] = per_thread.get(name, 0.0) + (seconds - threads_before.get(tid, 0.0))
            children = children_cpu_seconds(pids[0]) - children_before
            if children > 0:
                per_thread["writer process"] = children
            out = {"bulk_hb_s": requests * 25 / elapsed, "bulk_req_s": requests / elapsed,
                   "bulk_p50_ms": percentile(lat, .5) * 1000, "bulk_p99_ms": percentile(lat, .99) * 1000,
                   "bulk_failures": failures, "bulk_server_cpu_us_per_hb": cpu / (requests * 25) * 1e6,
                   "bulk_thread_cpu_us_per_hb": {name: seconds / (requests * 25) * 1e6
                                                 for name, seconds in sorted(per_thread.items(),
                                                                             key=lambda item: -item[1])}}
            if single:
                singles = make_heartbeats(single, time.time() - 40000, seed=5)
                elapsed, lat, failures = asyncio.run(
                    http_load(cluster.ports, "/api/v1/users/current/heartbeats", key, singles, concurrency))
                out |= {"single_hb_s": single / elapsed, "single_p50_ms": percentile(lat, .5) * 1000,
                        "single_p99_ms": percentile(lat, .99) * 1000, "single_failures": failures}
            return out
        finally:
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="bulk requests of 25 heartbeats")
    parser.add_argument("--single", type=int, default=2000, help="single-heartbeat requests")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--prefill", type=int, default=0, help="heartbeats stored before measuring")
    parser.add_argument("--database-url", default=None,
                        help="run the server(s) on this database (postgresql://…); default: SQLite in a temp dir")
    parser.add_argument("--nodes", type=int, default=1, help="serve processes on the same database (needs a URL)")
    parser.add_argument("--py-spy", default=None, help="record the server during the bulk phase (raw stacks here)")
    parser.add_argument("--gil", action="store_true", help="with --py-spy: only samples of the thread holding the GIL")
    args = parser.parse_args()

    before = raw_sqlite_baseline(args.requests * 25, 25, args.prefill)
    cpu_before = LAST_BASELINE_CPU_US[0]
    print(f"baseline  raw sqlite3, transactions of 25: {before:10.0f} heartbeats/s (before)")
    r = run_http(args.requests, args.single, args.concurrency, args.prefill, database_url=args.database_url,
                 nodes=args.nodes, py_spy=args.py_spy, py_spy_gil=args.gil)
    # Measured again after the HTTP phase: on a shared machine the load moves within a run, and the mean of
    # both sides of it is a fairer yardstick than either alone.
    after = raw_sqlite_baseline(args.requests * 25, 25, args.prefill)
    baseline = (before + after) / 2
    print(f"baseline  raw sqlite3, transactions of 25: {after:10.0f} heartbeats/s (after); "
          f"mean {baseline:.0f}; CPU {(cpu_before + LAST_BASELINE_CPU_US[0]) / 2:.1f} µs/heartbeat")
    print(f"server CPU during the bulk phase: {r['bulk_server_cpu_us_per_hb']:.1f} µs/heartbeat ("
          + ", ".join(f"{name} {us:.1f}" for name, us in r["bulk_thread_cpu_us_per_hb"].items() if us >= 0.05)
          + ")")
    print(f"http bulk (25/request, {args.concurrency} clients, {args.nodes} node(s)): {r['bulk_hb_s']:10.0f} "
          f"heartbeats/s  {r['bulk_req_s']:6.0f} req/s  p50 {r['bulk_p50_ms']:6.1f} ms  "
          f"p99 {r['bulk_p99_ms']:6.1f} ms  failures {r['bulk_failures']}")
    if args.single:
        print(f"http single ({args.concurrency} clients):           {r['single_hb_s']:10.0f} heartbeats/s  "
              f"p50 {r['single_p50_ms']:6.1f} ms  p99 {r['single_p99_ms']:6.1f} ms  "
              f"failures {r['single_failures']}")
        print(f"ratio single/baseline {r['single_hb_s'] / baseline:6.2f}")
    print(f"ratio bulk/baseline   {r['bulk_hb_s'] / baseline:6.2f}  (target >= 0.80)")


if __name__ == "__main__":
    main()
