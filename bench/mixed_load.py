"""Mixed load on one server (issue 13): 80 % bulk ingest (25 heartbeats a request), 20 % status bar, 4
keep-alive clients — first at full speed for `--seconds` (RSS sampled every second; growth counted after the
first sixth, the warm-up), then at half that rate for `--half-seconds` (p99 latency). The same load as
bench/compare.py's memory section (which calls `run_mixed` below), runnable on its own:

    .venv/bin/python bench/mixed_load.py                       # compare.py's data (1M heartbeats), 60 s + 20 s
    .venv/bin/python bench/mixed_load.py --quick               # 100k heartbeats, 10 s + 5 s
    .venv/bin/python bench/mixed_load.py --runs 3              # three fresh servers in a row
    .venv/bin/python bench/mixed_load.py --trace /tmp/ml       # + server events (bench/trace_server.py) lined
                                                               #   up with the slowest requests
    .venv/bin/python bench/mixed_load.py --py-spy /tmp/ml.txt  # + a py-spy profile of the server (raw stacks)

Acceptance: 0 errors, RSS growth <= 64 MB after warm-up, p99 <= 100 ms at half the maximum rate.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gen
import msgspec
import servers
from measure import percentile

from hackatime_lite.config import Settings
from hackatime_lite.store import Store

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
STATUS_PATH = "/api/v1/users/current/statusbar/today"
BULK_PATH = "/api/v1/users/current/heartbeats.bulk"


def bulk_body(i: int) -> bytes:
    import ingest

    return msgspec.json.encode(ingest.make_heartbeats(25, time.time() - 3600 + (i % 1000) * 3, seed=1000 + i))


def prepare_node(data_dir: Path, user_id: int, tmp: Path) -> tuple[Path, dict[str, str], dict[str, str]]:
    """A copy of `data_dir`'s database in tmp/data with a new API key for `user_id`: (node data dir, GET
    headers, POST headers)."""
    node_dir = tmp / "data"
    node_dir.mkdir()
    node_settings = Settings(data_dir=str(node_dir))
    node_settings.paths.ensure()
    shutil.copy2(Settings(data_dir=str(data_dir)).paths.database, node_settings.paths.database)
    with Store(node_settings.paths.database) as store:
        _, key = store.create_api_key(user_id)
    headers = servers.basic_auth(key)
    post_headers = {**headers, "Content-Type": "application/json", "User-Agent": servers.UA,
                    "X-Machine-Name": "bench-box"}
    return node_dir, headers, post_headers


def run_mixed(port: int, pid: int, headers: dict[str, str], post_headers: dict[str, str], seconds: float,
              half_seconds: float) -> tuple[dict[str, Any], servers.LoadResult, servers.LoadResult]:
    """The mixed load at full speed (RSS series) then at half that rate: compare.py's "memory" record and both
    runs' raw results (timelines)."""
    status = servers.Request("GET", STATUS_PATH, headers, label="status bar")

    def mixed(i: int) -> servers.Request:
        if i % 5 == 4:
            return status
        return servers.Request("POST", BULK_PATH, post_headers, bulk_body(i), ok=(201, 202), label="bulk")

    rss: list[tuple[float, float]] = []
    stop = threading.Event()
    t0 = time.perf_counter()

    def sample_rss() -> None:
        while not stop.is_set():
            rss.append((time.perf_counter() - t0, servers.rss_mb(pid)))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    res = servers.drive([port], mixed, 4, seconds=seconds)
    stop.set()
    sampler.join()
    warm = seconds / 6
    after_warm = [m for t, m in rss if t >= warm]
    at_warm = after_warm[0] if after_warm else rss[-1][1]
    out: dict[str, Any] = {
        "seconds": seconds, "rate_req_s": res.rate, "failures": res.failures,
        "statuses": res.statuses, "rss_start_mb": rss[0][1], "rss_after_warmup_mb": at_warm,
        "rss_end_mb": rss[-1][1], "rss_max_mb": max(m for _, m in rss),
        "growth_after_warmup_mb": max(after_warm or [at_warm]) - at_warm,
        "p99_ms_full": {k: percentile(v, .99) * 1000 for k, v in res.latencies.items()},
        "series": rss,
    }
    half = res.rate / 2
    res2 = servers.drive([port], mixed, 4, seconds=half_seconds, rate=half)
    all_lat = [x for v in res2.latencies.values() for x in v]
    out |= {"half_rate_req_s": half, "half_p99_ms": percentile(all_lat, .99) * 1000,
            "half_p99_ms_by_kind": {k: percentile(v, .99) * 1000 for k, v in res2.latencies.items()},
            "half_failures": res2.failures, "half_statuses": res2.statuses,
            "rss_final_mb": servers.rss_mb(pid)}
    return out, res, res2


