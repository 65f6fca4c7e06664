"""Run `hackatime-lite` (as `python -m hackatime_lite` would) with timing probes that write server-side events
to a JSON-lines file, for lining up against a load generator's per-request timeline (bench/mixed_load.py).

    .venv/bin/python bench/trace_server.py EVENTS.jsonl serve --port 8000 --data-dir DIR ...

Every event is {"t": start on the system-wide monotonic clock, "ms": duration, "ev": name, "thread": …, …}.
Probes (only events of at least MIN_MS are written, so the file stays small under load):
- gc: each collection (generation, objects collected) through gc.callbacks;
- replica: Replica.sync (and the part of it spent waiting for the sync lock), _sync_changes,
  _recompute_pending, _compact_locked, user_rows loads, every DuckDB write transaction (its COMMIT included:
  DuckDB checkpoints inside the commit that crosses wal_autocheckpoint);
- sqlite: each group commit of the writer thread (jobs in it);
- loop: event-loop lag (a task that asks to wake every 5 ms and notes how late it woke);
- files: the size of the SQLite WAL and the replica's DuckDB WAL every 50 ms when it changes (a drop is a
  checkpoint).

A benchmark tool, not part of the package: it patches classes of a running server and is never imported by it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import json
import os
import runpy
import sys
import threading
import time
from pathlib import Path
from typing import Any

MIN_MS = 2.0
_lock = threading.Lock()
_out: Any = None


def emit(ev: str, t: float, ms: float, **extra: Any) -> None:
    if ms < MIN_MS and not extra.pop("always", False):
        return
    line = json.dumps({"t": round(t, 6), "ms": round(ms, 3), "ev": ev, "thread": threading.current_thread().name,
                       **extra})
    with _lock:
        _out.write(line + "\n")


def timed(cls: Any, name: str, ev: str) -> None:
    original = getattr(cls, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.monotonic()
        try:
            return original(*args, **kwargs)
        finally:
            emit(ev, t, (time.monotonic() - t) * 1000)

    setattr(cls, name, wrapper)


def install() -> None:
    gc_started: dict[str, float] = {}

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started["t"] = time.monotonic()
        elif "t" in gc_started:
            t = gc_started.pop("t")
            emit("gc", t, (time.monotonic() - t) * 1000, gen=info.get("generation"), collected=info.get("collected"))

    gc.callbacks.append(on_gc)

    from hackatime_lite.analytics import replica as replica_mod
    from hackatime_lite.store.sqlite import db as db_mod

    replica_cls = replica_mod.Replica
    timed(replica_cls, "_sync_changes", "replica._sync_changes")
    timed(replica_cls, "_recompute_pending", "replica._recompute_pending")
    timed(replica_cls, "_compact_locked", "replica._compact_locked")
    timed(replica_cls, "user_rows", "replica.user_rows")
    timed(replica_cls, "day_totals", "replica.day_totals")

    original_sync = replica_cls.sync

    def sync(self: Any, *args: Any, **kwargs: Any) -> Any:
        t = time.monotonic()
        with self._sync_lock:  # re-entrant: the real sync takes it again at once
            waited = (time.monotonic() - t) * 1000
            result = original_sync(self, *args, **kwargs)
        emit("replica.sync", t, (time.monotonic() - t) * 1000, lock_wait_ms=round(waited, 3),
             copied=getattr(result, "copied", None), defer=kwargs.get("defer_rollups", False))
        return result

    replica_cls.sync = sync  # type: ignore[method-assign]

    original_tx = replica_cls._write_transaction

    @contextlib.contextmanager
    def write_transaction(self: Any) -> Any:
        t = time.monotonic()
        with original_tx(self) as cursor:
            body_started = time.monotonic()
            yield cursor
            body_done = time.monotonic()
        done = time.monotonic()
        emit("replica.write_tx", t, (done - t) * 1000, commit_ms=round((done - body_done) * 1000, 3),
             body_ms=round((body_done - body_started) * 1000, 3))

    replica_cls._write_transaction = write_transaction  # type: ignore[method-assign]

    original_commit = db_mod.SQLiteDatabase._commit_batch

    def commit_batch(self: Any, db: Any, batch: list[Any]) -> None:
        t = time.monotonic()
        original_commit(self, db, batch)
        emit("sqlite.group_commit", t, (time.monotonic() - t) * 1000, jobs=len(batch))

    db_mod.SQLiteDatabase._commit_batch = commit_batch  # type: ignore[method-assign]

    import uvicorn.server

    original_startup = uvicorn.server.Server.startup

    async def startup(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = await original_startup(self, *args, **kwargs)
        asyncio.get_running_loop().create_task(loop_lag())
        return result

    uvicorn.server.Server.startup = startup  # type: ignore[method-assign]


async def loop_lag() -> None:
    while True:
        asked = time.monotonic()
        await asyncio.sleep(0.005)
        late = (time.monotonic() - asked) * 1000 - 5
        if late >= MIN_MS:
            emit("loop.lag", asked + 0.005, late)


def watch_files(data_dir: Path) -> None:
    files = {"sqlite.wal": data_dir / "hackatime.sqlite3-wal"}
    last: dict[str, int] = {}
    while True:
        replica_wal = [p for p in data_dir.glob("*.duckdb.wal")]
        for path in replica_wal:
            files[f"duckdb.wal:{path.name}"] = path
        for name, path in files.items():
            try:
                size = path.stat().st_size
            except OSError:
                size = -1
            if last.get(name) != size:
                if name in last and size < last[name]:
                    emit("file.shrank", time.monotonic(), 0.0, always=True, file=name, before=last[name], after=size)
                last[name] = size
        time.sleep(0.05)


def count_objects() -> None:
    """How many objects the collector tracks (what a full collection walks), every 10 s."""
    while True:
        time.sleep(10)
        t = time.monotonic()
        counts = gc.get_count()
        tracked = len(gc.get_objects())
        emit("gc.tracked", t, (time.monotonic() - t) * 1000, always=True, tracked=tracked, counts=counts,
             frozen=gc.get_freeze_count())


def main() -> None:
    global _out
    events = Path(sys.argv[1])
    _out = events.open("w", buffering=1)
    sys.argv = ["hackatime-lite", *sys.argv[2:]]
    if "--data-dir" in sys.argv:
        data_dir = Path(sys.argv[sys.argv.index("--data-dir") + 1])
        threading.Thread(target=watch_files, args=(data_dir,), daemon=True, name="trace-files").start()
    emit("trace.start", time.monotonic(), 0.0, always=True, pid=os.getpid())
    install()
    threading.Thread(target=count_objects, daemon=True, name="trace-gc").start()
    runpy.run_module("hackatime_lite", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
