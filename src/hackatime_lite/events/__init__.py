"""In-process fan-out of "this user's heartbeats changed" to the live dashboards (server-sent events).

Who signals: the ingest path after its commit (`UserNotifier.observe_ingest`, an AppContext ingest observer)
and the analytics replica's sync when it copies rows another node committed (`users_changed`, the replica's
`on_change` hook). Who listens: one `Subscription` per open event stream, woken through its own asyncio event,
so no stream ever polls the store; it then reads the user's state once and sends what changed.

Thread-safe: ingest runs on the event loop, the replica sync on the scheduler's or a request's worker thread,
and each subscription is woken on its own loop (`call_soon_threadsafe`). All state is per instance (one
notifier per AppContext), never module-global.

Event ids are `EPOCH.SEQ`: EPOCH names this notifier (a new one per process start), SEQ counts the user's
notifications. A stream that reconnects with `Last-Event-ID` of the same epoch is sent the heartbeat events it
missed that are still buffered (the newest `BUFFERED_EVENTS`); any reconnect is sent the current state at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

# Per user: the newest new-heartbeat events kept for streams that reconnect.
BUFFERED_EVENTS = 50
# Users whose channel (sequence and buffer) is kept; the least recently notified beyond this are forgotten.
MAX_CHANNELS = 10_000


class TooManyStreams(Exception):
    """The user already has as many open streams as allowed."""


@dataclass(eq=False)
class Subscription:
    """One open stream: woken by `wake` on `loop`; `seen` is the newest sequence it has been sent."""

    user_id: int
    loop: asyncio.AbstractEventLoop
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    seen: int = 0
    closed: bool = False


@dataclass
class _Channel:
    seq: int = 0
    buffer: deque[tuple[int, dict[str, Any]]] = field(default_factory=lambda: deque(maxlen=BUFFERED_EVENTS))
    subscribers: list[Subscription] = field(default_factory=list)


def heartbeat_event(heartbeat: Any, count: int) -> dict[str, Any]:
    """The `heartbeat` event's data: the newest heartbeat of a batch (an ingest.Heartbeat) and the batch size."""
    entity = heartbeat.entity or ""
    return {
        "count": count,
        "id": heartbeat.id,
        "time": heartbeat.time,
        "project": heartbeat.project,
        "language": heartbeat.language,
        "editor": heartbeat.editor,
        "machine": heartbeat.machine,
        "category": heartbeat.category,
        "file": PurePath(entity).name if heartbeat.type == "file" else entity,
    }


class UserNotifier:
    def __init__(self, max_streams_per_user: int = 5) -> None:
        self.epoch = secrets.token_hex(4)
        self.max_streams_per_user = max_streams_per_user
        self._lock = threading.Lock()
        self._channels: OrderedDict[int, _Channel] = OrderedDict()
        self.closed = False

    # -- listening ----------------------------------------------------------------------------------------
    def subscribe(self, user_id: int, loop: asyncio.AbstractEventLoop) -> Subscription:
        """A new subscription on `loop`; TooManyStreams when the user has the maximum open already."""
        with self._lock:
            channel = self._channel(user_id)
            if len(channel.subscribers) >= self.max_streams_per_user:
                raise TooManyStreams(user_id)
            sub = Subscription(user_id, loop, seen=channel.seq, closed=self.closed)
            channel.subscribers.append(sub)
            return sub

    def close(self) -> None:
        """End every stream (the server is stopping: open streams must not hold up its graceful shutdown)."""
        with self._lock:
            self.closed = True
            subscribers = [sub for channel in self._channels.values() for sub in channel.subscribers]
        for sub in subscribers:
            sub.closed = True
            with contextlib.suppress(RuntimeError):
                sub.loop.call_soon_threadsafe(sub.wake.set)

    def unsubscribe(self, sub: Subscription) -> None:
        """Idempotent: a stream's end and its finaliser may both call it."""
        with self._lock:
            sub.closed = True
            channel = self._channels.get(sub.user_id)
            if channel is not None and sub in channel.subscribers:
                channel.subscribers.remove(sub)

    def open_streams(self, user_id: int) -> int:
        with self._lock:
            channel = self._channels.get(user_id)
            return len(channel.subscribers) if channel else 0

    def total_streams(self) -> int:
        with self._lock:
            return sum(len(channel.subscribers) for channel in self._channels.values())

    def event_id(self, seq: int) -> str:
        return f"{self.epoch}.{seq}"

    def resume_point(self, last_event_id: str | None) -> int | None:
        """The sequence a `Last-Event-ID` header names, if it is one of this notifier's (else None)."""
        if not last_event_id:
            return None
        epoch, _, seq = last_event_id.strip().partition(".")
        if epoch != self.epoch or not seq.isdigit():
            return None
        return int(seq)

    def pending(self, sub: Subscription, after: int | None = None) -> tuple[int, list[tuple[int, dict[str, Any]]]]:
        """(the user's current sequence, the buffered heartbeat events after `after` or after what `sub` saw);
        marks them seen."""
        with self._lock:
            channel = self._channel(sub.user_id)
            start = sub.seen if after is None else after
            events = [(seq, data) for seq, data in channel.buffer if seq > start]
            sub.seen = channel.seq
            sub.wake.clear()
            return channel.seq, events

    # -- signalling ---------------------------------------------------------------------------------------
    def observe_ingest(self, batch: Any, results: Sequence[Any]) -> None:
        """An AppContext ingest observer: called after a batch's commit with its per-item results."""
        user_id = batch.user.id
        with self._lock:
            if user_id not in self._channels:  # nobody has ever watched this user: nothing to do
                return
        created = [result for result in results if result.created]
        if not created:
            return  # duplicates and rejections change nothing a dashboard shows
        newest = created[-1].heartbeat
        self._signal(user_id, heartbeat_event(newest, len(created)) if newest is not None else None)

    def users_changed(self, user_ids: Iterable[int]) -> None:
        """The replica's `on_change` hook: these users' heartbeats changed (added or deleted, any node)."""
        for user_id in user_ids:
            self._signal(user_id, None)

    def _signal(self, user_id: int, event: dict[str, Any] | None) -> None:
        with self._lock:
            channel = self._channels.get(user_id)
            if channel is None:
                return
            self._channels.move_to_end(user_id)
            channel.seq += 1
            if event is not None:
                channel.buffer.append((channel.seq, event))
            subscribers = list(channel.subscribers)
        for sub in subscribers:
            with contextlib.suppress(RuntimeError):  # its loop has closed: the stream is gone
                sub.loop.call_soon_threadsafe(sub.wake.set)

    def _channel(self, user_id: int) -> _Channel:
        """The user's channel, created if need be (call with the lock held)."""
        channel = self._channels.get(user_id)
        if channel is None:
            channel = self._channels[user_id] = _Channel()
            while len(self._channels) > MAX_CHANNELS:
                oldest, dropped = next(iter(self._channels.items()))
                if dropped.subscribers:
                    self._channels.move_to_end(oldest)
                    break
                del self._channels[oldest]
        return channel
