"""A read queued behind another thread's sync (issue 13, mixed load) skips its own sync only when that sync
began after the read did: it then copied everything the read must count. One that began earlier may have
missed rows, so the read syncs itself."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from types import TracebackType

import pytest

from hackatime_lite.analytics.oracle import Beat
from hackatime_lite.analytics.queries import summarize
from hackatime_lite.analytics.replica import Replica, SyncResult
from hackatime_lite.config import Settings
from hackatime_lite.store import Store
from tests.analytics_helpers import insert_beats

T0 = 1_718_000_000.0


class SignallingLock:
    """The replica's re-entrant sync lock, noting when a thread has to wait for it (readiness, not sleeps)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.waiting = threading.Event()

    def __enter__(self) -> SignallingLock:
        if not self._lock.acquire(blocking=False):
            self.waiting.set()
            self._lock.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._lock.release()


@pytest.fixture
def replica(store: Store, settings: Settings) -> Iterator[Replica]:
    with Replica(store, settings) as opened:
        opened._sync_lock = SignallingLock()  # type: ignore[assignment]  # same protocol as the RLock it wraps
        yield opened


def _sync_in_thread(replica: Replica) -> tuple[threading.Thread, list[SyncResult]]:
    results: list[SyncResult] = []
    thread = threading.Thread(target=lambda: results.append(replica.sync()))
    thread.start()
    assert replica._sync_lock.waiting.wait(10), "the second sync never waited for the lock"  # type: ignore[attr-defined]
    return thread, results


def test_a_read_behind_a_later_sync_does_not_sync_again(store: Store, replica: Replica) -> None:
    user_id = store.create_user("dora").id
    insert_beats(store, [Beat(0, user_id, T0)])
    with replica._sync_lock:
        thread, results = _sync_in_thread(replica)  # arrives before the sync below begins
        insert_beats(store, [Beat(0, user_id, T0 + 90)])
        assert replica.sync().copied == 2  # began after the waiting call arrived: covers all it must see
        insert_beats(store, [Beat(0, user_id, T0 + 100)])  # committed after the waiting call arrived
    thread.join(10)
    assert results == [SyncResult()]  # nothing copied: the sync above already had what it must count
    assert summarize(replica, user_id, None, None, sync=False).total_seconds == 90.0
    assert replica.sync().copied == 1  # the later heartbeat is counted by the next read that arrives
    assert summarize(replica, user_id, None, None, sync=False).total_seconds == 100.0


def test_a_read_behind_an_earlier_sync_syncs_itself(store: Store, replica: Replica) -> None:
    user_id = store.create_user("emil").id
    insert_beats(store, [Beat(0, user_id, T0)])
    with replica._sync_lock:
        assert replica.sync().copied == 1  # began before the waiting call arrived
        thread, results = _sync_in_thread(replica)
        insert_beats(store, [Beat(0, user_id, T0 + 60)])  # committed after that sync read the marks
    thread.join(10)
    assert [r.copied for r in results] == [1]
    assert summarize(replica, user_id, None, None, sync=False).total_seconds == 60.0
