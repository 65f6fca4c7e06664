"""A small seeded world for the AI-stats, focus and filter tests (tests/test_ai_stats.py, test_focus.py,
test_filters.py): heartbeats posted through ingest, the oracle computed from the stored rows, and two copies of
the data dir — one served by an in-process app (API, dashboard), one the CLI reads in this process (the app's
replica holds its own data dir's file, as a server would). With --store=postgres both data dirs name the same
PostgreSQL database (tests.conftest.world_settings), each with its own replica.

ana (UTC) codes on Mon 2024-03-18 and Tue 2024-03-19 in two projects, on two operating systems and branches,
with AI fields on some sessions (two models, two AI sessions, one session across midnight); ben (Europe/Berlin)
has one AI session without a model; cai (UTC) never sends AI fields; dan (admin).
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from hackatime_lite.analytics import oracle
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.config import Settings
from hackatime_lite.ingest import IngestContext, ingest
from hackatime_lite.models import User
from hackatime_lite.store import Store, open_store
from tests.app_pool import pooled_app
from tests.conftest import Account, assert_world_backend, basic_auth, make_account, world_settings
from tests.pg_support import Row, query

# Wednesday 2024-03-20 10:30 UTC (the app clock); the data is on Monday and Tuesday before it.
FIXED = dt.datetime(2024, 3, 20, 10, 30, tzinfo=dt.UTC).timestamp()
MON, TUE = dt.date(2024, 3, 18), dt.date(2024, 3, 19)
LINUX_UA = "wakatime/13.1.0 (Linux-6.1-x86_64-with-glibc2.36) Python3.11.7.final.0 vim/9.0 vim-wakatime/11.0.0"
MAC_UA = "wakatime/v1.98.0 (darwin-23.4.0-arm64) go1.22.1 vscode/1.89.1 vscode-wakatime/24.5.0"
AI_FIELDS = ("line_additions", "line_deletions", "ai_line_changes", "human_line_changes", "ai_input_tokens",
             "ai_output_tokens", "ai_prompt_length")
_COLUMNS = ("project", "language", "editor", "operating_system", "machine", "branch", "category", "entity", "type")


def at(day: dt.date, hour: int, minute: int = 0, tz: str = "UTC") -> float:
    from zoneinfo import ZoneInfo

    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(tz)).timestamp()


def session(start: float, minutes: int, **fields: Any) -> list[dict[str, Any]]:
    """A heartbeat a minute for `minutes` minutes (minutes + 1 heartbeats)."""
    return [{"entity": "/src/main.py", "type": "file", "category": "coding", "time": start + i * 60, **fields}
            for i in range(minutes + 1)]


def _ai(model: str | None, ai_session: str, ai: int, human: int) -> dict[str, Any]:
    fields: dict[str, Any] = {"ai_session": ai_session, "ai_line_changes": ai, "human_line_changes": human,
                              "line_additions": ai + human, "line_deletions": 1, "ai_input_tokens": 120,
                              "ai_output_tokens": 40, "ai_prompt_length": 30}
    if model:
        fields["ai_model"] = model
    return fields


def ana_items() -> list[tuple[str, list[dict[str, Any]]]]:
    """(user agent, heartbeats) batches of ana's week."""
    return [
        (LINUX_UA, session(at(MON, 9), 40, project="alpha", language="Python", branch="main",
                           entity="/src/alpha/a.py", **_ai("gpt-5", "s1", 3, 1))),
        (MAC_UA, session(at(MON, 14), 10, project="beta", language="Go", branch="dev", entity="/src/beta/b.go",
                         category="debugging")),
        # Across midnight: one 30-minute focus session split over two days.
        (LINUX_UA, session(at(MON, 23, 50), 30, project="alpha", language="Python", branch="main",
                           entity="/src/alpha/c.py", **_ai("claude-4", "s2", 5, 0))),
        (MAC_UA, session(at(TUE, 10), 26, project="beta", language="Go", branch="main", entity="/src/beta/b.go",
                         **_ai("gpt-5", "s3", 1, 4))),
        (LINUX_UA, session(at(TUE, 15), 12, project="alpha", language="Python", branch="feature",
                           entity="/src/alpha/a.py", category="debugging")),
    ]


