"""GET /live/events: the logged-in user's live dashboard as server-sent events.

Events:
- `state`: what the top bar shows (web/live.py's live_state: "currently coding", today's total, the newest
  heartbeat) plus `timeout` and the server's `now`, so the page can turn "coding" into "idle" by itself;
  sent at once on (re)connect and again whenever the user's heartbeats change.
- `heartbeat`: a batch of new heartbeats was stored on this node: how many, and the newest of them.
- a comment every `live_keepalive_seconds` (15 s): keeps proxies from closing an idle stream.

Nothing here polls: a stream sleeps on its subscription (events.UserNotifier) until ingest or the replica sync
signals the user, then reads the user's state once. Ids are `EPOCH.SEQ`; a reconnect with `Last-Event-ID` gets
the heartbeat events it missed that this node still buffers, then the current state. At most
`live_streams_per_user` streams per user (more: 429 with Retry-After).

Other nodes: a node learns of heartbeats posted to another node when its replica sync copies them
(Replica.on_change → UserNotifier.users_changed, wired in app.bind). With PostgreSQL, LISTEN/NOTIFY could call
`ctx.live.users_changed` directly for lower latency; that is the hook to use.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Request, get
from litestar.response import ServerSentEvent, ServerSentEventMessage

from hackatime_lite.api.auth import too_many_requests
from hackatime_lite.context import AppContext
from hackatime_lite.events import Subscription, TooManyStreams
from hackatime_lite.web.auth import SESSION_COOKIE, viewer_of
from hackatime_lite.web.live import live_state

# How soon a browser reconnects after the stream drops (milliseconds, sent as the stream's `retry:`).
RECONNECT_MS = 3000
_encoder = msgspec.json.Encoder()


def current_state(ctx: AppContext, user_id: int, token: str) -> dict[str, Any] | None:
    """The `state` event's data, or None once the session or the user is gone (the stream then ends)."""
    if ctx.store.session_user(token, now=ctx.clock()) is None:
        return None
    user = ctx.store.get_user(user_id)
    if user is None or user.is_disabled:
        return None
    state = live_state(ctx, user)
    state["timeout"] = user.rule(ctx.settings.default_rule).timeout
    state["now"] = ctx.clock()
    return state


def _changed(state: dict[str, Any], before: dict[str, Any] | None) -> bool:
    """Whether the page would show something new (`now` and the ages move by themselves)."""
    if before is None:
        return True
    key = ("today_seconds", "today_date", "coding")
    last, previous = state.get("last") or {}, before.get("last") or {}
    return any(state[k] != before[k] for k in key) or last.get("time") != previous.get("time")


def _message(ctx: AppContext, event: str, data: dict[str, Any], seq: int) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=_encoder.encode(data).decode(), event=event, id=ctx.live.event_id(seq))


async def _stream(ctx: AppContext, sub: Subscription, token: str, resume: int | None
                  ) -> AsyncIterator[ServerSentEventMessage]:
    keepalive = ctx.settings.live_keepalive_seconds
    try:
        seq, missed = ctx.live.pending(sub, after=resume)
        for event_seq, data in missed:
            yield _message(ctx, "heartbeat", data, event_seq)
        state = await asyncio.to_thread(current_state, ctx, sub.user_id, token)
        if state is None:
            return
        yield _message(ctx, "state", state, seq)
        while not sub.closed:
            try:
                await asyncio.wait_for(sub.wake.wait(), keepalive)
            except TimeoutError:
                yield ServerSentEventMessage(data=None, comment="keep-alive")
                continue
            if sub.closed:
                return  # the server is stopping; the browser reconnects (to this node or another)
            seq, new = ctx.live.pending(sub)
            for event_seq, data in new:
                yield _message(ctx, "heartbeat", data, event_seq)
            before, state = state, await asyncio.to_thread(current_state, ctx, sub.user_id, token)
            if state is None:
                return
            if new or _changed(state, before):
                yield _message(ctx, "state", state, seq)
    finally:
        ctx.live.unsubscribe(sub)


@get("/live/events")
async def live_events(request: Request) -> ServerSentEvent:
    ctx: AppContext = request.app.state.ctx
    viewer = viewer_of(request)
    try:
        sub = ctx.live.subscribe(viewer.user.id, asyncio.get_running_loop())
    except TooManyStreams:
        raise too_many_requests(RECONNECT_MS / 1000 * 10, "too many live streams open for this user") from None
    resume = ctx.live.resume_point(request.headers.get("last-event-id"))
    stream = _stream(ctx, sub, request.cookies.get(SESSION_COOKIE, ""), resume)
    # A stream that never starts (the client left at once) never runs its `finally`: its subscription is
    # released when the generator is collected instead.
    weakref.finalize(stream, ctx.live.unsubscribe, sub)
    return ServerSentEvent(stream, retry_duration=RECONNECT_MS)


HANDLERS = [live_events]
