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
  checkpoint);
- memory ("mem" every TRACE_MEM_SECONDS, default 5): RSS (anonymous and file-backed), glibc's malloc arenas
  (mallinfo2: bytes in use, free inside arenas, mmapped), SQLite's allocator (sqlite3_memory_used: every
  connection's page cache and statements), DuckDB's duckdb_memory() per tag, the replica's per-user rows,
  reader connections, threads, Python's allocated blocks and gc counts; with TRACE_TRACEMALLOC=1 also the
  tracemalloc total and, at exit of each interval, the top growth sites since the first sample.

A benchmark tool, not part of the package: it patches classes of a running server and is never imported by it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import gc
import json
import os
import runpy
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

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
    timed(replica_cls, "_checkpoint_locked", "replica.checkpoint")
    with contextlib.suppress(ImportError):  # older trees have no analytics/memory.py
        from hackatime_lite.analytics import memory as memory_mod

        timed(memory_mod, "trim", "malloc.trim")

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


_registry: dict[str, list[Any]] = {"replicas": [], "sqlite": [], "contexts": []}


class _MallInfo2(ctypes.Structure):
    _fields_: ClassVar = [(name, ctypes.c_size_t) for name in
                          ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                           "fordblks", "keepcost")]


def register_instances() -> None:
    """Remember every Replica, SQLiteDatabase and AppContext the server makes (for the memory probe)."""
    from hackatime_lite import context as context_mod
    from hackatime_lite.analytics import replica as replica_mod
    from hackatime_lite.store.sqlite import db as db_mod

    for key, cls in (("replicas", replica_mod.Replica), ("sqlite", db_mod.SQLiteDatabase),
                     ("contexts", context_mod.AppContext)):
        original = cls.__init__

        def init(self: Any, *args: Any, _original: Any = original, _key: str = key, **kwargs: Any) -> None:
            _original(self, *args, **kwargs)
            _registry[_key].append(self)

        cls.__init__ = init


def smaps_classes() -> dict[str, float]:
    """Resident anonymous memory by kind of mapping: glibc's main heap, glibc's per-thread arena heaps (a 64 MB
    reservation: a read-write part and a no-access rest), and other anonymous mappings (DuckDB's allocator,
    pymalloc's arenas, large numpy buffers)."""
    regions: list[tuple[int, int, str, str, int]] = []  # (start, end, perms, name, rss kB)
    current: list[Any] | None = None
    try:
        text = Path("/proc/self/smaps").read_text()
    except OSError:
        return {}
    for line in text.splitlines():
        first = line.split(maxsplit=5)
        if "-" in first[0] and len(first) >= 5 and ":" not in first[0]:
            start, end = (int(x, 16) for x in first[0].split("-"))
            current = [start, end, first[1], first[5] if len(first) > 5 else "", 0]
            regions.append(current)  # type: ignore[arg-type]
        elif current is not None and line.startswith("Rss:"):
            current[4] = int(line.split()[1])
    out: dict[str, float] = {"heap": 0.0, "arenas": 0.0, "other_anon": 0.0}
    for index, (start, end, perms, name, rss) in enumerate(regions):
        if name == "[heap]":
            out["heap"] += rss
        elif name == "" and perms.startswith("rw"):
            # A glibc arena heap: 64 MB aligned, its unused rest mapped ---p right after it.
            nxt = regions[index + 1] if index + 1 < len(regions) else None
            aligned = start % (64 * 1024 * 1024) == 0
            if aligned and (end - start == 64 * 1024 * 1024 or (nxt is not None and nxt[2].startswith("---")
                                                                  and nxt[0] == end and nxt[1] - start == 64 * 1024 * 1024)):
                out["arenas"] += rss
            else:
                out["other_anon"] += rss
    return {k: round(v / 1024, 1) for k, v in out.items()}


def memory_sample() -> dict[str, Any]:
    mb = 1024 * 1024
    out: dict[str, Any] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "Threads"):
            number = int(value.split()[0])
            out[key] = number if key == "Threads" else round(number / 1024, 1)
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
        out["malloc"] = {"arena_mb": round(info.arena / mb, 1), "in_use_mb": round(info.uordblks / mb, 1),
                         "free_mb": round(info.fordblks / mb, 1), "mmap_mb": round(info.hblkhd / mb, 1)}
    except (OSError, AttributeError):
        pass
    try:
        lib = ctypes.CDLL("libsqlite3.so.0")
        lib.sqlite3_memory_used.restype = ctypes.c_int64
        lib.sqlite3_memory_highwater.restype = ctypes.c_int64
        out["sqlite_mb"] = round(lib.sqlite3_memory_used() / mb, 1)
        out["sqlite_high_mb"] = round(lib.sqlite3_memory_highwater(0) / mb, 1)
    except OSError:
        pass
    out["smaps_mb"] = smaps_classes()
    out["sqlite_readers"] = sum(len(db._readers) for db in _registry["sqlite"])
    for replica in _registry["replicas"]:
        conn = getattr(replica, "_conn", None)
        if conn is None:
            continue
        try:
            cursor = conn.cursor()
            try:
                tags = cursor.execute("SELECT tag, memory_usage_bytes, temporary_storage_bytes FROM duckdb_memory() "
                                      "WHERE memory_usage_bytes > 0 OR temporary_storage_bytes > 0").fetchall()
                out["duckdb_mb"] = {tag: round(used / mb, 1) for tag, used, _ in tags}
                out["duckdb_total_mb"] = round(sum(used for _, used, _ in tags) / mb, 1)
                out["duckdb_temp_mb"] = round(sum(temp for _, _, temp in tags) / mb, 1)
            finally:
                cursor.close()
        except Exception as exc:  # a swap under way: the next sample reads it
            out["duckdb_error"] = str(exc)[:80]
        memory = replica.user_memory
        out["user_rows"] = {"users": len(getattr(memory, "_entries", {})), "rows": getattr(memory, "_rows", None)}
        out["read_cache"] = len(replica._read_cache)
        out["change_windows"] = sum(len(v) for v in replica._change_windows.values())
    out["answers"] = sum(len(ctx.answers) for ctx in _registry["contexts"])
    out["py_blocks_mb"] = round(sys.getallocatedblocks() * 64 / mb, 1)  # a rough size: 64 bytes a block
    out["gc_count"] = gc.get_count()
    return out


def watch_memory() -> None:
    every = float(os.environ.get("TRACE_MEM_SECONDS", "5"))
    tracing = os.environ.get("TRACE_TRACEMALLOC") == "1"
    first = None
    if tracing:
        import tracemalloc

        tracemalloc.start(8)
    while True:
        t = time.monotonic()
        sample = memory_sample()
        if tracing:
            import tracemalloc

            snapshot = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)])
            sample["tracemalloc_mb"] = round(tracemalloc.get_traced_memory()[0] / 1024 / 1024, 1)
            if first is None:
                first = snapshot
            else:
                top = snapshot.compare_to(first, "traceback")[:8]
                sample["tracemalloc_growth"] = [
                    {"kb": round(stat.size_diff / 1024), "count": stat.count_diff,
                     "where": [f"{frame.filename.rsplit('/', 2)[-1]}:{frame.lineno}" for frame in stat.traceback][-4:]}
                    for stat in top if stat.size_diff > 0]
        emit("mem", t, (time.monotonic() - t) * 1000, always=True, **sample)
        time.sleep(every)


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
    register_instances()
    threading.Thread(target=watch_memory, daemon=True, name="trace-mem").start()
    threading.Thread(target=count_objects, daemon=True, name="trace-gc").start()
    runpy.run_module("hackatime_lite", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
