"""GET /live/events: the live dashboard's server-sent events, read in-process while heartbeats arrive.

Litestar's TestClient collects a whole response before returning it, and an event stream never ends, so
`EventStream` calls the app itself on the test client's event loop (its blocking portal), hands each body
chunk to the test thread through a queue and ends the stream with an `http.disconnect`. Every wait has a
deadline; none sleeps a fixed time.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from litestar.testing import TestClient

from hackatime_lite.config import Settings
from hackatime_lite.ingest import IngestContext, ingest
from hackatime_lite.store import Store
from tests.conftest import Account, zone_far_from_midnight

HEARTBEATS = "/api/v1/users/current/heartbeats.bulk"
DEADLINE = 10.0
# A stream reads coding time at once, and the replica sync's change hook (Replica.on_change) is set on the
# real replica at app start: the app opens it there, as a server does.
pytestmark = pytest.mark.eager_replica


@dataclass
class Event:
    event: str | None
    id: str | None
    data: Any
    comment: str | None = None


class EventStream:
    """One open GET /live/events on the app behind `client`, with `cookie` and optional request headers."""

    def __init__(self, client: TestClient, cookie: str, headers: dict[str, str] | None = None) -> None:
        self.portal = client.blocking_portal
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self._buffer = ""
        self._gone = self.portal.call(anyio.Event)
        sent_request = False
        raw = [(b"host", b"testserver"), (b"cookie", cookie.encode()), (b"accept", b"text/event-stream"),
               *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": "/live/events", "raw_path": b"/live/events", "root_path": "",
                 "query_string": b"", "headers": raw, "client": ("testclient", 50000),
                 "server": ("testserver", 80), "extensions": {}}

        async def receive() -> dict[str, Any]:
            nonlocal sent_request
            if not sent_request:
                sent_request = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await self._gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            self.messages.put(dict(message))

        self.done = self.portal.start_task_soon(client.app, scope, receive, send)  # type: ignore[arg-type]
        start = self.messages.get(timeout=DEADLINE)
        assert start["type"] == "http.response.start"
        self.status = start["status"]
        self.headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}

    def next_event(self, timeout: float = DEADLINE) -> Event:
        """The next event (or comment) the stream sends, within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while "\r\n\r\n" not in self._buffer:
            message = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
            assert message["type"] == "http.response.body", message
            self._buffer += message.get("body", b"").decode()
            if not message.get("more_body", False):
                self._buffer += "\r\n\r\n" if self._buffer.strip() else ""
                if "\r\n\r\n" not in self._buffer:
                    raise EOFError("the stream ended")
        block, self._buffer = self._buffer.split("\r\n\r\n", 1)
        fields: dict[str, str] = {}
        comment = None
        for line in block.split("\r\n"):
            if line.startswith(":"):
                comment = line[1:].strip()
            elif line:
                key, _, value = line.partition(": ")
                fields[key] = value
        if "data" not in fields and "event" not in fields and "id" not in fields and comment is None:
            return self.next_event(max(0.01, deadline - time.monotonic()))  # the `retry:` preamble
        data = fields.get("data")
        return Event(fields.get("event"), fields.get("id"), json.loads(data) if data else None, comment)

    def next_of(self, kind: str, predicate: Any = lambda data: True, timeout: float = DEADLINE) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            event = self.next_event(max(0.01, deadline - time.monotonic()))
            if event.event == kind and predicate(event.data):
                return event

    def close(self) -> None:
        self.portal.call(self._gone.set)
        self.done.result(timeout=DEADLINE)


@pytest.fixture
def open_stream(client: TestClient) -> Iterator[Any]:
    streams: list[EventStream] = []

    def opener(cookie: str, headers: dict[str, str] | None = None) -> EventStream:
        stream = EventStream(client, cookie, headers)
        streams.append(stream)
        return stream

    yield opener
    for stream in streams:
        stream.close()


def beats(start: float, count: int, project: str = "live", step: float = 20.0) -> list[dict[str, object]]:
    return [{"entity": f"/src/{project}/app.py", "type": "file", "time": start + i * step, "project": project,
             "language": "Python"} for i in range(count)]


def status_bar_seconds(client: TestClient, account: Account) -> float:
    data = client.get("/api/v1/users/current/statusbar/today", headers=account.headers).json()["data"]
    return data["grand_total"]["total_seconds"]


def cookie_for(store: Store, account: Account) -> str:
    return f"hl_session={store.create_session(account.user.id)}"