def post(store: Store, user: User, items: list[dict[str, Any]], user_agent: str | None = None) -> None:
    results = ingest(store, items, IngestContext(user=user, user_agent=user_agent, now=FIXED))
    assert all(r.error is None for r in results), [r.error for r in results if r.error]


@dataclass
class World:
    settings: Settings
    store: Store
    client: TestClient
    cli_data_dir: Path
    accounts: dict[str, Account] = field(default_factory=dict)
    _intervals: dict[int, list[oracle.Interval]] = field(default_factory=dict)

    def user(self, name: str) -> User:
        found = self.store.get_user(self.accounts[name].user.id)
        assert found is not None
        return found

    def get(self, path: str, name: str, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=basic_auth(self.accounts[name].key))

    def cli(self, name: str) -> list[str]:
        return ["--data-dir", str(self.cli_data_dir), "--user", name]

    # -- the oracle over the stored rows -------------------------------------------------------------------
    def rows(self, user: User) -> list[Row]:
        return query(self.settings, "SELECT * FROM heartbeats WHERE user_id = ? ORDER BY time, id", (user.id,))

    def intervals(self, user: User) -> list[oracle.Interval]:
        """The oracle's intervals of the user's stored stream (computed once: the stream never changes here)."""
        if user.id not in self._intervals:
            self._intervals[user.id] = self._compute_intervals(user)
        return self._intervals[user.id]

    def _compute_intervals(self, user: User) -> list[oracle.Interval]:
        beats = [oracle.Beat(id=r["id"], user_id=r["user_id"], time=r["time"], source=r["source"],
                             **{name: r[name] for name in _COLUMNS}) for r in self.rows(user)]
        rule = oracle.Rule(timeout=user.timeout or self.settings.default_timeout,
                           mode=user.duration_mode or self.settings.default_mode)
        return oracle.intervals(beats, {user.id: rule})

    def total(self, user: User, start: float | None, end: float | None,
              filters: Mapping[str, Iterable[str | None]] | None = None) -> float:
        return oracle.total(self.intervals(user), user.id, start, end, filters)

    def window(self, user: User, first: dt.date, last: dt.date) -> tuple[float, float]:
        return oracle.day_bounds(user.timezone, first)[0], oracle.day_bounds(user.timezone, last)[1]


def build_world(root: Path, request: pytest.FixtureRequest) -> Iterator[World]:
    settings = world_settings(root, request)
    settings.paths.ensure()
    with open_store(settings) as store:
        assert_world_backend(store, request)
        accounts = {name: make_account(store, name, timezone=tz, admin=name == "dan")
                    for name, tz in (("ana", "UTC"), ("ben", "Europe/Berlin"), ("cai", "UTC"), ("dan", "UTC"))}
        users = {name: store.get_user(a.user.id) for name, a in accounts.items()}
        for user_agent, items in ana_items():
            post(store, users["ana"], items, user_agent)  # type: ignore[arg-type]  # the user exists
        post(store, users["ben"], session(at(MON, 22, 0, "Europe/Berlin"), 30, project="gamma",  # type: ignore[arg-type]
                                          **_ai(None, "b1", 7, 2)), LINUX_UA)
        post(store, users["cai"], session(at(MON, 8), 30, project="delta"), LINUX_UA)  # type: ignore[arg-type]
    # The CLI's copy, through SQLite's online backup (it includes what is still in the WAL).
    cli_root = root / "cli-data"
    cli_root.mkdir()
    if settings.database_url:  # the same database: its config.toml names it (the replica stays per data dir)
        shutil.copyfile(settings.paths.config_file, cli_root / settings.paths.config_file.name)
    else:
        source = sqlite3.connect(settings.paths.database)
        target = sqlite3.connect(cli_root / settings.paths.database.name)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
    store = open_store(settings)
    replica = Replica(store, settings)
    try:
        with pooled_app(settings, store=store, clock=lambda: FIXED, start_scheduler=False, replica=replica) as app, \
                TestClient(app, raise_server_exceptions=False) as client:
            yield World(settings=settings, store=store, client=client, cli_data_dir=cli_root, accounts=accounts)
    finally:
        replica.close()
        store.close()
