"""Generate a realistic heartbeat data set straight into a SQLite file created through `Store`.

Users (each with an IANA zone and some with their own timeout / keystroke mode) code on most days in
sessions of bursts: a heartbeat every few seconds to a couple of minutes, pauses longer than the timeout
between sessions, several projects with their languages, one or two editors and machines, branches, some
browsing and a few dependencies. Rows go in through `import_heartbeats` in large chunks.

    .venv/bin/python bench/gen.py --data-dir /tmp/bench-1m --rows 1000000 [--users 200 --days 60]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import struct
import sys
import time
from pathlib import Path

import msgspec
import numpy as np

from hackatime_lite.config import Settings
from hackatime_lite.models import HEARTBEAT_COLUMNS
from hackatime_lite.store import Store
from hackatime_lite.store.sqlite.users import create_user, update_user

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Kolkata", "Asia/Tokyo",
         "Australia/Sydney", "America/Sao_Paulo", "Europe/London", "Asia/Kathmandu"]
LANGUAGES = ["Python", "TypeScript", "Go", "Rust", "JavaScript", "Java", "C++", "Markdown", "YAML", "SQL"]
EDITORS = ["VS Code", "PyCharm", "Neovim", "Zed", "IntelliJ IDEA", "Emacs"]
SYSTEMS = ["Linux", "Mac", "Windows"]
CATEGORIES = ["coding"] * 14 + ["debugging", "building", "writing tests", "code reviewing", "browsing"]
DEPENDENCIES = ["os", "re", "json", "numpy", "react", "lodash", "serde", "tokio", "fmt", "http"]
ROWS_PER_JOB = 100_000
META_FILE = "bench-meta.json"


class Profile:
    """One user's habits."""

    def __init__(self, rng: random.Random, user_id: int, zone: str) -> None:
        self.user_id, self.zone = user_id, zone
        self.projects = [(f"project-{user_id}-{i}", rng.sample(LANGUAGES, rng.randint(1, 3)))
                         for i in range(rng.randint(3, 8))]
        self.editors = rng.sample(EDITORS, rng.randint(1, 2))
        self.system = rng.choice(SYSTEMS)
        self.machines = [f"machine-{user_id}-{i}" for i in range(rng.randint(1, 2))]
        self.activity = rng.uniform(0.4, 1.6)  # scales sessions per day
        self.pace = rng.uniform(0.6, 1.6)  # scales gaps between heartbeats


def create_users(store: Store, rng: random.Random, count: int) -> list[Profile]:
    def job(db):  # type: ignore[no-untyped-def]
        made = []
        for index in range(count):
            zone = ZONES[index % len(ZONES)]
            user = create_user(db, f"bench{index:05d}", timezone=zone)
            if index % 7 == 3:
                update_user(db, user.id, duration_mode="keystroke")
            elif index % 11 == 5:
                update_user(db, user.id, timeout=900)
            made.append((user.id, zone))
        return made

    return [Profile(rng, user_id, zone) for user_id, zone in store.write(job)]


