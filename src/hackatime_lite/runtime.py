"""A running server's footprint in its data dir: the `server.lock` OS lock (one `serve` per data dir) and
`server.json` (its url and pid, so CLI processes find it).

The lock is an `flock` held on an open file for the life of the process: the OS drops it when the process
ends in any way (kill -9 included), so a stale lock never blocks a restart. `server.json` is written only by
the process that holds the lock, and removed only by it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # Windows: no flock; the lock degrades to the server.json liveness check
    fcntl = None  # type: ignore[assignment]  # the module is optional on this platform


class DataDirInUse(RuntimeError):
    """Another server holds the data dir; the message names it."""


class DataDirLock:
    """The exclusive `serve` lock on a data dir. `acquire()` raises DataDirInUse when another process holds it."""

    def __init__(self, lock_path: Path, server_file: Path) -> None:
        self.lock_path = lock_path
        self.server_file = server_file
        self._handle: IO[str] | None = None

    def acquire(self) -> DataDirLock:
        handle = self.lock_path.open("a+")
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                handle.close()
                raise DataDirInUse(self._holder_message()) from exc
        self._handle = handle
        return self

    def _holder_message(self) -> str:
        info = read_server_file(self.server_file)
        who = f"pid {info['pid']} serving {info['url']}" if info else "another process"
        return f"the data dir {self.lock_path.parent} is in use by {who}; stop it or choose another --data-dir"

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the descriptor drops the flock
            self._handle = None

    def __enter__(self) -> DataDirLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def write_server_file(path: Path, url: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "url": url}))
    tmp.replace(path)  # readers never see a half-written file


def read_server_file(path: Path) -> dict[str, Any] | None:
    """The running server's url and pid, or None when no live server owns the data dir."""
    try:
        info = json.loads(path.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info


def remove_server_file(path: Path) -> None:
    """Remove server.json if this process wrote it (never another server's)."""
    try:
        info = json.loads(path.read_text())
        if info.get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass
