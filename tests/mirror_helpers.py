"""Helpers for the mirror/import/export tests: a scriptable fault-injecting upstream and a dump generator."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock


@dataclass
class Reply:
    status: int = 202
    body: Any = None  # JSON-encoded unless bytes; None → one 201 entry per item
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    items: list[dict[str, Any]]


Script = Callable[[Received], Reply]


class FaultyUpstream:
    """A WakaTime-like bulk endpoint on 127.0.0.1 whose answers come from a queue of scripted replies."""

    def __init__(self) -> None:
        self.replies: list[Reply | Script] = []
        self.received: list[Received] = []
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    items = json.loads(raw or b"[]")
                except ValueError:
                    items = []
                got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, items)
                with upstream._lock:
                    upstream.received.append(got)
                    scripted = upstream.replies.pop(0) if upstream.replies else Reply()
                reply = scripted(got) if callable(scripted) else scripted
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body
                if body is None:
                    body = {"responses": [[{"data": None, "error": None}, 201] for _ in items]}
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self) -> FaultyUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def script(self, *replies: Reply | Script) -> None:
        with self._lock:
            self.replies.extend(replies)


def per_item(*statuses: int, error: str = "refused") -> Script:
    """A 202 whose per-item statuses cycle through `statuses`."""

    def answer(got: Received) -> Reply:
        entries = []
        for position in range(len(got.items)):
            status = statuses[position % len(statuses)]
            body = {"data": None, "error": None} if status < 300 else {"error": f"{error} {status}"}
            entries.append([body, status])
        return Reply(202, {"responses": entries})

    return answer


def heartbeat_items(count: int, start: float, *, step: float = 30.0, project: str = "mirror",
                    prefix: str = "file") -> list[dict[str, Any]]:
    return [{"entity": f"/code/{project}/{prefix}{i % 9}.py", "type": "file", "time": start + i * step + 0.123456,
             "project": project, "branch": "main", "is_write": i % 2 == 0, "lines": 100 + i,
             "dependencies": ["os", "json"], "category": "coding"} for i in range(count)]


def write_wakatime_dump(path: Path, count: int, *, per_day: int = 1000, start: float = 1_700_000_000.0) -> int:
    """A WakaTime data dump (`{"user", "range", "days": [{"date", "heartbeats": [...]}]}`), written as a stream."""
    ua_id, machine_id = str(uuid.uuid4()), str(uuid.uuid4())
    made = day = 0
    with path.open("w") as handle:
        header = {"user": {"username": "dumped", "display_name": None}, "range": {"start": start, "end": start + count}}
        handle.write(json.dumps(header)[:-1] + ', "days": [')
        while made < count:
            size = min(per_day, count - made)
            beats = [{"id": str(uuid.uuid4()), "entity": f"/src/p{i % 5}/mod{i % 40}.py", "type": "file",
                      "category": "coding", "time": start + day * 86400 + i * 41.000123, "project": f"p{i % 5}",
                      "branch": "main", "language": "Python", "dependencies": ["os"], "lines": 10 + i,
                      "lineno": i % 50, "cursorpos": i, "is_write": i % 4 == 0, "machine_name_id": machine_id,
                      "user_agent_id": ua_id, "created_at": "2023-11-14T22:13:20Z"} for i in range(size)]
            handle.write(("," if day else "") + json.dumps({"date": f"day-{day}", "heartbeats": beats}))
            made += size
            day += 1
        handle.write("]}")
    return made


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(interval)


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set HACKATIME_* variables for subprocesses started inside the block."""
    with mock.patch.dict("os.environ", values):
        yield
