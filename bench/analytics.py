"""Analytics benchmark: each query on the DuckDB replica next to the same rule in SQLite window functions.

Each replica query is timed twice in the same run: on the raw path (every figure from heartbeat rows,
`replica.use_rollups = False`, the design before rollups) and on the rollup path (whole local days from the
rollups, edges from raw rows); both answers are checked to agree.

    .venv/bin/python bench/analytics.py                 # 1M heartbeats (generated on first run)
    .venv/bin/python bench/analytics.py --rows 10000000 # 10M

Data lives in bench/results/data-<rows>/ (reused between runs); results go to bench/results/analytics-<rows>.json.
The SQLite side uses the same rule (per-user timeout and mode, clipping to the window, local days from the
same DST-correct windows) with SQLite's window functions on the source database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gen

from hackatime_lite.analytics import timezones
from hackatime_lite.analytics.leaderboards import compute_board, eligible_users
from hackatime_lite.analytics.queries import (
    DEFAULT_DIMENSIONS,
    daily_totals_all_users,
    replica_users,
    summarize,
    window_totals_all_users,
)
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.config import Settings
from hackatime_lite.store import Store
from hackatime_lite.store.sqlite.db import connect
from hackatime_lite.store.sqlite.heartbeats import delete_heartbeats

RESULTS = Path(__file__).resolve().parent / "results"
CATEGORIES = Settings().leaderboard_categories
console = Console(width=150)

# The one duration rule in SQLite SQL, for the baseline column.
_SQLITE_INTERVALS = """
s AS (
    SELECT h.id, h.user_id, h.time, h.project, h.language, h.editor, h.operating_system, h.machine, h.category
    FROM heartbeats h WHERE {where} AND h.time >= :lo AND h.time < :hi AND h.source <> 'test'
    UNION ALL
    -- Each user's first row at or past the horizon: only the successor of the last row before it (a gap over
    -- MAX_TIMEOUT still credits the timeout), its own interval starts after every window end.
    SELECT h.id, h.user_id, h.time, h.project, h.language, h.editor, h.operating_system, h.machine, h.category
    FROM heartbeats h WHERE {where} AND h.source <> 'test' AND h.time >= :hi AND h.time = (
        SELECT MIN(n.time) FROM heartbeats n WHERE n.user_id = h.user_id AND n.time >= :hi AND n.source <> 'test')
),
g AS (SELECT s.*, COALESCE(LEAD(time) OVER (PARTITION BY user_id ORDER BY time, id) - time, 0) AS gap FROM s),
u AS (SELECT id, timezone AS tz, COALESCE(timeout, 120) AS timeout, COALESCE(duration_mode, 'capped') AS mode
      FROM users),
