"""bench/compare.py --quick on a tiny data set against SQLite only: it runs, every engine's answers agree
with the project's (the script exits 1 otherwise), and it writes the Markdown report with its charts.
Benchmarks are not tests; this only keeps the published benchmark runnable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # generates data, builds a replica and runs every query: ~10 s of CPU
def test_compare_quick_runs_and_engines_agree(tmp_path: Path) -> None:
    out = tmp_path / "docs"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "compare.py"), "--quick", "--rows", "5000", "--users", "12",
         "--days", "14", "--no-pg", "--no-http", "--data-dir", str(tmp_path / "data"), "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = (out / "benchmarks.md").read_text()
    assert "(all agree)" in text
    for query in ("status bar", "one user's 7 days", "one user's 60 days", "summaries of a month",
                  "7-day leaderboard", "daily totals per user"):
        row = next(line for line in text.splitlines() if line.startswith(f"| {query}"))
        assert row.count("ms") + row.count(" s ") >= 2, row  # the project's and SQLite's timings
    pytest.importorskip("matplotlib")
    assert (out / "benchmarks" / "per-user-reads.png").stat().st_size > 1000
    assert (out / "benchmarks" / "all-user-reads.png").stat().st_size > 1000