def sample_user(data_dir: Path) -> int:
    """The user compare.py measures: random.Random(1).choice of the user ids in id order."""
    conn = sqlite3.connect(f"file:{Settings(data_dir=str(data_dir)).paths.database}?mode=ro", uri=True)
    try:
        ids = [row[0] for row in conn.execute("SELECT id FROM users ORDER BY id")]
    finally:
        conn.close()
    return random.Random(1).choice(ids)


def load_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:  # the last line of a server stopped mid-write
            continue
    return events


def explain_slowest(result: servers.LoadResult, events: list[dict[str, Any]], top: int) -> list[str]:
    """The `top` slowest requests, each with the server events that overlapped it."""
    lines = []
    for sent_at, took, label, status in sorted(result.timeline, key=lambda r: -r[1])[:top]:
        end = sent_at + took
        overlapping = [e for e in events if e["t"] < end and e["t"] + e["ms"] / 1000 > sent_at
                       and e["ev"] not in ("trace.start", "mem", "gc.tracked")]
        lines.append(f"{took * 1000:8.1f} ms {label:10} {status}  at +{sent_at - result.timeline[0][0]:7.2f} s")
        for e in sorted(overlapping, key=lambda e: -e["ms"])[:6]:
            extra = {k: v for k, v in e.items() if k not in ("t", "ms", "ev", "thread")}
            lines.append(f"           {e['ev']:28} {e['ms']:8.1f} ms  [{e['thread']}] {extra or ''}")
    return lines


def event_summary(events: list[dict[str, Any]]) -> list[str]:
    by: dict[str, list[float]] = {}
    for e in events:
        by.setdefault(e["ev"], []).append(e["ms"])
    return [f"{name:30} n {len(v):5}  max {max(v):8.1f} ms  sum {sum(v):9.1f} ms  p99 {percentile(v, .99):8.1f} ms"
            for name, v in sorted(by.items())]


def memory_table(events: list[dict[str, Any]], t0: float) -> list[str]:
    """The server's memory samples (bench/trace_server.py's "mem" events) from `t0` (the mixed load's start,
    on the same monotonic clock) on: where the RSS went."""
    lines = [f"{'t s':>6} {'RSS':>5} {'anon':>5} {'file':>4} | {'malloc':>6} {'free':>5} {'mmap':>5} | {'sqlite':>6} | "
             f"{'duckdb':>6} {'temp':>4} | {'rows':>7} {'thr':>3} {'rdr':>3} {'pyblk':>5} | {'heap':>4} {'arena':>5} "
             f"{'other':>5} | duckdb tags > 1 MB"]
    for e in events:
        if e["ev"] != "mem" or e["t"] < t0 - 15:
            continue
        m = e.get("malloc", {})
        tags = " ".join(f"{k}={v}" for k, v in sorted(e.get("duckdb_mb", {}).items(), key=lambda kv: -kv[1]) if v > 1)
        lines.append(f"{e['t'] - t0:6.0f} {e.get('VmRSS', 0):5.0f} {e.get('RssAnon', 0):5.0f} {e.get('RssFile', 0):4.0f} | "
                     f"{m.get('in_use_mb', 0):6.0f} {m.get('free_mb', 0):5.0f} {m.get('mmap_mb', 0):5.0f} | "
                     f"{e.get('sqlite_mb', 0):6.1f} | {e.get('duckdb_total_mb', 0):6.1f} {e.get('duckdb_temp_mb', 0):4.0f} | "
                     f"{(e.get('user_rows') or {}).get('rows') or 0:7} {e.get('Threads', 0):3} {e.get('sqlite_readers', 0):3} "
                     f"{e.get('py_blocks_mb', 0):5.0f} | {e.get('smaps_mb', {}).get('heap', 0):4.0f} "
                     f"{e.get('smaps_mb', {}).get('arenas', 0):5.0f} {e.get('smaps_mb', {}).get('other_anon', 0):5.0f} | {tags}")
        for growth in e.get("tracemalloc_growth", []):
            lines.append(f"         +{growth['kb']} kB ({growth['count']} blocks) {' < '.join(reversed(growth['where']))}")
    return lines