def test_todays_total_follows_posted_heartbeats_and_a_reconnect_resumes(
        client: TestClient, store: Store, alice: Account, bob: Account, open_stream: Any) -> None:
    # Posts from 100 s before now to 20 s after are all "today" in this zone, whenever the test runs.
    store.update_user(alice.user.id, timezone=zone_far_from_midnight(time.time()))
    stream = open_stream(cookie_for(store, alice))
    assert stream.status == 200 and stream.headers["content-type"].startswith("text/event-stream")
    first = stream.next_of("state")
    assert first.data["today_seconds"] == 0 and first.data["last"] is None and first.id

    now = time.time()
    assert client.post(HEARTBEATS, json=beats(now - 100, 6), headers=alice.headers).status_code == 201
    client.post(HEARTBEATS, json=beats(now - 100, 6, "bob's"), headers=bob.headers)  # not alice's: no event
    beat = stream.next_of("heartbeat")
    assert beat.data["count"] == 6 and beat.data["project"] == "live" and beat.data["file"] == "app.py"
    state = stream.next_of("state")
    expected = status_bar_seconds(client, alice)
    assert expected == pytest.approx(100.0)  # six heartbeats 20 s apart
    assert state.data["today_seconds"] == pytest.approx(expected)
    assert state.data["last"]["time"] == pytest.approx(now)
    assert state.data["coding"] is True and state.data["timeout"] == 120

    # A duplicate batch changes nothing: no heartbeat event. The next real batch is the next event.
    client.post(HEARTBEATS, json=beats(now - 100, 6), headers=alice.headers)
    client.post(HEARTBEATS, json=beats(now + 20, 2), headers=alice.headers)
    assert stream.next_of("heartbeat").data["count"] == 2
    assert stream.next_of("state").data["today_seconds"] == pytest.approx(140.0) == status_bar_seconds(client, alice)

    # Reconnecting with the first state's id: the missed heartbeat events (from this node's buffer), then the
    # current state at once.
    again = open_stream(cookie_for(store, alice), {"Last-Event-ID": first.id})
    missed = [again.next_event(), again.next_event()]
    assert [(e.event, e.data["count"]) for e in missed] == [("heartbeat", 6), ("heartbeat", 2)]
    current = again.next_event()
    assert current.event == "state" and current.data["today_seconds"] == pytest.approx(status_bar_seconds(client, alice))
    # An id from another node or an earlier process: just the state.
    other = open_stream(cookie_for(store, alice), {"Last-Event-ID": "0000.3"})
    assert other.next_event().event == "state"


def test_keepalive_stream_limit_and_login(client: TestClient, store: Store, alice: Account, settings: Settings,
                                          open_stream: Any) -> None:
    ctx = client.app.state.ctx
    settings.live_keepalive_seconds = 0.2  # this test's own settings object; the default is 15 s
    cookie = cookie_for(store, alice)
    streams = [open_stream(cookie) for _ in range(settings.live_streams_per_user)]
    assert all(s.status == 200 for s in streams)
    assert ctx.live.open_streams(alice.user.id) == settings.live_streams_per_user
    streams[0].next_of("state")
    assert streams[0].next_event().comment == "keep-alive"
    refused = client.get("/live/events", headers={"Cookie": cookie})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    # Closing a stream frees its place.
    streams.pop().close()
    deadline = time.monotonic() + DEADLINE
    while ctx.live.open_streams(alice.user.id) >= settings.live_streams_per_user:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert open_stream(cookie).status == 200
    # Without a session: to the login page, no stream.
    anonymous = client.get("/live/events", follow_redirects=False)
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["location"]


def test_heartbeats_committed_elsewhere_arrive_through_the_replica_sync(
        client: TestClient, store: Store, alice: Account, open_stream: Any) -> None:
    """Another node's heartbeats reach this node's streams when its replica sync copies them (the sync job's
    work, run here by hand): committed straight into the shared store, with no ingest signal on this node."""
    ctx = client.app.state.ctx
    stream = open_stream(cookie_for(store, alice))
    assert stream.next_of("state").data["today_seconds"] == 0
    results = ingest(store, beats(time.time() - 200, 4), IngestContext(user=alice.user))
    assert [r.status for r in results] == [201] * 4
    ctx.replica.sync()  # what the replica_sync job does every `replica_sync_interval` seconds on every node
    state = stream.next_of("state")
    assert state.data["today_seconds"] == pytest.approx(60.0)
    assert state.data["today_seconds"] == pytest.approx(status_bar_seconds(client, alice))


@pytest.mark.slow  # a second app (~0.5 s of CPU to build); the sync path itself is covered just above
def test_second_node_stream_sees_a_post_to_the_first(tmp_path: Path, client: TestClient, store: Store,
                                                     alice: Account) -> None:
    """Two app nodes on one store (the shape of a PostgreSQL deployment): a post to node A reaches a stream on
    node B once B's replica sync runs."""
    from tests.app_pool import pooled_app

    with pooled_app(Settings(data_dir=str(tmp_path / "node-b")), store=store, start_scheduler=False) as app_b, \
            TestClient(app_b, raise_server_exceptions=False) as node_b:
        stream = EventStream(node_b, cookie_for(store, alice))
        try:
            assert stream.next_of("state").data["today_seconds"] == 0
            assert client.post(HEARTBEATS, json=beats(time.time() - 100, 3), headers=alice.headers).status_code == 201
            node_b.app.state.ctx.replica.sync()  # node B's replica_sync job
            state = stream.next_of("state")
            assert state.data["today_seconds"] == pytest.approx(40.0)
            assert state.data["today_seconds"] == pytest.approx(status_bar_seconds(node_b, alice))
        finally:
            stream.close()
