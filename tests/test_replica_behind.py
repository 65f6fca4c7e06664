"""`serve` answers before its replica is open (app.create_app with replica_behind): health and heartbeats need no
replica, every read waits for it and counts what was posted meanwhile, a replica that cannot be opened turns reads
into 503 with Retry-After (never a 500), and shutdown closes what was opened."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from hackatime_lite import app as app_module
from hackatime_lite import context as context_module
from hackatime_lite.analytics.replica_file import ReplicaError
from hackatime_lite.config import Settings
from hackatime_lite.store import Store
from tests.conftest import Account, make_account
from tests.mirror_helpers import wait_until

STATUS = "/api/v1/users/current/statusbar/today"
BULK = "/api/v1/users/current/heartbeats.bulk"


@pytest.fixture
def account(store: Store) -> Account:
    return make_account(store, "behind")


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each open of a replica (the thread it ran in); no timed open unless a test asks for one."""
    monkeypatch.setattr(app_module, "REPLICA_OPEN_DELAY", 3600.0)
    seen: list[str] = []
    real = app_module.open_replica

    def recording(*args: Any) -> Any:
        seen.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(app_module, "open_replica", recording)
    return seen


@pytest.fixture
def behind(settings: Settings, store: Store) -> Iterator[Any]:
    def client() -> TestClient[Any]:
        return TestClient(app_module.create_app(settings, store=store, start_scheduler=False, replica_behind=True))

    yield client


def _beats(count: int, start: float) -> list[dict[str, object]]:
    return [{"entity": "/src/a.py", "type": "file", "time": start + 30 * i, "project": "behind"} for i in range(count)]


def test_health_and_heartbeats_are_served_before_the_replica_opens_and_the_first_read_opens_it(
        behind: Any, account: Account, opens: list[str]) -> None:
    with behind() as client:
        ctx = client.app.state.ctx
        health = client.get("/api/health")
        assert health.status_code == 200 and health.json()["replica"] == {"status": "ok", "opening": True}
        now = time.time()
        posted = client.post(BULK, json=_beats(3, now - 90), headers=account.headers)
        assert posted.status_code == 201, posted.text
        assert ctx.replica is None and opens == []  # nothing opened it yet
        bar = client.get(STATUS, headers=account.headers)
        assert bar.status_code == 200, bar.text
        assert opens == ["replica-open"] and ctx.replica is not None
        assert bar.json()["data"]["grand_total"]["total_seconds"] == pytest.approx(60.0)  # the beats posted before
        assert client.get("/api/health").json()["replica"]["status"] == "ok"
        assert "opening" not in client.get("/api/health").json()["replica"]
        replica = ctx.replica
    assert replica._closed  # closed with the app


def test_the_replica_opens_after_the_delay_without_a_read(behind: Any, opens: list[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "REPLICA_OPEN_DELAY", 0.01)
    with behind() as client:
        ctx = client.app.state.ctx
        assert wait_until(lambda: ctx.replica is not None)
        assert opens == ["replica-open"]
        assert wait_until(lambda: "opening" not in client.get("/api/health").json()["replica"])


def test_a_replica_that_cannot_be_opened_answers_503_with_retry_after(behind: Any, account: Account,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "REPLICA_OPEN_DELAY", 3600.0)

    def broken(*_: Any) -> Any:
        raise ReplicaError("the analytics replica is held by another process")

    monkeypatch.setattr(app_module, "open_replica", broken)
    with behind() as client:
        bar = client.get(STATUS, headers=account.headers)
        assert bar.status_code == 503 and int(bar.headers["retry-after"]) >= 1 and "error" in bar.json()
        health = client.get("/api/health")
        assert health.status_code == 503 and health.json()["replica"]["status"] == "error"
        # Heartbeats are still accepted (and committed): the store does not need the replica.
        assert client.post(BULK, json=_beats(2, time.time() - 60), headers=account.headers).status_code == 201


def test_a_read_waits_for_an_open_under_way_then_answers_503(behind: Any, account: Account, store: Store,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "REPLICA_OPEN_DELAY", 3600.0)
    monkeypatch.setattr(context_module, "REPLICA_WAIT_SECONDS", 0.2)
    release = threading.Event()
    real = app_module.open_replica

    def slow(*args: Any) -> Any:
        assert release.wait(60), "never released"
        return real(*args)

    monkeypatch.setattr(app_module, "open_replica", slow)
    with behind() as client:
        ctx = client.app.state.ctx
        waiting = client.get(STATUS, headers=account.headers)  # starts the open, waits 0.2 s for it
        assert waiting.status_code == 503 and int(waiting.headers["retry-after"]) >= 1
        assert "still opening" in waiting.json()["error"]
        release.set()
        assert wait_until(lambda: ctx.replica is not None)
        assert client.get(STATUS, headers=account.headers).status_code == 200


def test_shutdown_before_the_open_opens_nothing(behind: Any, opens: list[str]) -> None:
    with behind() as client:
        opening = client.app.state.ctx.replica_opening
        assert client.get("/api/health").status_code == 200
    assert opens == [] and not opening.done()
    opening.start()  # after shutdown: refused
    assert opens == []