def one_run(data_dir: Path, user_id: int, args: argparse.Namespace, run: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hl-mixed-") as tmp:
        node_dir, headers, post_headers = prepare_node(data_dir, user_id, Path(tmp))
        launcher = None
        events_path = None
        if args.trace:
            args.trace.mkdir(parents=True, exist_ok=True)
            events_path = args.trace / f"events-{run}.jsonl"
            launcher = [sys.executable, str(BENCH / "trace_server.py"), str(events_path)]
        extra_env = dict(item.split("=", 1) for item in args.env)
        cluster = servers.start_nodes([node_dir], scheduler=args.scheduler, launcher=launcher, extra_env=extra_env)
        spy = None
        try:
            node = cluster.nodes[0]
            print(f"run {run}: serve ready in {node.ready_s:.1f} s", flush=True)
            # compare.py measures the status bar and stats at full speed first: the same warm state here.
            for path in (STATUS_PATH, "/api/v1/users/current/stats/last_7_days"):
                req = servers.Request("GET", path, headers)
                servers.drive([node.port], lambda _i, r=req: r, 4, seconds=args.read_seconds)
            if args.py_spy:
                spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                                        str(node.process.pid), "--format", "raw", "--rate", "200", "--threads",
                                        "--output", f"{args.py_spy}.{run}.raw", "--nonblocking"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            out, full, half = run_mixed(node.port, node.process.pid, headers, post_headers, args.seconds,
                                        args.half_seconds)
        finally:
            if spy is not None:
                spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT, not SIGTERM
                spy.wait(30)
            cluster.stop()
        if events_path is not None:
            events = load_events(events_path)
            (args.trace / f"timeline-{run}.json").write_text(json.dumps({"full": full.timeline, "half": half.timeline}))
            print("\n".join(event_summary(events)))
            if full.timeline:
                print("server memory (t from the mixed load's start):")
                print("\n".join(memory_table(events, full.timeline[0][0])))
            print("slowest at half rate:")
            print("\n".join(explain_slowest(half, events, args.top)))
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="a bench/gen.py data dir (default: compare.py's, generated when missing)")
    parser.add_argument("--quick", action="store_true", help="100k heartbeats, 10 s + 5 s")
    parser.add_argument("--seconds", type=float, default=None, help="full-speed phase (default 60; 10 quick)")
    parser.add_argument("--half-seconds", type=float, default=None, help="half-rate phase (default 20; 5 quick)")
    parser.add_argument("--read-seconds", type=float, default=3.0, help="status bar / stats warm-up before")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--scheduler", action="store_true", help="run the server's jobs (compare.py does not)")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server (repeatable)")
    parser.add_argument("--trace", type=Path, default=None, help="folder for server events and timelines")
    parser.add_argument("--top", type=int, default=12, help="slowest requests explained with --trace")
    parser.add_argument("--py-spy", default=None, help="profile the server: raw stacks to PREFIX.<run>.raw")
    parser.add_argument("--json", type=Path, default=None, help="write the runs' records here")
    args = parser.parse_args(argv)
    rows = 100_000 if args.quick else 1_000_000
    args.seconds = args.seconds or (10 if args.quick else 60)
    args.half_seconds = args.half_seconds or (5 if args.quick else 20)
    data_dir = args.data_dir or RESULTS / f"data-{rows}-200u-60d"
    if not (data_dir / gen.META_FILE).exists():
        print(f"generating ~{rows:,} heartbeats into {data_dir} …", flush=True)
        gen.generate(data_dir, rows=rows, users=200, days=60, quiet=True)
    user_id = sample_user(data_dir)
    records = []
    for run in range(1, args.runs + 1):
        out = one_run(data_dir, user_id, args, run)
        records.append(out)
        print(f"run {run}: full {out['rate_req_s']:.0f} req/s (failures {out['failures']}), "
              f"RSS {out['rss_after_warmup_mb']:.0f} -> max {out['rss_max_mb']:.0f} MB, growth after warm-up "
              f"{out['growth_after_warmup_mb']:.1f} MB; half rate {out['half_rate_req_s']:.0f} req/s: p99 "
              f"{out['half_p99_ms']:.1f} ms {json.dumps({k: round(v, 1) for k, v in out['half_p99_ms_by_kind'].items()})}"
              f" (failures {out['half_failures']}); full-speed p99 "
              f"{json.dumps({k: round(v, 1) for k, v in out['p99_ms_full'].items()})}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(records, indent=2))
    ok = all(r["failures"] == 0 and r["half_failures"] == 0 and r["growth_after_warmup_mb"] <= 64
             and r["half_p99_ms"] <= 100 for r in records)
    print("acceptance (0 errors, growth <= 64 MB, half-rate p99 <= 100 ms):", "met" if ok else "NOT met")
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
