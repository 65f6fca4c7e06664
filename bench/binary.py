"""The single executable next to `python -m hackatime_lite serve`, measured in the same run.

    .venv/bin/python bench/binary.py [--binary dist/hackatime-lite] [--runs 5] [--idle 3]

The CPU column (user + system time of the process tree until the first 200) barely moves with other load
on the machine; compare wall times only from a quiet machine.

For each way of starting the server: cold start to the first 200 from /api/health (median of `--runs`
starts on an already initialised data dir, after one untimed start that creates it), resident memory of
the whole process tree after `--idle` seconds without traffic, and the exit code after SIGTERM. Also the
executable's size. Targets (issue 5): start ≤ 1.5 s, size ≤ 80 MB, idle RSS ≤ 150 MB. The executable runs
from the copy of its build that its first start unpacked into its cache (scripts/selfextract.sh; the untimed
start makes it when the cache is empty); bench/startup.py also times a first start.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from measure import free_port, tree_cpu_seconds, tree_rss_kb

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"start_s": 1.5, "size_mb": 80.0, "idle_rss_mb": 150.0}


class Started:
    def __init__(self, command: list[str], data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api/health"
        self.began = time.perf_counter()
        self.proc = subprocess.Popen(
            [*command, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", str(data_dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_ready(self, timeout: float = 30.0) -> float:
        with httpx.Client(timeout=0.5) as client:
            while time.perf_counter() - self.began < timeout:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited early with {self.proc.returncode}")
                try:
                    if client.get(self.url).status_code == 200:
                        return time.perf_counter() - self.began
                except httpx.HTTPError:
                    pass
                time.sleep(0.005)
        raise RuntimeError("server did not answer 200 in time")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)


def measure(name: str, command: list[str], runs: int, idle: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="hl-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        first = Started(command, data_dir)  # creates the database and the replica; not timed
        first.wait_ready()
        first.stop()
        starts, cpu, exit_codes, rss_kb = [], [], [], 0
        for run in range(runs):
            started = Started(command, data_dir)
            starts.append(started.wait_ready())
            cpu.append(tree_cpu_seconds(started.proc.pid))
            if run == 0:
                time.sleep(idle)
                rss_kb = tree_rss_kb(started.proc.pid)
            exit_codes.append(started.stop())
    return {
        "name": name,
        "start_s_median": round(statistics.median(starts), 3),
        "start_s_all": [round(s, 3) for s in starts],
        "start_cpu_s_median": round(statistics.median(cpu), 3),
        "idle_rss_mb": round(rss_kb / 1024, 1),
        "sigterm_exit_codes": exit_codes,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", type=Path, default=REPO / "dist" / "hackatime-lite")
    parser.add_argument(
        "--onedir",
        type=Path,
        default=REPO / "dist" / "hackatime-lite-onedir" / "hackatime-lite",
        help="also measure a one-dir build if present (HACKATIME_ONEDIR=1 scripts/build_binary.sh)",
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter with hackatime-lite installed")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idling before reading RSS")
    args = parser.parse_args()
    if not args.binary.is_file():
        print(f"{args.binary} not found: build it with scripts/build_binary.sh", file=sys.stderr)
        return 1

    size_mb = args.binary.stat().st_size / 1e6
    results = [
        measure("binary (one-file)", [str(args.binary)], args.runs, args.idle),
        measure("python -m hackatime_lite", [args.python, "-m", "hackatime_lite"], args.runs, args.idle),
    ]
    if args.onedir.is_file():
        results.append(measure("one-dir build", [str(args.onedir)], args.runs, args.idle))
    print(f"executable: {args.binary} {size_mb:.1f} MB (target ≤ {TARGETS['size_mb']:.0f} MB)")
    print(f"{'':26} {'start median':>13} {'(CPU)':>8} {'idle RSS':>9}  starts (s)  SIGTERM exit")
    for row in results:
        print(
            f"{row['name']:26} {row['start_s_median']:>11.3f} s {row['start_cpu_s_median']:>6.2f} s "
            f"{row['idle_rss_mb']:>6.1f} MB  {row['start_s_all']}  {row['sigterm_exit_codes']}"
        )
    print(f"targets: start ≤ {TARGETS['start_s']} s, idle RSS ≤ {TARGETS['idle_rss_mb']:.0f} MB")

    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {"size_mb": round(size_mb, 1), "targets": TARGETS, "results": results, "at": time.time()}
    out = out_dir / f"binary-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(record, indent=2))
    print(f"saved {out.relative_to(REPO)}")
    binary = results[0]
    met = (
        size_mb <= TARGETS["size_mb"]
        and binary["start_s_median"] <= TARGETS["start_s"]  # type: ignore[operator]
        and binary["idle_rss_mb"] <= TARGETS["idle_rss_mb"]  # type: ignore[operator]
    )
    return 0 if met else 2


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
