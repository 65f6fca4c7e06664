"""A seeded world for the read-API tests: users in several zones, ten days of heartbeats, a frozen clock,
and the analytics oracle to compute every expected figure from the stored rows (no hard-coded answers)."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from litestar.testing import TestClient

from hackatime_lite import reports
from hackatime_lite.analytics import oracle
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.config import Settings
from hackatime_lite.ingest import IngestContext, ingest
from hackatime_lite.models import User
from hackatime_lite.store import Store, open_store
from tests.app_pool import pooled_app
from tests.conftest import Account, basic_auth, make_account
from tests.pg_support import new_database_url, query

# Wednesday 2024-03-20 10:30 UTC: 11:30 in Berlin, 03:30 in Los Angeles (both on DST offsets already/not yet).
FIXED = dt.datetime(2024, 3, 20, 10, 30, tzinfo=dt.UTC).timestamp()
DAYS = 10
UAS = (
    "wakatime/v1.98.0 (darwin-23.4.0-arm64) go1.22.1 vscode/1.89.1 vscode-wakatime/24.5.0",
    "wakatime/13.1.0 (Linux-6.1-x86_64-with-glibc2.36) Python3.11.7.final.0 vim/9.0 vim-wakatime/11.0.0",
)
GAPS = (5, 30, 60, 90, 119, 121, 200, 500)
DIMENSION_FIELDS = ("project", "language", "editor", "operating_system", "machine", "branch", "category", "entity",
                    "type")


def local(tz: str, day: dt.date, hour: int, minute: int = 0) -> float:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(tz)).timestamp()


def session(rng: random.Random, start: float, count: int, *, project: str | None) -> list[dict]:
    beats, t = [], start
    for _ in range(count):
        kind = rng.random()
        beat = {"time": t, "project": project, "branch": rng.choice(["main", "feature"]),
                "user_agent": rng.choice(UAS), "machine": rng.choice(["laptop", "desktop"]),
                "dependencies": rng.choice([["os", "re"], ["numpy"], []])}
        if kind < 0.1:  # an app heartbeat: no language (WakaTime's "Other")
            beat.update(entity="Terminal", type="app")
        elif kind < 0.2:
            beat.update(entity=f"/src/{rng.choice('ab')}.go", type="file", category="debugging")
        else:
            beat.update(entity=f"/src/{rng.choice('abc')}.py", type="file")
        beats.append(beat)
        t += rng.choice(GAPS)
    return beats


def seed_days(store: Store, user: User, seed: int, *, days: int = DAYS, skip: Iterable[int] = ()) -> None:
    """Two or three sessions on each of the last `days` local days (08:00-20:00 local), none in `skip`."""
    rng = random.Random(seed)
    tz = user.timezone
    today = dt.datetime.fromtimestamp(FIXED, ZoneInfo(tz)).date()
    items: list[dict] = []
    for back in range(days):
        if back in skip:
            continue
        day = today - dt.timedelta(days=back)
        for _ in range(rng.randint(2, 3)):
            start = local(tz, day, rng.randint(8, 15), rng.randint(0, 59))
            beats = session(rng, start, rng.randint(10, 40), project=rng.choice(["alpha", "beta", None]))
            items += [beat for beat in beats if beat["time"] <= FIXED]
    post(store, user, items)


def post(store: Store, user: User, items: list[dict]) -> None:
    for i in range(0, len(items), 500):
        results = ingest(store, items[i:i + 500], IngestContext(user=user, now=FIXED))
        assert all(r.error is None for r in results), [r.error for r in results if r.error]


@dataclass
class World:
    settings: Settings
    store: Store
    replica: Replica
    client: TestClient
    accounts: dict[str, Account] = field(default_factory=dict)
    # The oracle's inputs per user, keyed by what is stored (see `_stored`): tests ask for the same user's
    # rows and intervals dozens of times, and turning ~1,000 rows into oracle beats is most of their CPU.
    _cache: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False)

    def user(self, name: str) -> User:
        found = self.store.get_user(self.accounts[name].user.id)
        assert found is not None
        return found

    def headers(self, name: str, *, read_only: bool = False) -> dict[str, str]:
        account = self.accounts[name]
        return basic_auth(account.read_only_key if read_only else account.key)

    def get(self, path: str, name: str | None = None, **kwargs: object) -> object:
        headers = self.headers(name) if name else {}
        return self.client.get(path, headers=headers, **kwargs)  # type: ignore[arg-type]

    # -- the oracle over what is stored ------------------------------------------------------------------
    def _stored(self, user_id: int) -> tuple[Any, ...]:
        """What identifies a user's stored heartbeats now: stored rows are never updated, only inserted or
        deleted, and either changes the count or the sums (ids are never reused within one fingerprint)."""
        (found,) = query(self.settings, "SELECT COUNT(*), COALESCE(SUM(id), 0), COALESCE(MAX(id), 0), "
                                        "COALESCE(SUM(time), 0) FROM heartbeats WHERE user_id = ?", (user_id,))
        return tuple(found)

    def rows(self, user: User) -> list[Any]:
        key = ("rows", user.id, self._stored(user.id))
        if key not in self._cache:
            self._cache[key] = query(self.settings, "SELECT * FROM heartbeats WHERE user_id = ? ORDER BY time, id",
                                     (user.id,))
        return list(self._cache[key])

    def intervals(self, user: User) -> list[oracle.Interval]:
        rule = oracle.Rule(timeout=user.timeout or self.settings.default_timeout,
                           mode=user.duration_mode or self.settings.default_mode)
        key = ("intervals", user.id, rule, self._stored(user.id))
        if key not in self._cache:
            self._cache[key] = self._intervals(user, rule)
        return list(self._cache[key])

    def _intervals(self, user: User, rule: oracle.Rule) -> list[oracle.Interval]:
        beats = [oracle.Beat(id=r["id"], user_id=r["user_id"], time=r["time"],
                             dependencies=tuple(json.loads(r["dependencies"]) if r["dependencies"] else ()),
                             source=r["source"], **{name: r[name] for name in DIMENSION_FIELDS})
                 for r in self.rows(user)]
        return oracle.intervals(beats, {user.id: rule})

    def total(self, user: User, start: float | None, end: float | None,
              filters: Mapping[str, Iterable[str | None]] | None = None) -> float:
        return oracle.total(self.intervals(user), user.id, start, end, filters)

    def breakdown(self, user: User, start: float | None, end: float | None, dimension: str,
                  filters: Mapping[str, Iterable[str | None]] | None = None) -> dict[str, float]:
        """{display name: seconds} as the API names them (None → "Unknown Project", "Other", …)."""
        raw = oracle.breakdown(self.intervals(user), user.id, start, end, dimension, filters)
        named: dict[str, float] = {}
        for value, seconds in raw.items():
            name = reports.display_name(dimension, value)  # type: ignore[arg-type]
            named[name] = named.get(name, 0.0) + seconds
        return named

    def day(self, user: User, day: dt.date, tz: str | None = None) -> tuple[float, float]:
        return oracle.day_bounds(tz or user.timezone, day)

    def today(self, user: User) -> dt.date:
        return dt.datetime.fromtimestamp(FIXED, ZoneInfo(user.timezone)).date()


def build_world(root: Path) -> Iterator[World]:
    """alice (admin, UTC), bob (Europe/Berlin), carol (America/Los_Angeles, keystroke mode, 5 min),
    dave (UTC, no heartbeats), erin (UTC, for deletions), frank (UTC, shares stats and languages publicly for
    30 days), gina (UTC, no heartbeats, for settings changes)."""
    # On PostgreSQL when the suite runs with --store=postgres (tests/pg_support.py).
    settings = Settings(data_dir=str(root / "data"), database_url=new_database_url())
    settings.paths.ensure()
    store = open_store(settings)
    accounts = {"alice": make_account(store, "alice", admin=True)}
    for name, tz in (("bob", "Europe/Berlin"), ("carol", "America/Los_Angeles"), ("dave", "UTC"),
                     ("erin", "UTC"), ("frank", "UTC"), ("gina", "UTC")):
        accounts[name] = make_account(store, name, timezone=tz)
    carol_id, frank_id = accounts["carol"].user.id, accounts["frank"].user.id
    store.update_user(carol_id, timeout=300, duration_mode="keystroke")
    store.update_user(frank_id, share_stats=True, share_languages=True, share_max_days=30)
    users = {name: store.get_user(a.user.id) for name, a in accounts.items()}
    for seed, name in enumerate(("alice", "bob", "carol", "erin", "frank")):
        seed_days(store, users[name], seed, skip=(3,) if name == "alice" else ())
    seed_midnight_sessions(store, users["bob"])
    carol = users["carol"]  # 03:30 in Los Angeles: a night owl's session, so her today is not empty
    post(store, carol, session(random.Random(99), local(carol.timezone, local_today(carol), 1), 40, project="owl"))
    replica = Replica(store, settings)
    with pooled_app(settings, store=store, clock=lambda: FIXED, start_scheduler=False, replica=replica) as app, \
            TestClient(app, raise_server_exceptions=False) as client:
        yield World(settings=settings, store=store, replica=replica, client=client, accounts=accounts)
    replica.close()
    store.close()


def local_today(user: User) -> dt.date:
    return dt.datetime.fromtimestamp(FIXED, ZoneInfo(user.timezone)).date()


def midnight_between(user: User, back: int) -> float:
    """Local midnight at the start of the day `back` days before today."""
    tz = user.timezone
    today = dt.datetime.fromtimestamp(FIXED, ZoneInfo(tz)).date()
    return local(tz, today - dt.timedelta(days=back), 0)


def seed_midnight_sessions(store: Store, user: User) -> None:
    """Two sessions of 60 s heartbeats from 23:50 to 00:10 local: into yesterday and into today."""
    items = []
    for back in (0, 1):
        midnight = midnight_between(user, back)
        items += [{"entity": "/src/night.py", "type": "file", "project": "night", "time": midnight - 600 + 60 * i,
                   "user_agent": UAS[1], "machine": "laptop"} for i in range(21)]
    post(store, user, items)


def close(a: float, b: float, tolerance: float = 1e-6) -> bool:
    return abs(a - b) <= tolerance


def assert_entries_match(entries: list[dict], expected: Mapping[str, float]) -> None:
    """Names and seconds equal the oracle's; ordered by seconds desc; percents add up to 100."""
    got = {e["name"]: e["total_seconds"] for e in entries}
    assert set(got) == {name for name, seconds in expected.items() if seconds > 0}
    for name, seconds in got.items():
        assert close(seconds, expected[name], 1e-3), (name, seconds, expected[name])
    totals = [e["total_seconds"] for e in entries]
    assert totals == sorted(totals, reverse=True)
    if entries:
        assert abs(sum(e["percent"] for e in entries) - 100) <= 0.1
    for e in entries:
        whole = int(e["total_seconds"])
        assert (e["hours"], e["minutes"], e["seconds"]) == (whole // 3600, whole % 3600 // 60, whole % 60)
        assert all(type(e[k]) is int for k in ("hours", "minutes", "seconds"))
        assert isinstance(e["digital"], str) and isinstance(e["decimal"], str) and isinstance(e["text"], str)
