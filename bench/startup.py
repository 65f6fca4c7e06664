"""Start-up times against their baselines, in one run (issue 13, item 4):

    .venv/bin/python bench/startup.py [--runs 7] [--binary dist/hackatime-lite]

- `hackatime-lite --help` and `hackatime-lite report today` (through a running server: the CLI's HTTP client
  path) against a bare `python -c pass` (target: a small multiple, ≤ ~3×);
- `serve` to its first 200 from /api/health against a hello-world Litestar app (bench/hello_app.py) started
  with `python -m uvicorn` to its first 200 (target ≤ 1.2×);
- the one-file executable's `serve` to its first 200 against `python -m hackatime_lite serve` (target ≤ 1.3×),
  when the executable exists (scripts/build_binary.sh builds it). It runs from the copy its first start
  unpacked into its cache (scripts/selfextract.sh; the warm-up round makes it); its first start on a machine,
  unpacking into an empty cache, is shown on the line below it (in no ratio).

Each figure is the median of `--runs` starts, interleaved round by round so that load on a shared machine
hits every subject alike. Servers start on an already initialised data dir (one untimed start creates it).
The CPU column (user + system time of the process until it answered) moves far less with other load on
the machine than wall time.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from measure import free_port, process_tree

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PY = sys.executable
TARGETS = {"--help": 3.0, "report today": 3.0, "serve": 1.2, "binary": 1.3}


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a live process and its reaped children (the one-file bootloader's child)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _answers_200(port: int, path: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def time_command(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and CPU seconds of one run of a command that exits by itself (it must succeed)."""
    started = time.perf_counter()
    before = os.times()
    # No terminal on any stream (stdin included: rich sizes output to a terminal behind stdin), as in a script.
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - started
    after = os.times()
    if done.returncode != 0:
        raise RuntimeError(f"{argv} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def time_to_200(argv: list[str], port: int, path: str, *, cwd: Path | None = None,
                env: dict[str, str] | None = None, deadline_s: float = 120.0) -> tuple[float, float]:
    """Wall seconds from spawning a server to its first 200 on `path` (polled every 5 ms), and the CPU
    seconds it had used by then; the server is stopped (SIGTERM) afterwards."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < deadline_s:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv} exited with {proc.returncode} before answering")
            if _answers_200(port, path):
                wall = time.perf_counter() - started
                cpu = sum(_cpu_seconds(pid) for pid in process_tree(proc.pid))
                return wall, cpu
            time.sleep(0.005)
        raise TimeoutError(f"{argv} did not answer 200 within {deadline_s} s")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def serve_argv(command: list[str], data_dir: Path, port: int) -> list[str]:
    return [*command, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir),
            "--log-level", "warning"]


_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def prepare(tmp: Path) -> tuple[Path, str]:
    """A data dir with a user, an API key and a few heartbeats; one untimed start builds its replica."""
    from hackatime_lite.config import Settings
    from hackatime_lite.ingest import IngestContext, ingest
    from hackatime_lite.store import open_store

    data_dir = tmp / "data"
    settings = Settings(data_dir=str(data_dir))
    settings.paths.ensure()
    store = open_store(settings)
    try:
        user = store.create_user("startup")
        _, key = store.create_api_key(user.id)
        now = time.time()
        items = [{"entity": f"/src/f{i % 7}.py", "time": now - 3600 + i * 30, "project": "bench"}
                 for i in range(100)]
        ingest(store, items, IngestContext(user=user, now=now))
    finally:
        store.close()
    port = free_port()
    time_to_200(serve_argv([PY, "-m", "hackatime_lite"], data_dir, port), port, "/api/health", env=_ENV)
    return data_dir, key


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--binary", type=Path, default=REPO / "dist" / "hackatime-lite")
    args = parser.parse_args()
    # Bytecode is written (the warm-up run caches it), as in an installed package: PYTHONDONTWRITEBYTECODE set
    # to anything, "0" included, would make every start recompile each module edited since its last .pyc.
    env = _ENV

    with tempfile.TemporaryDirectory(prefix="hl-startup-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir, key = prepare(tmp)
        # The server `report today` talks to stays up for the whole run.
        report_port = free_port()
        server = subprocess.Popen(serve_argv([PY, "-m", "hackatime_lite"], data_dir, report_port),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        # A second data dir for the timed `serve` starts (the report server holds the first one's lock).
        serve_dir = tmp / "serve"
        first = free_port()
        time_to_200(serve_argv([PY, "-m", "hackatime_lite"], serve_dir, first), first, "/api/health", env=env)
        try:
            deadline = time.perf_counter() + 120
            while not _answers_200(report_port, "/api/health"):
                if time.perf_counter() > deadline or server.poll() is not None:
                    raise RuntimeError("the report server did not start")
                time.sleep(0.05)
            report_url = f"http://127.0.0.1:{report_port}"

            def serve_python() -> tuple[float, float]:
                port = free_port()
                return time_to_200(serve_argv([PY, "-m", "hackatime_lite"], serve_dir, port), port, "/api/health",
                                   env=env)

            def serve_hello() -> tuple[float, float]:
                port = free_port()
                argv = [PY, "-m", "uvicorn", "hello_app:app", "--port", str(port), "--log-level", "warning",
                        "--loop", "uvloop", "--http", "httptools", "--no-access-log"]
                return time_to_200(argv, port, "/", cwd=BENCH, env=env)

            subjects: dict[str, Callable[[], tuple[float, float]]] = {
                "python -c pass": lambda: time_command([PY, "-c", "pass"], env),
                "hackatime-lite --help": lambda: time_command([PY, "-m", "hackatime_lite", "--help"], env),
                "hackatime-lite report today": lambda: time_command(
                    [PY, "-m", "hackatime_lite", "report", "today", "--server", report_url, "--key", key], env),
                "hello-world Litestar (uvicorn) to 200": serve_hello,
                "python -m hackatime_lite serve to 200": serve_python,
            }
            if args.binary.is_file():
                binary = str(args.binary.resolve())

                def serve_binary() -> tuple[float, float]:
                    port = free_port()
                    return time_to_200(serve_argv([binary], serve_dir, port), port, "/api/health", env=env)

                def serve_binary_unpacking() -> tuple[float, float]:
                    # Its first start on a machine: an empty cache, so it unpacks its build first (not in a ratio).
                    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=tmp))
                    try:
                        port = free_port()
                        return time_to_200(serve_argv([binary], serve_dir, port), port, "/api/health",
                                           env={**env, "HACKATIME_CACHE_DIR": str(cache)})
                    finally:
                        shutil.rmtree(cache, ignore_errors=True)

                subjects["one-file executable serve to 200"] = serve_binary
                subjects["  its first start (unpacks) to 200"] = serve_binary_unpacking
            walls: dict[str, list[float]] = {name: [] for name in subjects}
            cpus: dict[str, list[float]] = {name: [] for name in subjects}
            for run in subjects.values():  # warm-up: page cache, .pyc files
                run()
            for _ in range(args.runs):
                for name, run in subjects.items():
                    wall, cpu = run()
                    walls[name].append(wall)
                    cpus[name].append(cpu)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(20)

    med = {name: statistics.median(values) for name, values in walls.items()}
    cpu_med = {name: statistics.median(values) for name, values in cpus.items()}
    print(f"{'':40} {'median':>9} {'CPU':>8}   all runs (s)")
    for name in subjects:
        print(f"{name:40} {med[name]:8.3f}s {cpu_med[name]:7.3f}s   "
              f"{' '.join(f'{v:.3f}' for v in walls[name])}")
    bare, python_serve = med["python -c pass"], med["python -m hackatime_lite serve to 200"]
    ratios = [
        ("--help / python -c pass", med["hackatime-lite --help"] / bare, TARGETS["--help"]),
        ("report today / python -c pass", med["hackatime-lite report today"] / bare, TARGETS["report today"]),
        ("serve / hello-world Litestar", python_serve / med["hello-world Litestar (uvicorn) to 200"],
         TARGETS["serve"]),
    ]
    if "one-file executable serve to 200" in med:
        ratios.append(("one-file executable / python -m serve", med["one-file executable serve to 200"]
                       / python_serve, TARGETS["binary"]))
    else:
        # Relative to the repository when inside it: the output goes into docs/benchmarks.md.
        shown = args.binary.relative_to(REPO) if args.binary.is_relative_to(REPO) else args.binary
        print(f"(no executable at {shown}: build it with scripts/build_binary.sh to measure it)")
    met = True
    for label, ratio, target in ratios:
        ok = ratio <= target
        met &= ok
        print(f"ratio {label:40} {ratio:6.2f}  (target <= {target})  {'ok' if ok else 'MISSED'}")
    return 0 if met else 2


if __name__ == "__main__":
    sys.exit(main())