iv AS (
    SELECT g.*, u.tz, g.time AS a,
           g.time + CASE WHEN u.mode = 'keystroke' THEN (CASE WHEN gap < u.timeout THEN gap ELSE 0 END)
                         ELSE MIN(gap, u.timeout) END AS b
    FROM g JOIN u ON u.id = g.user_id
),
c AS MATERIALIZED (
    SELECT iv.*, MAX(0.0, MIN(b, :end) - MAX(a, :start)) AS sec FROM iv WHERE a < :end AND b > :start
)"""


def sqlite_user_summary(conn: sqlite3.Connection, user_id: int, start: float, end: float,
                        dims: tuple[str, ...]) -> list[tuple]:
    unions = ["SELECT '', NULL, SUM(sec) FROM c"] + [f"SELECT '{d}', {d}, SUM(sec) FROM c GROUP BY {d}" for d in dims]
    sql = "WITH " + _SQLITE_INTERVALS.format(where="h.user_id = :uid") + "\n" + " UNION ALL ".join(unions)
    return conn.execute(sql, {"uid": user_id, "lo": start - 3600, "hi": end + 3600, "start": start,
                              "end": end}).fetchall()


def sqlite_leaderboard(conn: sqlite3.Connection, start: float, end: float) -> list[tuple]:
    cats = ", ".join("'" + c + "'" for c in CATEGORIES)
    sql = ("WITH " + _SQLITE_INTERVALS.format(where="1") +
           f"\nSELECT user_id, language, SUM(sec) FROM c WHERE category IN ({cats}) GROUP BY user_id, language")
    return conn.execute(sql, {"lo": start - 3600, "hi": end + 3600, "start": start, "end": end}).fetchall()


def sqlite_daily_totals(conn: sqlite3.Connection, first: dt.date, last: dt.date) -> list[tuple]:
    zones = [row[0] for row in conn.execute("SELECT DISTINCT timezone FROM users")]
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS days (tz TEXT, day TEXT, s REAL, e REAL)")
    conn.execute("DELETE FROM temp.days")
    conn.executemany("INSERT INTO temp.days VALUES (?, ?, ?, ?)",
                     [(tz, d.isoformat(), s, e) for tz in zones for d, s, e in timezones.day_windows(tz, first, last)])
    conn.execute("CREATE INDEX IF NOT EXISTS temp.days_tz_s ON days(tz, s)")
    start = min(timezones.local_midnight(tz, first) for tz in zones)
    end = max(timezones.local_midnight(tz, last + dt.timedelta(days=1)) for tz in zones)
    sql = ("WITH " + _SQLITE_INTERVALS.format(where="1") +
           "\nSELECT c.user_id, d.day, SUM(MIN(c.b, d.e) - MAX(c.a, d.s)) FROM c JOIN temp.days d "
           "ON d.tz = c.tz AND d.s < c.b AND d.e > c.a WHERE c.sec > 0 GROUP BY 1, 2")
    return conn.execute(sql, {"lo": start - 3600, "hi": end + 3600, "start": start, "end": end}).fetchall()


def assert_same(a: object, b: object, tolerance: float = 1e-3) -> None:
    """Two answers equal up to float summation order (numbers within `tolerance` seconds)."""
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        assert abs(a - b) <= tolerance, (a, b)
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple) and len(a) == len(b), (a, b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y, tolerance)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), (a, b)
        for key in a:
            assert_same(a[key], b[key], tolerance)
    elif hasattr(a, "__struct_fields__"):
        for field in a.__struct_fields__:
            x, y = getattr(a, field), getattr(b, field)
            if field == "breakdowns":  # ties in seconds may list in either order when sums differ by 1e-12
                x = {k: sorted(v, key=str) for k, v in x.items()}
                y = {k: sorted(v, key=str) for k, v in y.items()}
            assert_same(x, y, tolerance)
    else:
        assert a == b, (a, b)


def row_groups_of(replica: Replica, user_id: int) -> str:
    """"k of n": heartbeat row groups whose user_id zone map admits `user_id`, of all row groups."""
    rows = replica.run(lambda cursor: cursor.execute(
        "SELECT row_group_id, stats FROM pragma_storage_info('heartbeats') WHERE column_name = 'user_id' "
        "AND segment_type <> 'VALIDITY'").fetchall(), sync=False)
    groups: dict[int, bool] = {}
    for group, stats in rows:
        if isinstance(stats, dict):  # DuckDB 2: a struct
            low, high = int(stats["min"]), int(stats["max"])
        else:  # DuckDB 1: "[Min: 1, Max: 21][Has Null: false, …]"
            low, high = (int(float(part.split(":")[1])) for part in stats.strip("[]").split("]")[0].split(","))
        groups[group] = groups.get(group, False) or low <= user_id <= high
    return f"{sum(groups.values())} of {len(groups)}"


# CPU ms of every timed() call, per label (process CPU: a loaded machine inflates wall time, not this).
CPU_SAMPLES: dict[str, list[float]] = {}


def timed(fn: Callable[[], object], repeat: int, label: str = "") -> list[float]:
    samples = []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
        CPU_SAMPLES.setdefault(label, []).append((time.process_time() - cpu) * 1000)
    return samples


def cpu_p50(label: str) -> float:
    return round(p50(CPU_SAMPLES.get(label) or [0.0]), 2)


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def fresh_rows(meta: dict, count: int, offset_days: int, first_hash: int) -> list[tuple]:
    """`count` new heartbeats after the data set's end (for the incremental sync measurement)."""
    rng = random.Random(offset_days)
    np_rng = gen.np.random.default_rng(offset_days)
    columns = gen.DayColumns()
    profiles = [gen.Profile(rng, user_id, "UTC") for user_id in range(1, meta["users"] + 1)]
    t0 = meta["end"] + offset_days * 86400
    per_user = count // len(profiles) + 1
    for profile in profiles:
        columns.add_session(np_rng, profile, t0, per_user)
    return columns.rows(first_hash=first_hash)[:count]


