"""PostgreSQL going away: requests answer 503 with Retry-After (never 500) and the store recovers by itself
once the database is back; a store that cannot connect at all says so with StoreUnavailable."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import TestClient

from hackatime_lite.config import Settings
from hackatime_lite.store.interface import StoreUnavailable
from tests.conftest import Account

pytestmark = pytest.mark.postgres
NOW = 1_750_000_000.0
# psycopg and the PostgreSQL store are imported by the tests: every test process collects this module, and the
# default suite (no `postgres`) runs none of it.


def test_unreachable_database_is_unavailable(tmp_path: Path) -> None:
    from hackatime_lite.store.postgres.store import PostgresStore

    with pytest.raises(StoreUnavailable) as failed:
        PostgresStore(f"postgresql://nobody@/none?host={tmp_path}", open_timeout=1.0)
    assert failed.value.retry_after > 0 and "password" not in str(failed.value)


def kill_connections(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as admin:
        row = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()
    return int(row[0]) if row else 0


@pytest.fixture
def settings(tmp_path: Path, pg_url: str) -> Settings:
    """This module's app fixtures (store, client, accounts) always run on PostgreSQL."""
    return Settings(data_dir=str(tmp_path / "data"), database_url=pg_url)


def test_lost_connections_answer_503_then_recover(client: TestClient, alice: Account, settings: Settings) -> None:
    url = "/api/v1/users/current/heartbeats.bulk"
    assert client.post(url, json=[{"entity": "a.py", "time": NOW}], headers=alice.headers).status_code == 201
    assert kill_connections(settings.database_url) >= 1
    statuses = []
    for i in range(1, 6):
        response = client.post(url, json=[{"entity": "a.py", "time": NOW + i}], headers=alice.headers)
        statuses.append(response.status_code)
        assert response.status_code in (201, 503), response.text
        if response.status_code == 503:
            assert int(response.headers["retry-after"]) > 0
        else:
            break
    assert statuses[-1] == 201, statuses  # broken pooled connections are replaced, not kept
    assert client.get("/api/health").json()["database"]["status"] == "ok"


def test_a_failing_job_does_not_fail_its_group(pg_url: str) -> None:
    """Queued writes share a transaction; one failing on its statement must not undo or fail the others."""
    import psycopg

    from hackatime_lite.store.postgres.store import PostgresStore
    from tests.store_contract import beat_rows

    with PostgresStore(pg_url, pool_size=2) as store:
        user = store.create_user("grouped")
        futures = []
        for i in range(12):
            if i == 5:  # a heartbeat of a user that does not exist: the foreign key refuses it
                futures.append(store.insert_heartbeats(beat_rows(user.id + 99, [NOW]), user_id=user.id + 99,
                                                       source="direct", origins=(), now=NOW))
            futures.append(store.insert_heartbeats(beat_rows(user.id, [NOW + i]), user_id=user.id,
                                                   source="direct", origins=(), now=NOW))
        bad = futures.pop(5)
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            bad.result(30)
        ids = [f.result(30)[0][0] for f in futures]
        assert sorted(row[0] for row in store.heartbeat_rows(user.id, None, None)) == sorted(ids)
        assert len(ids) == 12
