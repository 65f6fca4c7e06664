"""The server-pull importer against a second, real hackatime-lite process (its WakaTime read API)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from hackatime_lite.cli.main import app as cli_app
from hackatime_lite.config import Settings
from hackatime_lite.data.importers import ImportFailed, pull_from_server
from hackatime_lite.data.importers.common import ImportCancelled
from hackatime_lite.ingest import IngestContext, ingest
from hackatime_lite.store import Store
from tests.conftest import Account, ServerProcess, free_port
from tests.test_import_export import ROW_FIELDS

# A second, real server process (module-scoped, so one worker runs them all: `--dist loadgroup`): run by
# test.sh (`-m slow`), not by default.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("server-pull")]

DAYS = 4
PER_DAY = 40
UAS = ("wakatime/v1.102.1 (linux-6.1-x86_64) go1.22.5 vscode/1.90.0 vscode-wakatime/24.5.0",
       "wakatime/13.1.0 (Linux-6.1-x86_64-with-glibc2.36) Python3.11.7.final.0 vim/9.0 vim-wakatime/11.0.0")


def _history(now: float) -> Iterator[tuple[str, str, list[dict[str, Any]]]]:
    """Batches of (user agent, machine, items) over the last DAYS days, at noon UTC, with varied fields."""
    today = datetime.fromtimestamp(now, UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    for day in range(DAYS):
        start = (today - timedelta(days=DAYS - day)).timestamp()
        items = [{"entity": f"/srv/{'core' if i % 2 else 'ui'}/f{i % 6}.{'go' if i % 3 else 'rs'}", "type": "file",
                  "time": start + i * 61.25 + 0.000321, "project": "core" if i % 2 else "ui",
                  "branch": "dev" if i % 5 else None, "is_write": i % 4 == 0, "lines": 10 * i,
                  "dependencies": ["tokio"] if i % 7 == 0 else None, "ai_line_changes": i if i % 9 == 0 else None}
                 for i in range(PER_DAY)]
        yield UAS[day % 2], f"host-{day % 2}", items


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    data_dir = tmp_path_factory.mktemp("pull") / "upstream"
    data_dir.mkdir()
    with Store(data_dir / "hackatime.sqlite3") as store:
        bob = store.create_user("bob")
        _, key = store.create_api_key(bob.id)
        for user_agent, machine, items in _history(time.time()):
            results = ingest(store, items, IngestContext(user=bob, user_agent=user_agent, machine=machine))
            assert all(r.status == 201 for r in results)
    server = ServerProcess(data_dir).start()
    try:
        yield server, key
    finally:
        server.stop()


def _upstream_rows(server: ServerProcess) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{server.data_dir / 'hackatime.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute(f"SELECT {', '.join(ROW_FIELDS)} FROM heartbeats ORDER BY time, entity").fetchall()
    finally:
        conn.close()


def _local_rows(store: Store, user_id: int) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in store.reader().execute(
        f"SELECT {', '.join(ROW_FIELDS)} FROM heartbeats WHERE user_id = ? ORDER BY time, entity", (user_id,))]


def test_pull_copies_a_users_history_exactly(upstream, store: Store, settings: Settings, alice: Account):
    server, key = upstream
    stats = pull_from_server(store, settings, alice.user, f"{server.url}/api/v1", key, rate=200)
    assert (stats.inserted, stats.rejected) == (DAYS * PER_DAY, 0)
    assert _local_rows(store, alice.user.id) == _upstream_rows(server)
    sources = store.reader().execute("SELECT DISTINCT source FROM heartbeats").fetchall()
    assert [tuple(s) for s in sources] == [("import",)]
    again = pull_from_server(store, settings, alice.user, f"{server.url}/api/v1", key, rate=200, restart=True)
    assert (again.inserted, again.duplicates) == (0, DAYS * PER_DAY)


def test_pull_resumes_where_it_stopped(upstream, store: Store, settings: Settings, alice: Account):
    server, key = upstream
    flushes = []

    def stop_on_third_day() -> bool:
        flushes.append(1)
        return len(flushes) >= 3

    first = (datetime.now(UTC) - timedelta(days=DAYS + 1)).date()
    with pytest.raises(ImportCancelled):
        pull_from_server(store, settings, alice.user, f"{server.url}/api/v1", key, rate=200, start=first,
                         should_stop=stop_on_third_day)
    stored = len(_local_rows(store, alice.user.id))
    assert stored == PER_DAY  # day 1 was empty, day 2 complete, day 3 cancelled before its write
    resumed = pull_from_server(store, settings, alice.user, f"{server.url}/api/v1", key, rate=200, start=first)
    assert resumed.read == (DAYS - 1) * PER_DAY  # only the days not finished before
    assert _local_rows(store, alice.user.id) == _upstream_rows(server)


def test_pull_errors_are_clear(upstream, store: Store, settings: Settings, alice: Account, tmp_path):
    server, key = upstream
    with pytest.raises(ImportFailed, match="rejected the API key"):
        pull_from_server(store, settings, alice.user, f"{server.url}/api/v1", "0" * 8 + key[8:], rate=200)
    with pytest.raises(ImportFailed, match="cannot reach"):
        pull_from_server(store, settings, alice.user, f"http://127.0.0.1:{free_port()}/api/v1", key,
                         rate=200, sleep=lambda _: None)
    with pytest.raises(ImportFailed, match="http:// or https://"):
        pull_from_server(store, settings, alice.user, "file:///etc/passwd", key)
    result = CliRunner().invoke(cli_app, ["import", "server", f"{server.url}/api/v1", "--key", "nope", "--user",
                                          "alice", "--data-dir", str(settings.paths.root)])
    assert result.exit_code == 1 and "rejected the API key" in result.output
    assert len(_local_rows(store, alice.user.id)) == 0
