"""Background jobs on a filled store: streaks, leaderboards, backup; with a same-run baseline query.

    .venv/bin/python bench/jobs.py [--users 200] [--days 60] [--per-day 60] [--zones 4]

Heartbeats: every user codes `--per-day` minutes a day (one heartbeat a minute) in one of `--zones` time
zones. The baseline is one `window_totals_all_users` over the last 7 days (the leaderboard's building block),
timed in the same run, so the job figures can be read against it on a noisy machine.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from hackatime_lite.analytics.queries import window_totals_all_users
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.config import Settings
from hackatime_lite.context import AppContext
from hackatime_lite.jobs.registry import backup_database, build_leaderboards, refresh_streaks
from hackatime_lite.models import Heartbeat
from hackatime_lite.store import Store
from hackatime_lite.store.records import heartbeat_row

ZONES = ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney", "America/Sao_Paulo"]
LANGS = ["Python", "Go", "Rust", "TypeScript", "C", "Java"]


def fill(store: Store, users: int, days: int, per_day: int, zones: int, now: float) -> int:
    rng = random.Random(7)
    total = 0
    for index in range(users):
        zone = ZONES[index % zones]
        user = store.create_user(f"user{index}", timezone=zone)
        rows = []
        for day in range(days):
            if rng.random() < 0.15:
                continue  # some days off, so streaks vary
            start = now - (day + 1) * 86400 + rng.randint(0, 20) * 3600
            language = rng.choice(LANGS)
            for minute in range(per_day):
                hb = Heartbeat(user_id=user.id, time=start + minute * 60 + rng.random(), entity="src/main.x",
                               type="file", category="coding", project="p", language=language)
                rows.append(heartbeat_row(hb, os.urandom(16), now))
        total += store.import_heartbeats(rows)
    return total


def timed(label: str, fn) -> object:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    print(f"{label:<28} {(time.perf_counter() - started) * 1000:9.1f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--per-day", type=int, default=60)
    parser.add_argument("--zones", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=str(Path(tmp) / "data"))
        settings.paths.ensure()
        now = time.time()
        store = Store(settings.paths.database)
        rows = timed("fill SQLite", lambda: fill(store, args.users, args.days, args.per_day, args.zones, now))
        print(f"{rows:,} heartbeats, {args.users} users, {args.days} days, {args.zones} zones")
        replica = timed("replica build", lambda: Replica(store, settings))
        ctx = AppContext(settings=settings, store=store, clock=lambda: now)
        ctx.replica = replica
        timed("baseline: 7-day window", lambda: window_totals_all_users(replica, now - 7 * 86400, now))
        timed("streaks job", lambda: refresh_streaks(ctx))
        timed("leaderboards job", lambda: build_leaderboards(ctx))
        timed("backup job", lambda: backup_database(ctx))
        replica.close()
        store.close()


if __name__ == "__main__":
    main()
