"""`first_heartbeat_of_day`: an AppContext ingest observer (context.py registers it; ingest.py is untouched).

Called on the event loop after each committed batch, so it must not block: per user it remembers the local day
it last handled and, the first time a batch stores a heartbeat of the user's current local day, queues the
event with a Future-returning store write it does not wait for. The store keys the event by user and day, so
several nodes (or a restart) still emit it once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from hackatime_lite.webhooks.payloads import event_payload

if TYPE_CHECKING:  # annotations only: context.py imports this module
    from hackatime_lite.store import StoreBackend

log = logging.getLogger(__name__)
EVENT = "first_heartbeat_of_day"
# Users remembered; beyond this the memory starts over (the store's key still stops a second event).
MAX_REMEMBERED = 100_000
# A time farther than this from now is on another local date than now in every zone (UTC offsets stay
# within ±26 hours), so it needs no date conversion.
_NEAR_NOW = 2 * 86400.0


def local_date(tz: str, epoch: float) -> dt.date:
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return dt.datetime.fromtimestamp(epoch, zone).date()


def event_key(user_id: int, day: dt.date) -> str:
    return f"{EVENT}:{user_id}:{day.isoformat()}"


class FirstHeartbeatOfDay:
    def __init__(self, store: StoreBackend, clock: Callable[[], float]) -> None:
        self.store, self.clock = store, clock
        self._lock = threading.Lock()
        self._handled: dict[int, dt.date] = {}

    def __call__(self, batch: Any, results: Sequence[Any]) -> None:
        user = batch.user
        now = self.clock()
        today = local_date(user.timezone, now)
        with self._lock:
            if self._handled.get(user.id) == today:
                return
        # Called for every batch until the user's first heartbeat of the day arrives (offline queues replaying
        # yesterday, imports): per item only a float from the stored row, no Heartbeat built, and the local
        # date worked out only for times near now that would be a new earliest one.
        low, high = now - _NEAR_NOW, now + _NEAR_NOW
        first: Any = None
        first_time = 0.0
        for result in results:
            if not result.created:
                continue
            time_ = result.time
            if time_ is not None and low < time_ < high and (first is None or time_ < first_time) \
                    and local_date(user.timezone, time_) == today:
                first, first_time = result, time_
        if first is None:
            return
        heartbeat = first.heartbeat
        with self._lock:
            if len(self._handled) >= MAX_REMEMBERED:
                self._handled.clear()
            self._handled[user.id] = today
        data = {"date": today.isoformat(), "time": heartbeat.time, "project": heartbeat.project,
                "language": heartbeat.language, "editor": heartbeat.editor}
        text = f"{user.username} started coding today ({today.isoformat()})" + \
            (f" on {heartbeat.project}" if heartbeat.project else "")
        try:
            queued = self.store.enqueue_webhook_event(user.id, EVENT, event_key(user.id, today),
                                                      event_payload(user, EVENT, data, text, now), now)
        except Exception:  # the store is closing or failing: ingest must not fail for a notification
            log.warning("could not queue the first-heartbeat webhook event", exc_info=True)
            return
        queued.add_done_callback(_log_failure)


def _log_failure(future: Future[int]) -> None:
    if future.exception() is not None:
        log.warning("could not queue the first-heartbeat webhook event: %s", future.exception())