def run(rows: int, data_dir: Path, users: int, days: int, user_samples: int, sqlite_repeat: int,
        rebuild: bool = True) -> dict:
    meta_file = data_dir / gen.META_FILE
    if not meta_file.exists():
        console.print(f"generating ~{rows:,} heartbeats into {data_dir} …")
        gen.generate(data_dir, rows=rows, users=users, days=days)
    meta = json.loads(meta_file.read_text())
    settings = Settings(data_dir=str(data_dir))
    results: dict[str, dict] = {}
    with Store(settings.paths.database) as store:
        replica = Replica(store, settings)
        try:
            if rebuild:
                started, cpu = time.perf_counter(), time.process_time()
                copied = replica.rebuild()
                rebuild_s = time.perf_counter() - started
                results["replica rebuild"] = {"rows": copied, "seconds": round(rebuild_s, 2),
                                              "cpu_seconds": round(time.process_time() - cpu, 2),
                                              "rows_per_s": round(copied / rebuild_s)}
                console.print(f"rebuild: {copied:,} rows in {rebuild_s:.1f} s = {copied / rebuild_s:,.0f} rows/s")
            noop = timed(replica.sync, 200)
            results["no-op sync"] = {"duckdb_p50_ms": round(p50(noop), 3)}

            sqlite = connect(settings.paths.database, readonly=True)
            end = meta["end"]
            rng = random.Random(1)
            sample_users = rng.sample(range(1, meta["users"] + 1), min(user_samples, meta["users"]))

            def both_paths(fn: Callable[[], object]) -> tuple[object, object]:
                """fn's answer on the raw path and on the rollup path (they must agree to the millisecond)."""
                replica.use_rollups = False
                try:
                    raw = fn()
                finally:
                    replica.use_rollups = True
                return raw, fn()

            def user_case(name: str, start: float, dims: tuple[str, ...]) -> None:
                for u in sample_users:
                    raw, rolled = both_paths(lambda u=u: summarize(replica, u, start, end, dimensions=dims))
                    assert_same(raw, rolled)
                replica.use_rollups = False
                before = [timed(lambda u=u: summarize(replica, u, start, end, dimensions=dims), 1, name + " raw")[0]
                          for u in sample_users]
                replica.use_rollups = True
                duck = [timed(lambda u=u: summarize(replica, u, start, end, dimensions=dims), 1, name)[0]
                        for u in sample_users * 3]
                lite = [timed(lambda u=u: sqlite_user_summary(sqlite, u, start, end, dims), 1)[0]
                        for u in sample_users[: max(3, len(sample_users) // 3)]]
                results[name] = {"raw_p50_ms": round(p50(before), 2), "duckdb_p50_ms": round(p50(duck), 2),
                                 "duckdb_p95_ms": round(p95(duck), 2), "sqlite_p50_ms": round(p50(lite), 2),
                                 "raw_cpu_p50_ms": cpu_p50(name + " raw"), "duckdb_cpu_p50_ms": cpu_p50(name)}
                console.print(name, results[name])

            for u in sample_users[:3]:  # warm both engines' caches
                summarize(replica, u, end - 7 * 86400, end)
                sqlite_user_summary(sqlite, u, end - 7 * 86400, end, ("project",))
            user_case("user 7-day stats (6 breakdowns)", end - 7 * 86400, DEFAULT_DIMENSIONS)
            user_case("user 60-day by project + language", end - 60 * 86400, ("project", "language"))

            # The status bar's read (today so far, 6 breakdowns): uncached, then served by the per-user cache
            # (Replica.cached_read; dropped by that user's next write). Reported apart: a hit is not a query.
            today = end - 6 * 3600

            def status(u: int, cached: bool) -> object:
                if not cached:
                    return summarize(replica, u, today, end, dimensions=DEFAULT_DIMENSIONS)
                replica.sync(defer_rollups=True)  # as reports.cached_report reads
                return replica.cached_read(u, ("status", today, end), lambda: summarize(
                    replica, u, today, end, dimensions=DEFAULT_DIMENSIONS, sync=False))

            uncached = [timed(lambda u=u: status(u, False), 1, "status uncached")[0] for u in sample_users * 2]
            for u in sample_users:
                status(u, True)  # fills the cache
            hits = replica.cache_hits
            cached_ms = [timed(lambda u=u: status(u, True), 1, "status cached")[0] for u in sample_users * 3]
            assert replica.cache_hits == hits + len(sample_users) * 3  # every one a hit
            results["status bar today (6 breakdowns), uncached"] = {
                "duckdb_p50_ms": round(p50(uncached), 2), "duckdb_cpu_p50_ms": cpu_p50("status uncached")}
            results["status bar today, per-user cache hit"] = {
                "duckdb_p50_ms": round(p50(cached_ms), 3), "duckdb_cpu_p50_ms": cpu_p50("status cached")}
            console.print("status bar", results["status bar today (6 breakdowns), uncached"],
                          results["status bar today, per-user cache hit"])

            def all_case(name: str, duck_fn: Callable[[], object], lite_fn: Callable[[], object]) -> None:
                raw, rolled = both_paths(duck_fn)
                assert_same(raw, rolled)
                replica.use_rollups = False
                before = timed(duck_fn, 5, name + " raw")
                replica.use_rollups = True
                duck = timed(duck_fn, 11, name)
                lite = timed(lite_fn, sqlite_repeat)
                results[name] = {"raw_p50_ms": round(p50(before), 1), "duckdb_p50_ms": round(p50(duck), 1),
                                 "sqlite_p50_ms": round(p50(lite), 1), "raw_cpu_p50_ms": cpu_p50(name + " raw"),
                                 "duckdb_cpu_p50_ms": cpu_p50(name)}
                console.print(name, results[name])

            all_case("7-day leaderboard, all users",
                     lambda: window_totals_all_users(replica, end - 7 * 86400, end, categories=CATEGORIES),
                     lambda: sqlite_leaderboard(sqlite, end - 7 * 86400, end))
            board_users = eligible_users(replica_users(replica))
            all_case("7-day leaderboard as the job builds it (whole local days per zone)",
                     lambda: sorted((row.user_id, row.total_seconds, sorted(row.languages, key=str)) for row in
                                    compute_board(replica, "last_7_days", end, Settings(), board_users).overall),
                     lambda: sqlite_leaderboard(sqlite, end - 7 * 86400, end))
            last = dt.datetime.fromtimestamp(end, dt.UTC).date() - dt.timedelta(days=1)
            first = last - dt.timedelta(days=days - 1)
            all_case(f"daily totals per user in own zone ({days} days)",
                     lambda: daily_totals_all_users(replica, first, last),
                     lambda: sqlite_daily_totals(sqlite, first, last))
            sqlite.close()

            small: list[float] = []
            for attempt in range(8):  # the common case: one editor's heartbeat, then a read
                store.import_heartbeats(fresh_rows(meta, 1, 100 + attempt, 10**13 + attempt * 10**6))
                small.append(timed(replica.sync, 1, "sync 1")[0])
            results["incremental sync, 1 new row"] = {"duckdb_p50_ms": round(p50(small[1:]), 1),
                                                      "duckdb_cpu_p50_ms": round(p50(CPU_SAMPLES["sync 1"][1:]), 1)}
            syncs, deletes = [], []
            for attempt in range(8):  # the first round warms up (the first sync after opening is colder)
                new_rows = fresh_rows(meta, 10_000, attempt + 1, 10**12 + attempt * 10**6)
                store.import_heartbeats(new_rows)
                syncs.append(timed(replica.sync, 1, "sync 10k")[0])
                lo, hi = meta["end"] + (attempt + 1) * 86400, meta["end"] + (attempt + 2) * 86400
                store.write(lambda db, lo=lo, hi=hi: sum(delete_heartbeats(db, u, start=lo, end=hi)
                                                         for u in range(1, meta["users"] + 1)))
                deletes.append(timed(replica.sync, 1, "sync 10k deletions")[0])
            results["incremental sync, 10k new rows"] = {
                "duckdb_p50_ms": round(p50(syncs[1:]), 1), "duckdb_p95_ms": round(max(syncs[1:]), 1),
                "duckdb_cpu_p50_ms": round(p50(CPU_SAMPLES["sync 10k"][1:]), 1)}
            results["incremental sync, 10k deletions"] = {
                "duckdb_p50_ms": round(p50(deletes[1:]), 1), "duckdb_p95_ms": round(max(deletes[1:]), 1),
                "duckdb_cpu_p50_ms": round(p50(CPU_SAMPLES["sync 10k deletions"][1:]), 1)}
            console.print("sync", results["incremental sync, 10k new rows"], results["incremental sync, 10k deletions"])

            # Physical order: how many heartbeat row groups one user's zone maps admit, with the syncs' rows
            # appended unsorted, then after compaction.
            probe_user = sample_users[0]
            unsorted = row_groups_of(replica, probe_user)
            started = time.perf_counter()
            replica.compact(force=True)
            compact_s = time.perf_counter() - started
            results["compaction"] = {"seconds": round(compact_s, 2),
                                     "row_groups_one_user_before": unsorted,
                                     "row_groups_one_user_after": row_groups_of(replica, probe_user)}
            console.print("compaction", results["compaction"])
        finally:
            replica.close()
    return {"rows": meta["rows"], "users": meta["users"], "days": meta["days"], "cpus": os.cpu_count(),
            "results": results}


def render(report: dict) -> None:
    table = Table(title=f"analytics at {report['rows']:,} heartbeats, {report['users']} users, {report['days']} days")
    for column in ("query", "raw path p50 ms", "DuckDB p50 ms", "DuckDB p95 ms", "SQLite p50 ms", "speed-up",
                   "CPU ms raw → now"):
        table.add_column(column, justify="left" if column == "query" else "right")
    for name, figures in report["results"].items():
        if "row_groups_one_user_after" in figures:
            table.add_row(name, "", f"{figures['seconds'] * 1000:,.0f}", "", "",
                          f"row groups for one user {figures['row_groups_one_user_before']} → "
                          f"{figures['row_groups_one_user_after']}", "")
            continue
        if "rows_per_s" in figures:
            table.add_row(name, "", f"{figures['seconds'] * 1000:,.0f}", "", "",
                          f"{figures['rows_per_s']:,} rows/s", f"{figures.get('cpu_seconds', 0) * 1000:,.0f}")
            continue
        duck, lite = figures.get("duckdb_p50_ms"), figures.get("sqlite_p50_ms")
        raw = figures.get("raw_p50_ms")
        raw_cpu, cpu = figures.get("raw_cpu_p50_ms"), figures.get("duckdb_cpu_p50_ms")
        table.add_row(name, f"{raw:,}" if raw else "", f"{duck:,}", f"{figures.get('duckdb_p95_ms', '')}",
                      f"{lite:,}" if lite else "", f"{lite / duck:,.1f}×" if lite and duck else "",
                      (f"{raw_cpu:,} → " if raw_cpu else "") + (f"{cpu:,}" if cpu is not None else ""))
    console.print(table)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--user-samples", type=int, default=21)
    parser.add_argument("--sqlite-repeat", type=int, default=2)
    parser.add_argument("--no-rebuild", action="store_true", help="reuse the replica file (no rebuild timing)")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or RESULTS / f"data-{args.rows}"
    report = run(args.rows, data_dir, args.users, args.days, args.user_samples, args.sqlite_repeat,
                 rebuild=not args.no_rebuild)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"analytics-{args.rows}.json").write_text(json.dumps(report, indent=2))
    render(report)


if __name__ == "__main__":
    main()
