"""Read-API latency over HTTP against a real server process, next to a static route in the same run.

    .venv/bin/python bench/api.py [--user-rows 1000000] [--total-rows 2000000] [--requests 200]

One user ("bench") gets `--user-rows` heartbeats over the last `--days` days (bursts of short gaps with
breaks), the other users share the rest. Measured sequentially (one keep-alive connection, as a plugin or a
dashboard calls): GET /api/v1/meta (static, the baseline), the status bar, stats/last_7_days and
summaries?range=last_7_days. Targets (issue 4): status bar p50 <= 15 ms, stats p50 <= 50 ms.
`--aliases` adds a twin of the measured user (the same heartbeats) with 20 alias rules and 5 exclusions
(hackatime_lite.aliases, added through the native API) and measures the status bar and stats of both, their
requests interleaved, so a busy machine slows both alike (target, issue 14: p50 with rules <= 1.2x without).

Rows are written straight into SQLite (bench data: a counter stands in for the dedup hash, and the secondary
indexes are rebuilt after the load), then the server starts and builds its analytics replica.
`--database-url postgresql://…` loads through the store interface instead and runs the server(s) on that
database; `--nodes 2` starts two servers on it, clients spread round-robin (`--clients`).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from pathlib import Path

import servers
from measure import percentile

from hackatime_lite.models import HEARTBEAT_COLUMNS
from hackatime_lite.store import open_store

PROJECTS = [f"project-{i}" for i in range(12)]
LANGUAGES = ["Python", "Go", "TypeScript", "Rust", "Markdown", None]
EDITORS = ["VS Code", "Vim", "IntelliJ IDEA"]
SYSTEMS = ["Linux", "Mac"]
MACHINES = ["laptop", "desktop"]
_SECONDARY_INDEXES = ("heartbeats_user_time", "heartbeats_user_project_time")


def user_rows(user_id: int, count: int, end: float, days: int, seed: int, first_hash: int):  # type: ignore[no-untyped-def]
    """`count` heartbeats ending about at `end`, spread over `days`: bursts with 10-30 min breaks."""
    rng = random.Random(seed)
    step = days * 86400 / count  # average spacing needed to fill the days
    p_break = min(0.01, step / 2400)  # breaks average 1200 s and take at most half of the time
    gap = (step - p_break * 1200) / (1 - p_break)
    t = end - days * 86400
    for i in range(count):
        project = PROJECTS[(i // 400) % len(PROJECTS)]
        yield (user_id, t, f"/src/{project}/file{rng.randint(0, 200)}.py", "file", "coding", project, "main",
               rng.choice(LANGUAGES), None, 100, 1, 1, 0, 1, None, None, None, None, None, None, None, None,
               None, "wakatime/v1.98.0 (linux) go1.22 vscode/1.89 vscode-wakatime/24.5.0", rng.choice(EDITORS),
               rng.choice(SYSTEMS), rng.choice(MACHINES), "direct", (first_hash + i).to_bytes(16, "big"), t)
        t = min(end, t + (rng.uniform(600, 1800) if rng.random() < p_break else rng.uniform(0.5, 1.5) * gap))


def load(database: Path, users: list[tuple[int, int]], end: float, days: int,
         seeds: dict[int, int] | None = None) -> None:
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    for name in _SECONDARY_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    sql = f"INSERT INTO heartbeats ({', '.join(HEARTBEAT_COLUMNS)}) VALUES ({', '.join('?' * len(HEARTBEAT_COLUMNS))})"
    hashes = 0
    for user_id, count in users:
        conn.execute("BEGIN")
        conn.executemany(sql, user_rows(user_id, count, end, days, (seeds or {}).get(user_id, user_id), hashes))
        conn.execute("COMMIT")
        hashes += count
    conn.execute("CREATE INDEX heartbeats_user_time ON heartbeats(user_id, time)")
    conn.execute("CREATE INDEX heartbeats_user_project_time ON heartbeats(user_id, project, time)")
    conn.close()


def load_store(settings, users: list[tuple[int, int]], end: float, days: int,  # type: ignore[no-untyped-def]
               seeds: dict[int, int] | None = None) -> None:
    """The same rows through the store interface (any backend; slower than `load`'s raw SQLite path)."""
    from itertools import islice

    store = open_store(settings)
    try:
        hashes = 0
        for user_id, count in users:
            rows = user_rows(user_id, count, end, days, (seeds or {}).get(user_id, user_id), hashes)
            while chunk := list(islice(rows, 50_000)):
                store.import_heartbeats(chunk)
            hashes += count
    finally:
        store.close()


ROUTES = [("static /api/v1/meta", "/api/v1/meta"),
          ("status bar today", "/api/v1/users/current/statusbar/today"),
          ("stats last_7_days", "/api/v1/users/current/stats/last_7_days"),
          ("summaries last_7_days", "/api/v1/users/current/summaries?range=last_7_days")]


# 20 alias rules (exact and wildcard, merging and renaming; projects, editors, languages) and 5 exclusions.
ALIAS_RULES = (
    [("aliases", {"pattern": f"project-{i}", "value": f"Project {i // 2}"}) for i in range(8)]
    + [("aliases", {"pattern": p, "value": v}) for p, v in (("project-1?", "Teens"), ("proj*-9", "Nine"),
                                                            ("nothing-*", "None"), ("x?y*", "XY"))]
    + [("aliases", {"dimension": "editor", "pattern": p, "value": v})
       for p, v in (("VS Code", "Code"), ("Vim", "vim"), ("IntelliJ*", "JetBrains"), ("Emacs", "emacs"))]
    + [("aliases", {"dimension": "language", "pattern": p, "value": v})
       for p, v in (("Markdown", "Docs"), ("Rust", "rust"), ("Type*", "TS"), ("Go", "Golang"))]
    + [("exclusions", {"project": p, "mode": m})
       for p, m in (("project-9", "exclude"), ("project-11", "exclude"), ("gone", "exclude"),
                    ("project-8", "hide"), ("", "hide"))]
)
ALIAS_ROUTES = [("status bar today", "/api/v1/users/current/statusbar/today"),
                ("stats last_7_days", "/api/v1/users/current/stats/last_7_days")]


def add_alias_rules(port: int, headers: dict[str, str]) -> None:
    import http.client
    import json

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for collection, body in ALIAS_RULES:
            conn.request("POST", f"/api/native/v1/users/current/{collection}", body=json.dumps(body),
                         headers={**headers, "Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            if response.status != 201:
                raise SystemExit(f"adding {body} answered {response.status}")
    finally:
        conn.close()


def run_api(user_rows_count: int, total_rows: int, users: int, days: int, requests: int, *, clients: int = 1,
            database_url: str | None = None, nodes: int = 1, aliases: bool = False) -> dict[str, dict[str, float]]:
    """Load the data, start `nodes` servers (on `database_url` when given), measure each route with
    `clients` keep-alive connections spread round-robin over the nodes: p50/p99 ms, req/s, failures."""
    if nodes > 1 and not database_url:
        raise SystemExit("--nodes > 1 needs --database-url (nodes share one database; SQLite is one machine's)")
    with tempfile.TemporaryDirectory() as tmp:
        data_dirs = [Path(tmp) / f"node{i}" for i in range(nodes)]
        settings = servers.bench_settings(data_dirs[0], database_url)
        settings.paths.ensure()
        store = open_store(settings)
        name = f"bench{random.randrange(10**9)}"
        bench = store.create_user(name, timezone="Europe/Berlin")
        _, key = store.create_api_key(bench.id)
        others = [store.create_user(f"{name}-{i}").id for i in range(users - 1)]
        twin = store.create_user(f"{name}-rules", timezone="Europe/Berlin") if aliases else None
        twin_key = store.create_api_key(twin.id)[1] if twin else None
        store.close()
        rest = max(0, total_rows - user_rows_count)
        plan = [(bench.id, user_rows_count)] + [(uid, rest // len(others)) for uid in others if rest]
        seeds = {}
        if twin:
            plan.append((twin.id, user_rows_count))
            seeds[twin.id] = bench.id  # the same heartbeats as the measured user
        started = time.perf_counter()
        now = time.time()
        if database_url:
            load_store(settings, plan, now - 60, days, seeds)
        else:
            load(settings.paths.database, plan, now - 60, days, seeds)
        print(f"loaded {sum(c for _, c in plan):,} heartbeats in {time.perf_counter() - started:.1f} s")
        cluster = servers.start_nodes(data_dirs, database_url=database_url, scheduler=False)
        try:
            print(f"server(s) ready (replica built) in {max(n.ready_s for n in cluster.nodes):.1f} s")
            headers = servers.basic_auth(key)
            results = {}
            if twin_key:
                twin_headers = servers.basic_auth(twin_key)
                add_alias_rules(cluster.ports[0], twin_headers)
                for label, path in ALIAS_ROUTES:
                    pair = [servers.Request("GET", path, headers, label=f"{label} -rules"),
                            servers.Request("GET", path, twin_headers, label=f"{label} +rules")]
                    servers.drive(cluster.ports, lambda i, p=pair: p[i % 2], clients, count=10 * clients)
                    res = servers.drive(cluster.ports, lambda i, p=pair: p[i % 2], clients, count=2 * requests)
                    for request in pair:
                        lat = res.latencies[request.label]
                        results[request.label] = {"p50_ms": percentile(lat, .5) * 1000,
                                                  "p99_ms": percentile(lat, .99) * 1000,
                                                  "req_s": res.rate, "failures": res.failures}
            for label, path in ROUTES:
                request = servers.Request("GET", path, headers, label=label)
                servers.drive(cluster.ports, lambda _i, r=request: r, clients, count=5 * clients)  # warm up
                res = servers.drive(cluster.ports, lambda _i, r=request: r, clients, count=requests)
                lat = res.latencies[label]
                results[label] = {"p50_ms": percentile(lat, .5) * 1000, "p99_ms": percentile(lat, .99) * 1000,
                                  "req_s": res.rate, "failures": res.failures}
            return results
        finally:
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--user-rows", type=int, default=1_000_000, help="heartbeats of the measured user")
    parser.add_argument("--total-rows", type=int, default=2_000_000, help="heartbeats of all users together")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint")
    parser.add_argument("--clients", type=int, default=1, help="keep-alive connections (1: sequential)")
    parser.add_argument("--database-url", default=None,
                        help="run the server(s) on this database (postgresql://…); default: SQLite in a temp dir")
    parser.add_argument("--nodes", type=int, default=1, help="serve processes on the same database (needs a URL)")
    parser.add_argument("--aliases", action="store_true",
                        help="then add 20 alias rules and 5 exclusions and measure status bar and stats again")
    args = parser.parse_args()
    results = run_api(args.user_rows, args.total_rows, args.users, args.days, args.requests, clients=args.clients,
                      database_url=args.database_url, nodes=args.nodes, aliases=args.aliases)
    for label, r in results.items():
        print(f"{label:24} p50 {r['p50_ms']:7.2f} ms   p99 {r['p99_ms']:7.2f} ms   {r['req_s']:7.0f} req/s   "
              f"failures {r['failures']}")
    print(f"targets: status bar p50 <= 15 ms: {results['status bar today']['p50_ms'] <= 15}; "
          f"stats p50 <= 50 ms: {results['stats last_7_days']['p50_ms'] <= 50}")
    if args.aliases:
        for label, _ in ALIAS_ROUTES:
            ratio = results[f"{label} +rules"]["p50_ms"] / results[f"{label} -rules"]["p50_ms"]
            print(f"{label} with 20 alias rules + 5 exclusions: {ratio:.2f}x p50 without (target <= 1.2x)")


if __name__ == "__main__":
    main()
