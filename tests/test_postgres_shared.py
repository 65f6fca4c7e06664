"""State every app node shares when PostgreSQL is the store: login throttles, API rate limits, sessions, job
leases and import progress, seen through two stores on one database (two nodes). Each shared limiter is
checked against the in-process limiter fed the same events (the oracle: one node sees everything), to a
millisecond: the shared ones count in wall-clock seconds (~1.7e9), which costs float digits."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from hackatime_lite.accounts.rate_limits import TokenBuckets
from hackatime_lite.accounts.throttle import LoginThrottle
from hackatime_lite.store import SQLiteStore, StoreBackend

# The PostgreSQL store (and psycopg with it) is imported where used: every test process collects this module,
# and the default suite runs one test of it.
if TYPE_CHECKING:
    from hackatime_lite.store.postgres.store import PostgresStore


def test_every_backend_implements_every_store_method() -> None:
    """A method added to StoreBackend fails here until both backends have it (no database needed: this one runs
    in the default suite)."""
    from hackatime_lite.store.postgres.store import PostgresStore

    wanted = {name for name, member in vars(StoreBackend).items()
              if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, property))}
    for backend in (SQLiteStore, PostgresStore):
        missing = sorted(name for name in wanted if not hasattr(backend, name)
                         or getattr(backend, name) is getattr(StoreBackend, name, None))
        assert missing == [], (backend.__name__, missing)


@pytest.fixture
def nodes(pg_url: str) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    from hackatime_lite.store.postgres.store import PostgresStore

    with PostgresStore(pg_url, pool_size=2) as first, PostgresStore(pg_url, pool_size=2) as second:
        assert first.shares_state and second.shares_state
        yield first, second


@pytest.mark.postgres
def test_login_failures_count_across_nodes(nodes: tuple[PostgresStore, PostgresStore]) -> None:
    options = {"free_per_user": 2, "free_per_address": 5, "backoff_max": 60.0, "window": 600.0}
    on_a, on_b = (LoginThrottle(store=node, **options) for node in nodes)  # type: ignore[arg-type]
    oracle = LoginThrottle(**options)  # type: ignore[arg-type]
    assert on_a.shared_store is nodes[0] and oracle.shared_store is None
    now = 1000.0
    for step, (throttle, user) in enumerate([(on_a, "ann"), (on_b, "ann"), (on_a, "ann"), (on_b, "ann"),
                                             (on_a, "bob"), (on_b, "cid")]):
        at = now + step
        throttle.failed(user, "10.0.0.1", at)
        oracle.failed(user, "10.0.0.1", at)
        for name in ("ann", "bob", "cid"):
            for node in (on_a, on_b):
                assert node.retry_after(name, "10.0.0.1", at) == pytest.approx(
                    oracle.retry_after(name, "10.0.0.1", at), abs=1e-3), (step, name)
    assert on_b.retry_after("ann", "10.0.0.1", now + 3) > 0  # failures on A made B wait too
    assert on_a.retry_after("ann", "10.0.0.2", now + 3) == 0  # other addresses are never affected
    on_b.succeeded("ann", "10.0.0.1")
    oracle.succeeded("ann", "10.0.0.1")
    later = now + 200
    assert on_a.retry_after("ann", "10.0.0.1", later) == pytest.approx(oracle.retry_after("ann", "10.0.0.1", later),
                                                                        abs=1e-3)


@pytest.mark.postgres
def test_rate_limit_buckets_are_one_budget(nodes: tuple[PostgresStore, PostgresStore]) -> None:
    on_a, on_b = (TokenBuckets(3, store=node, scope="ingest") for node in nodes)
    oracle = TokenBuckets(3)
    now = 50.0
    sequence = [(on_a, 0.0), (on_b, 0.1), (on_a, 0.2), (on_b, 0.3), (on_a, 10.0), (on_b, 25.0), (on_a, 25.5)]
    for bucket, offset in sequence:
        wanted = oracle.take(7, now + offset)
        assert bucket.take(7, now + offset) == pytest.approx(wanted, abs=1e-3), offset
    assert TokenBuckets(3, store=nodes[0], scope="read").take(7, now) == 0.0  # scopes are separate budgets


@pytest.mark.postgres
def test_sessions_and_leases_and_import_progress(nodes: tuple[PostgresStore, PostgresStore]) -> None:
    node_a, node_b = nodes
    user = node_a.create_user("shared")
    other = node_b.create_user("stranger")
    token = node_a.create_session(user.id)
    live = node_b.session_user(token)
    assert live is not None and live.user.id == user.id  # a login on node A is valid on node B
    node_b.delete_session(token)
    assert node_a.session_user(token) is None
    # Job leases: one holder at a time; renewable by its holder; free again after its time.
    assert node_a.try_job_lease("leaderboards", "node-a", 30, now=100.0)
    assert not node_b.try_job_lease("leaderboards", "node-b", 30, now=110.0)
    assert node_a.try_job_lease("leaderboards", "node-a", 30, now=120.0)  # renewed until 150
    assert not node_b.try_job_lease("leaderboards", "node-b", 30, now=149.0)
    assert node_b.try_job_lease("leaderboards", "node-b", 30, now=150.0)
    node_b.release_job_lease("leaderboards", "node-b")
    assert node_a.try_job_lease("leaderboards", "node-a", 30, now=151.0)
    # An import's progress published on one node is read on the other, by its owner only.
    node_a.save_import_job("job-1", user.id, {"id": "job-1", "state": "importing", "bytes_done": 10}, 100.0)
    assert node_b.import_job("job-1", user.id) == {"id": "job-1", "state": "importing", "bytes_done": 10,
                                                   "user_id": user.id}
    assert node_b.import_job("job-1", other.id) is None and node_b.import_job("job-2", user.id) is None


def test_sqlite_keeps_limits_in_process(tmp_path: object) -> None:
    from pathlib import Path

    with SQLiteStore(Path(str(tmp_path)) / "one.sqlite3") as store:
        assert not store.shares_state
        assert LoginThrottle(store=store).shared_store is None and TokenBuckets(5, store=store).shared_store is None
        assert store.try_job_lease("any", "node", 1.0)


@pytest.mark.postgres
def test_an_upload_imported_on_one_node_is_polled_on_another(nodes: tuple[PostgresStore, PostgresStore],
                                                            tmp_path: object) -> None:
    import json
    from pathlib import Path

    from hackatime_lite.data.importers.jobs import ImportJobs

    node_a, node_b = nodes
    user = node_a.create_user("uploader")
    day = 1_710_028_800.0
    dump = Path(str(tmp_path)) / "dump.json"
    beats = [{"entity": f"/f{i}.py", "type": "file", "time": day + 30 * i} for i in range(5)]
    dump.write_text(json.dumps({"days": [{"date": "2024-03-10", "heartbeats": beats}]}))
    on_a, on_b = ImportJobs(node_a), ImportJobs(node_b)
    job = on_a.start(user, dump, "wakatime-dump")
    finished = on_a.wait(job.id, timeout=60)
    assert finished is not None and finished.state == "done", finished
    seen = on_b.get(job.id, user.id)  # node B never ran it
    assert seen is not None and seen.to_dict() == finished.to_dict()
    assert seen.stats.inserted == 5 == len(node_b.heartbeat_rows(user.id, None, None))
    assert on_b.get(job.id, user.id + 1) is None  # someone else's job looks like no job
