"""Shared machinery for benchmarks that talk HTTP to real server processes: start `serve` (on SQLite or a
PostgreSQL URL, one or more nodes), start the hello-world Litestar baseline, wait for readiness with a
deadline, drive GET/POST load from a few keep-alive clients, and read a process's RSS.

Imported as `import servers` (the scripts run as `.venv/bin/python bench/<name>.py`, which puts this folder
first on sys.path).
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from measure import free_port, tree_rss_kb

BENCH = Path(__file__).resolve().parent
UA = "wakatime/v1.102.1 (linux-6.1.0-x86_64) go1.22.5 vscode/1.89.1 vscode-wakatime/24.5.0"
# Limits that would answer a benchmark's load with 429: measure the path, not the limiter.
NO_LIMITS = {"HACKATIME_API_INGEST_PER_MINUTE": "0", "HACKATIME_API_READ_PER_MINUTE": "0"}


def wait_ready(port: int, process: subprocess.Popen[bytes], path: str = "/api/health",
               deadline_s: float = 600.0) -> float:
    """Poll until `path` answers 200 and, on the health check, the replica is open (a server answers while it
    opens or is rebuilt: measurements start once reads no longer wait for it) and a SQLite store's heartbeat
    writer process runs (serve starts it ~1 s in; until then heartbeats take the in-process writer, which is
    not what a running server measures); seconds it took. Raises if the process exits or the deadline passes."""
    started = time.perf_counter()
    while time.perf_counter() - started < deadline_s:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before it was ready")
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2)
            if answer.status_code == 200 and (path != "/api/health" or _settled(answer.json())):
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"server on port {port} not ready within {deadline_s} s")


def _settled(health: dict[str, Any]) -> bool:
    if health.get("replica", {}).get("opening"):
        return False
    # "in-process" for good when the setting is off or the child could not start: then waiting is no use past
    # the start (WRITER_WAIT_S).
    writer = health.get("database", {}).get("heartbeat_writer")
    return writer in (None, "process") or health.get("uptime_seconds", 0) > WRITER_WAIT_S


# Seconds of a server's uptime after which wait_ready stops waiting for its heartbeat writer process.
WRITER_WAIT_S = 10.0


@dataclass
class Node:
    port: int
    process: subprocess.Popen[bytes]
    ready_s: float = 0.0


@dataclass
class Cluster:
    """One or more `serve` processes on the same database (nodes need their own data dir for the replica)."""

    nodes: list[Node] = field(default_factory=list)

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes]

    def stop(self) -> None:
        for node in self.nodes:
            if node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            try:
                node.process.wait(20)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait(5)


def server_env(database_url: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, **NO_LIMITS, **(extra or {})}
    if database_url:
        env["HACKATIME_DATABASE_URL"] = database_url
    return env


def start_nodes(data_dirs: Sequence[Path], *, database_url: str | None = None, scheduler: bool = True,
                extra_env: dict[str, str] | None = None, deadline_s: float = 900.0,
                launcher: Sequence[str] | None = None) -> Cluster:
    """Start one `serve` per data dir (all on `database_url` when given) and wait until each is ready.
    `launcher` replaces `python -m hackatime_lite` (e.g. bench/trace_server.py, which records server events)."""
    cluster = Cluster()
    env = server_env(database_url, extra_env)
    try:
        for data_dir in data_dirs:
            port = free_port()
            argv = [*(launcher or (sys.executable, "-m", "hackatime_lite")), "serve", "--port", str(port), "--data-dir", str(data_dir),
                    "--log-level", "warning"] + ([] if scheduler else ["--no-scheduler"])
            cluster.nodes.append(Node(port, subprocess.Popen(argv, env=env)))
        for node in cluster.nodes:
            node.ready_s = wait_ready(node.port, node.process, deadline_s=deadline_s)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def start_hello() -> Node:
    """The hello-world Litestar app (bench/hello_app.py) under uvicorn with the project's server settings."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "hello_app:app", "--port", str(port), "--log-level", "warning",
            "--loop", "uvloop", "--http", "httptools", "--no-access-log"]
    process = subprocess.Popen(argv, cwd=BENCH)
    node = Node(port, process)
    try:
        node.ready_s = wait_ready(port, process, path="/", deadline_s=60)
    except BaseException:
        process.kill()
        raise
    return node


