"""Dashboard server time per page for a user with 1M heartbeats, and the size of the static bundle.

    .venv/bin/python bench/web.py [--data-dir /tmp/bench-web-1m] [--rows 1000000] [--days 730] [--repeat 15]

The data set comes from bench/gen.py (one user, so every row is theirs; reused when --data-dir already holds
one). The app runs in process as `serve` builds it; the scheduler's streak and leaderboard jobs run once first,
as they would have on a running server. Each page is requested through the ASGI stack (routing, session
lookup, CSRF middleware, the use cases, template rendering) with a logged-in session; times are wall-clock
per request, p50 / p90 over --repeat runs after one warm-up. /settings (a template, no analytics) and
/api/health are the same-run baselines. Target (issue 7): pages <= 200 ms.
"""

from __future__ import annotations

import argparse
import gzip
import re
import sys
import tempfile
import time
from pathlib import Path

from litestar.testing import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen import generate
from measure import percentile

from hackatime_lite import paths
from hackatime_lite.app import create_app
from hackatime_lite.config import Settings
from hackatime_lite.jobs.registry import build_leaderboards, refresh_streaks
from hackatime_lite.store import Store

PASSWORD = "bench-password"
TARGET_MS = 200.0


def bundle_report() -> tuple[int, int, list[tuple[str, int, int]]]:
    """(raw bytes, gzip bytes, per file) of everything under the package's static dir."""
    rows = []
    for path in sorted((paths.web_root() / "static").rglob("*")):
        if path.is_file() and path.name != "manifest.json" and not path.name.endswith(".txt"):
            data = path.read_bytes()
            rows.append(
                (
                    str(path.relative_to(paths.web_root() / "static")),
                    len(data),
                    len(gzip.compress(data, compresslevel=9)),
                )
            )
    return sum(r[1] for r in rows), sum(r[2] for r in rows), rows


def login(client: TestClient, username: str) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:300]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-web-"))
    settings = Settings(data_dir=str(data_dir))
    if not settings.paths.database.exists():
        generate(data_dir, rows=args.rows, users=1, days=args.days)
    store = Store(settings.paths.database)
    user = store.list_users()[0]
    store.set_password(user.id, PASSWORD)
    count = (
        store.reader().execute("SELECT COUNT(*) FROM heartbeats WHERE user_id = ?", (user.id,)).fetchone()[0]
    )
    top_project = (
        store.reader()
        .execute(
            "SELECT project FROM heartbeats WHERE user_id = ? GROUP BY project ORDER BY COUNT(*) DESC LIMIT 1",
            (user.id,),
        )
        .fetchone()[0]
    )

    started = time.perf_counter()
    app = create_app(settings, store=store, start_scheduler=False)
    ctx = app.state.ctx
    ctx.replica.sync()
    print(
        f"user {user.username}: {count:,} heartbeats; replica ready in {time.perf_counter() - started:.1f} s"
    )
    refresh_streaks(ctx)
    build_leaderboards(ctx)

    pages = [
        ("/api/health", "baseline: health JSON"),
        ("/settings", "baseline: settings page (template, no analytics)"),
        ("/?range=today", "dashboard, today"),
        ("/", "dashboard, last 7 days (default)"),
        ("/?range=last_30_days", "dashboard, last 30 days"),
        ("/?range=year", "dashboard, this year"),
        ("/?range=all_time", "dashboard, all time"),
        ("/?range=last_7_days&language=Python", "dashboard, 7 days, language filter"),
        ("/web/api/dashboard/panels?range=last_7_days", "panels JSON (hours, timeline), 7 days"),
        ("/web/api/dashboard/panels?range=all_time", "panels JSON (hours, timeline), all time"),
        ("/web/api/dashboard/year", "year heat-map JSON (after page load)"),
        ("/web/api/live", "live status JSON (polled)"),
        ("/web/api/preview?duration_mode=keystroke&timeout=60", "rule preview JSON"),
        ("/projects", "projects, last 30 days"),
        (f"/project?name={top_project}&range=last_30_days", "project page, last 30 days"),
        ("/leaderboard", "leaderboard"),
        ("/setup", "setup"),
        ("/admin", "admin"),
    ]
    results = []
    with TestClient(app, raise_server_exceptions=True) as client:
        login(client, user.username)
        for path, label in pages:
            client.get(path)  # warm-up: first-use costs (query plans, template compile) are not per request
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, (path, response.status_code, response.text[:300])
            results.append(
                (label, path, percentile(times, 0.5), percentile(times, 0.9), len(response.content))
            )
    store.close()

    print(f"\n{'page':52} {'p50 ms':>8} {'p90 ms':>8} {'bytes':>8}")
    for label, _, p50, p90, size in results:
        mark = "" if label.startswith("baseline") or p50 <= TARGET_MS else "  > target"
        print(f"{label:52} {p50:8.1f} {p90:8.1f} {size:8,}{mark}")
    raw, zipped, files = bundle_report()
    print(f"\nstatic bundle: {raw / 1024:.1f} KiB raw, {zipped / 1024:.1f} KiB gzip")
    for name, size, gz in files:
        print(f"  {name:28} {size / 1024:7.1f} KiB  ({gz / 1024:.1f} KiB gzip)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
