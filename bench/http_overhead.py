"""Per-request overhead of the read API over HTTP (issue 13), quickly: the status bar and stats/last_7_days
req/s at 4 keep-alive clients (--clients) next to the hello-world Litestar route, on a small generated data dir, as the
HTTP section of bench/compare.py measures them (acceptance: status bar >= 25 % of hello world, stats >= 10 %).

    .venv/bin/python bench/http_overhead.py [--rows 30000 --users 5 --days 60 --seconds 5 --runs 3]
    .venv/bin/python bench/http_overhead.py --py-spy /tmp/statusbar.txt   # also profile the server (raw stacks)

The data dir is generated once per (rows, users, days) under bench/results/ and reused; each run copies its
database into a temp dir, adds an API key for the most active user and starts `serve` (no scheduler) on it.
Runs alternate hello world and the server routes, so a busy machine slows both alike; the ratios are per run.
Besides req/s (what the acceptance compares) it prints each server's CPU time per request: on a machine that
other work shares, req/s swings by 2x between runs while CPU per request stays within ~10 %; and the CPU per
request of each server's quietest slice of the run (--slices), which other work moves least.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gen
import servers

from hackatime_lite.config import Settings
from hackatime_lite.store import Store

BENCH = Path(__file__).resolve().parent
ROUTES = (("status bar today", "/api/v1/users/current/statusbar/today", 0.25),
          ("stats last_7_days", "/api/v1/users/current/stats/last_7_days", 0.10))


def data_dir_for(rows: int, users: int, days: int) -> Path:
    data_dir = BENCH / "results" / f"data-{rows}-{users}u-{days}d"
    if not (data_dir / gen.META_FILE).exists():
        if data_dir.exists():
            shutil.rmtree(data_dir)  # a generation that did not finish
        gen.generate(data_dir, rows=rows, users=users, days=days, quiet=True)
    return data_dir


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU time of a process, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


@dataclass
class Measured:
    req_s: float
    cpu_ms: float  # server CPU per request: steadier than req/s on a machine other work shares
    failures: int
    sys_ms: float = 0.0  # the part of cpu_ms spent in the kernel (sockets, thread wake-ups)
    # The lowest server CPU per request of the run's slices (--slices): the quietest stretch of the run. Other
    # work on the machine inflates a process's CPU per request too (caches, wake-ups), in bursts; the quietest
    # slice of each server is what a run on a quiet machine measures, and moves least from run to run.
    quiet_cpu_ms: float = 0.0


def measure(node: servers.Node, request: servers.Request, seconds: float, clients: int = 4,
            slices: int = 1) -> Measured:
    servers.drive([node.port], lambda _i: request, clients, seconds=1)  # warm up (connections, caches)
    count = failures = 0
    cpu = system_cpu = wall = 0.0
    per_slice: list[float] = []
    for _ in range(max(1, slices)):
        user, system = cpu_seconds(node.process.pid)
        res = servers.drive([node.port], lambda _i: request, clients, seconds=seconds / max(1, slices))
        user_after, system_after = cpu_seconds(node.process.pid)
        spent = user_after - user + system_after - system
        count, failures = count + res.count, failures + res.failures
        cpu, system_cpu = cpu + spent, system_cpu + system_after - system
        wall += res.count / res.rate if res.rate else 0.0
        per_slice.append(1000 * spent / max(1, res.count))
    count = max(1, count)
    return Measured(count / wall if wall else 0.0, 1000 * cpu / count, failures, sys_ms=1000 * system_cpu / count,
                    quiet_cpu_ms=min(per_slice))


def hello_rate(seconds: float, clients: int, slices: int = 1) -> Measured:
    hello = servers.start_hello()
    try:
        return measure(hello, servers.Request("GET", "/", {}, label="hello"), seconds, clients, slices)
    finally:
        hello.process.terminate()
        hello.process.wait(10)


def aggregate_raw(path: Path, top: int = 40) -> str:
    """py-spy's raw output (one 'frame;frame;… count' line per stack) as the frames with the most busy samples,
    inclusive (own + callees) and own."""
    idle = ("Condition.wait (", "Queue.get (", "Runner.run (", "select (")  # waiting, not working (with uvloop,
    # Runner.run's own samples are the loop in C: mostly epoll, which a profile of Python cannot split off)
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames[-1].startswith(idle):
            continue
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    out = [f"{total} busy samples; inclusive:"]
    out += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    out += ["own:"] + [f"{100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    return "\n".join(out)


def run(args: argparse.Namespace) -> list[dict[str, Measured]]:
    source = data_dir_for(args.rows, args.users, args.days)
    results = []
    with tempfile.TemporaryDirectory(prefix="hl-overhead-") as tmp:
        node_dir = Path(tmp) / "data"
        node_dir.mkdir()
        settings = Settings(data_dir=str(node_dir))
        settings.paths.ensure()
        shutil.copy2(Settings(data_dir=str(source)).paths.database, settings.paths.database)
        with sqlite3.connect(settings.paths.database) as conn:
            # The most active user: the heaviest status bar and stats of the data set.
            user_id = conn.execute("SELECT user_id FROM heartbeats GROUP BY user_id ORDER BY count(*) DESC"
                                   " LIMIT 1").fetchone()[0]
        with Store(settings.paths.database) as store:
            _, key = store.create_api_key(user_id)
        headers = servers.basic_auth(key)
        for run_no in range(args.runs):
            row = {"hello world": hello_rate(args.seconds, args.clients, args.slices)}
            cluster = servers.start_nodes([node_dir], scheduler=False)
            try:
                node = cluster.nodes[0]
                for label, path, _ in ROUTES:
                    request = servers.Request("GET", path, headers, label=label)
                    if args.py_spy and run_no == 0:
                        out = Path(f"{args.py_spy}.{label.split()[0]}.raw")
                        spy = subprocess.Popen(
                            [str(Path(sys.executable).parent / "py-spy"), "record", "--rate", "250", "--gil", "--pid",
                             str(cluster.nodes[0].process.pid), "-d", str(int(args.seconds)), "-f", "raw",
                             "--nonblocking", "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        row[label] = measure(node, request, args.seconds, args.clients, args.slices)
                        spy.wait(60)
                        if out.exists():
                            out.with_suffix(".txt").write_text(aggregate_raw(out))
                            print(f"profile of {label}: {out.with_suffix('.txt')}")
                    else:
                        row[label] = measure(node, request, args.seconds, args.clients, args.slices)
                    if row[label].failures:
                        raise SystemExit(f"{label}: {row[label].failures} failed requests")
            finally:
                cluster.stop()
            results.append(row)
            hello = row["hello world"]
            print(f"run {run_no + 1}: hello {hello.req_s:6.0f} req/s {hello.cpu_ms:5.2f} ms CPU, {hello.sys_ms:4.2f} sys, "
                  f"quietest {hello.quiet_cpu_ms:5.3f} | "
              + " | ".join(
                f"{label} {row[label].req_s:6.0f} req/s = {100 * row[label].req_s / hello.req_s:5.1f} % "
                f"({row[label].cpu_ms:5.2f} ms CPU, {row[label].sys_ms:4.2f} sys = {100 * hello.cpu_ms / row[label].cpu_ms:5.1f} %; "
                f"quietest {row[label].quiet_cpu_ms:5.3f} ms = {100 * hello.quiet_cpu_ms / row[label].quiet_cpu_ms:5.1f} %)"
                for label, _, _ in ROUTES), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=30_000, help="about this many heartbeats in the data set")
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per route and run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4, help="keep-alive connections (compare.py: 4)")
    parser.add_argument("--slices", type=int, default=5,
                        help="measure each route in this many slices of --seconds and also report the quietest "
                             "slice's CPU per request (steadiest on a shared machine)")
    parser.add_argument("--py-spy", default=None, metavar="PREFIX",
                        help="profile the server during the first run: PREFIX.<route>.raw and .txt (aggregated)")
    args = parser.parse_args()
    results = run(args)
    for label, _, target in ROUTES:
        rates = sorted(r[label].req_s / r["hello world"].req_s for r in results)
        cpus = sorted(r["hello world"].cpu_ms / r[label].cpu_ms for r in results)
        quiet = sorted(r["hello world"].quiet_cpu_ms / r[label].quiet_cpu_ms for r in results)
        print(f"{label}: req/s median {100 * rates[len(rates) // 2]:.1f} % of hello world "
              f"(runs: {', '.join(f'{100 * v:.1f}' for v in rates)}; target >= {100 * target:.0f} %); "
              f"by server CPU per request {100 * cpus[len(cpus) // 2]:.1f} % "
              f"(runs: {', '.join(f'{100 * v:.1f}' for v in cpus)}); "
              f"quietest slices {100 * quiet[len(quiet) // 2]:.1f} % (runs: {', '.join(f'{100 * v:.1f}' for v in quiet)})")


if __name__ == "__main__":
    main()