def basic_auth(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(key.encode()).decode()}


class RawClient:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams: a heavier client (httpx) would cost more
    CPU per request than the server under test, and on a 2-core box that measures the load generator."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        length = f"Content-Length: {len(body)}\r\n" if body or method != "GET" else ""
        self.writer.write(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}{length}\r\n".encode() + body)
        status_line = await self.reader.readline()
        size = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                size = int(value)
        await self.reader.readexactly(size)
        return int(status_line.split()[1])

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    ok: tuple[int, ...] = (200,)
    label: str = ""


@dataclass
class LoadResult:
    seconds: float
    latencies: dict[str, list[float]]
    failures: int
    statuses: dict[int, int]
    # (send time on the system-wide monotonic clock, seconds taken, label, status) per request: lined up with
    # a server's own monotonic timestamps (bench/trace_server.py) to tell which server event a slow one met.
    timeline: list[tuple[float, float, str, int]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


async def _drive(ports: Sequence[int], pick: object, clients: int, *, seconds: float | None, count: int | None,
                 rate: float | None) -> LoadResult:
    """`clients` keep-alive connections spread round-robin over `ports`; each sends pick(i) requests in a
    closed loop (or, with `rate`, at that total open-loop rate) until `seconds` pass or `count` are sent."""
    assert callable(pick)
    latencies: dict[str, list[float]] = {}
    statuses: dict[int, int] = {}
    failures = 0
    sent = 0
    timeline: list[tuple[float, float, str, int]] = []
    started = time.perf_counter()
    interval = clients / rate if rate else 0.0

    def more() -> bool:
        if count is not None and sent >= count:
            return False
        return seconds is None or time.perf_counter() - started < seconds

    async def worker(index: int) -> None:
        nonlocal failures, sent
        client = RawClient(ports[index % len(ports)])
        due = time.perf_counter() + index * interval / max(1, clients)
        try:
            while more():
                i = sent
                sent += 1
                req: Request = pick(i)
                if interval:
                    delay = due - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    due += interval
                t0 = time.perf_counter()
                sent_at = time.monotonic()
                try:
                    status = await client.request(req.method, req.path, req.headers, req.body)
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    status = 0
                    await client.close()
                    client = RawClient(ports[index % len(ports)])
                took = time.perf_counter() - t0
                latencies.setdefault(req.label or req.path, []).append(took)
                timeline.append((sent_at, took, req.label or req.path, status))
                statuses[status] = statuses.get(status, 0) + 1
                failures += status not in req.ok
        finally:
            await client.close()

    await asyncio.gather(*(worker(i) for i in range(clients)))
    return LoadResult(time.perf_counter() - started, latencies, failures, statuses, timeline)


def drive(ports: Sequence[int], pick: object, clients: int, *, seconds: float | None = None,
          count: int | None = None, rate: float | None = None) -> LoadResult:
    return asyncio.run(_drive(ports, pick, clients, seconds=seconds, count=count, rate=rate))


def rss_mb(pid: int) -> float:
    """Resident set size of a server process and its children (serve's heartbeat writer process), MB."""
    return tree_rss_kb(pid) / 1024


def bench_settings(data_dir: Path, database_url: str | None = None):  # type: ignore[no-untyped-def]
    """Settings for a bench data dir, on `database_url` when given (needs the PostgreSQL backend's setting)."""
    from hackatime_lite.config import Settings

    if not database_url:
        return Settings(data_dir=str(data_dir))
    if "database_url" not in Settings.__struct_fields__:
        raise SystemExit("--database-url: this build has no database_url setting yet (PostgreSQL backend missing)")
    return Settings(data_dir=str(data_dir), database_url=database_url)  # type: ignore[call-arg]  # field checked above