class DayColumns:
    """One day's heartbeats for every user, column by column (numpy does the random draws)."""

    def __init__(self) -> None:
        self.columns: dict[str, list] = {name: [] for name in HEARTBEAT_COLUMNS}

    def add_session(self, np_rng: np.random.Generator, profile: Profile, t: float, count: int) -> float:
        project, languages = profile.projects[int(np_rng.integers(len(profile.projects)))]
        branch = ["main", "main", "dev", f"feature-{int(np_rng.integers(1, 40))}"][int(np_rng.integers(4))]
        editor = profile.editors[int(np_rng.integers(len(profile.editors)))]
        machine = profile.machines[int(np_rng.integers(len(profile.machines)))]
        gaps = np_rng.exponential(40 * profile.pace, count)
        pauses = np_rng.random(count) < 0.03
        gaps[pauses] = np_rng.uniform(150, 900, int(pauses.sum()))
        times = np.round(t + np.cumsum(gaps), 3)
        categories = [CATEGORIES[i] for i in np_rng.integers(len(CATEGORIES), size=count)]
        modules = np_rng.integers(1, 60, size=count)
        deps = np_rng.random(count) < 0.1
        cols = self.columns
        cols["time"] += times.tolist()
        cols["category"] += categories
        cols["type"] += ["domain" if c == "browsing" else "file" for c in categories]
        cols["entity"] += [f"docs.example{m % 9}.com" if c == "browsing" else f"/src/{project}/module_{m}.py"
                           for c, m in zip(categories, modules.tolist(), strict=True)]
        cols["language"] += [languages[i] for i in np_rng.integers(len(languages), size=count)]
        cols["dependencies"] += [DEPENDENCY_SETS[i] if d else None
                                 for i, d in zip(np_rng.integers(len(DEPENDENCY_SETS), size=count), deps,
                                                 strict=True)]
        cols["is_write"] += (np_rng.random(count) < 0.2).astype(int).tolist()
        cols["lines"] += np_rng.integers(10, 2000, size=count).tolist()
        cols["lineno"] += np_rng.integers(1, 500, size=count).tolist()
        cols["cursorpos"] += np_rng.integers(1, 80, size=count).tolist()
        for name, value in (("user_id", profile.user_id), ("project", project), ("branch", branch),
                            ("editor", editor), ("operating_system", profile.system), ("machine", machine),
                            ("source", "direct"), ("user_agent", f"wakatime/v1.90.0 ({profile.system}) {editor}")):
            cols[name] += [value] * count
        return float(times[-1]) if count else t

    def rows(self, first_hash: int) -> list[tuple]:
        """Rows sorted by time (arrival order on a live server), in HEARTBEAT_COLUMNS order."""
        cols = self.columns
        order = np.argsort(np.array(cols["time"]), kind="stable").tolist()
        n = len(order)
        # A counter as the dedup hash keeps UNIQUE-index inserts sequential; the real hash is a digest, but
        # only uniqueness matters here and it keeps generating 10M rows to minutes.
        cols["dedup_hash"] = [struct.pack(">QQ", first_hash + i, 0) for i in range(n)]
        cols["created_at"] = cols["time"]
        ordered = []
        for name in HEARTBEAT_COLUMNS:
            values = cols[name]
            if name == "dedup_hash":
                ordered.append(values)
            elif len(values) == n:
                ordered.append([values[i] for i in order])
            else:
                ordered.append(itertools.repeat(None, n))
        return list(zip(*ordered, strict=True))


DEPENDENCY_SETS = [msgspec.json.encode(random.Random(i).sample(DEPENDENCIES, 1 + i % 3)).decode()
                   for i in range(40)]


def generate(data_dir: Path, *, rows: int, users: int, days: int, seed: int = 7, end: float | None = None,
             quiet: bool = False) -> dict:
    settings = Settings(data_dir=str(data_dir))
    settings.paths.ensure()
    if settings.paths.database.exists():
        raise SystemExit(f"{settings.paths.database} exists; pick an empty --data-dir")
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    end = end if end is not None else float(int(time.time()) // 86400 * 86400)
    start = end - days * 86400
    # Calibrated: sessions per active day average about 3 × activity, 85 % of days are active.
    per_user_day = rows / (users * days * 0.85) * 1.17
    started = time.perf_counter()
    written = 0
    with Store(settings.paths.database) as store:
        profiles = create_users(store, rng, users)
        pending: list[tuple] = []
        for day in range(days):
            columns = DayColumns()
            for profile in profiles:
                if rng.random() < 0.15:
                    continue
                sessions = max(1, round(rng.gauss(3, 1) * profile.activity))
                t = start + day * 86400 + rng.uniform(7, 11) * 3600
                for _ in range(sessions):
                    count = max(1, int(rng.gauss(per_user_day / sessions, per_user_day / sessions / 4)))
                    t = columns.add_session(np_rng, profile, t, count) + rng.uniform(0.5, 3) * 3600
            day_rows = columns.rows(first_hash=written + len(pending) + 1)
            pending += day_rows
            while len(pending) >= ROWS_PER_JOB or (day == days - 1 and pending):
                chunk, pending = pending[:ROWS_PER_JOB], pending[ROWS_PER_JOB:]
                written += store.import_heartbeats(chunk)
                if not quiet:
                    rate = written / (time.perf_counter() - started)
                    print(f"\r{written:,} heartbeats ({rate:,.0f}/s), day {day + 1}/{days}   ", end="", flush=True)
        store.checkpoint()
    meta = {"rows": written, "users": users, "days": days, "seed": seed, "start": start, "end": end,
            "seconds": round(time.perf_counter() - started, 1)}
    (data_dir / META_FILE).write_text(json.dumps(meta))
    if not quiet:
        print(f"\n{written:,} heartbeats for {users} users over {days} days in {meta['seconds']} s")
    return meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=1_000_000, help="about this many heartbeats")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    generate(args.data_dir, rows=args.rows, users=args.users, days=args.days, seed=args.seed)


if __name__ == "__main__":
    sys.exit(main())
