"""Mirror targets as settings use cases: add (validated, optionally probed), list, remove, resume, backfill."""

from __future__ import annotations

import base64
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hackatime_lite.config import Settings
from hackatime_lite.errors import InputError
from hackatime_lite.mirror.outbound import (
    OutboundURLError,
    describe_http_error,
    http_client,
    validate_upstream_url,
)
from hackatime_lite.mirror.secretbox import SecretBox
from hackatime_lite.store import StoreBackend
from hackatime_lite.store.records import TargetRow

if TYPE_CHECKING:
    pass  # imported where used: ~0.1 s a server start does not need (issue 13)

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 256
BULK_PATH = "/users/current/heartbeats.bulk"


class MirrorError(InputError):
    """A mirror setting we cannot accept, or an unknown target; the message is safe to show."""


@dataclass(frozen=True)
class TargetView:
    """A target as shown to its owner: never the key, only its first characters."""

    id: int
    user_id: int
    url: str
    key_hint: str
    created_at: float
    paused: bool
    pause_reason: str | None
    failures: int
    retry_at: float | None
    last_attempt_at: float | None
    last_success_at: float | None
    last_error: str | None
    delivered: int
    rejected: int
    pending: int = 0
    due: int = 0
    retrying: int = 0
    oldest_pending_at: float | None = None
    recent_rejections: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _view(row: TargetRow, store: StoreBackend | None = None, now: float | None = None,
          detail: bool = False) -> TargetView:
    view = TargetView(
        id=row.id, user_id=row.user_id, url=row.url, key_hint=row.key_hint, created_at=row.created_at,
        paused=row.paused_at is not None, pause_reason=row.pause_reason, failures=row.failures,
        retry_at=row.retry_at, last_attempt_at=row.last_attempt_at, last_success_at=row.last_success_at,
        last_error=row.last_error, delivered=row.delivered_count, rejected=row.rejected_count,
    )
    if store is None:
        return view
    counts = store.outbox_counts(row.id, now if now is not None else 0.0)
    view = TargetView(**{**view.__dict__, "pending": counts.pending, "due": counts.due,
                         "retrying": counts.retrying, "oldest_pending_at": counts.oldest_created_at})
    if detail:
        view.recent_rejections.extend(store.recent_rejections(row.id))
    return view


def _check_key(api_key: str) -> str:
    key = (api_key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH or any(c.isspace() or ord(c) < 32 for c in key):
        raise MirrorError("the upstream API key is missing or malformed")
    return key


def basic_auth(api_key: str) -> str:
    return "Basic " + base64.b64encode(api_key.encode()).decode()


# -- settings use cases ---------------------------------------------------------------------------
def probe_upstream(settings: Settings, url: str, api_key: str, origin: str) -> None:
    """Check the URL answers like a WakaTime API and accepts the key (an empty bulk stores nothing)."""
    import httpx

    endpoint = url + BULK_PATH
    try:
        with http_client(settings) as client:
            response = client.post(endpoint, content=b"[]", headers={
                "Authorization": basic_auth(api_key), "Content-Type": "application/json", "X-Origin": origin})
    except httpx.HTTPError as exc:
        raise MirrorError(f"cannot reach the upstream: {describe_http_error(exc)}") from exc
    status = response.status_code
    if status in (401, 403):
        raise MirrorError(f"the upstream rejected the API key ({status})")
    if 300 <= status < 400:
        raise MirrorError(f"the upstream redirects ({status}); use the final URL (redirects are never followed)")
    if status in (404, 405):
        raise MirrorError(f"no WakaTime-compatible API at this URL ({status} for POST …{BULK_PATH}); "
                          "the URL usually ends in /api/v1")
    if status >= 500:
        raise MirrorError(f"the upstream failed ({status}); try again later or add with verification off")


def add_target(store: StoreBackend, settings: Settings, user_id: int, url: str, api_key: str, *,
               verify: bool = True, now: float | None = None) -> TargetView:
    """Add (or re-key and un-pause) a target for the user; the key is stored encrypted."""
    try:
        url = validate_upstream_url(url, settings)
    except OutboundURLError as exc:
        raise MirrorError(str(exc)) from exc
    key = _check_key(api_key)
    if verify:
        probe_upstream(settings, url, key, store.instance_id())
    encrypted = SecretBox.for_settings(settings).encrypt(key)
    when = now if now is not None else time.time()
    row = store.upsert_target(user_id, url, encrypted, key[:4], when)
    return _view(row)


def list_targets(store: StoreBackend, user_id: int | None = None, *, now: float | None = None,
                 detail: bool = False) -> list[TargetView]:
    when = now if now is not None else time.time()
    return [_view(row, store, when, detail) for row in store.list_targets(user_id)]


def get_target(store: StoreBackend, target_id: int, user_id: int | None = None) -> TargetRow:
    """The target, checked against its owner when user_id is given (unknown and foreign look the same)."""
    row = store.get_target(target_id)
    if row is None or (user_id is not None and row.user_id != user_id):
        raise MirrorError(f"no mirror with id {target_id}")
    return row


def remove_target(store: StoreBackend, target_id: int, user_id: int | None = None) -> None:
    get_target(store, target_id, user_id)
    store.delete_target(target_id)


def resume_target(store: StoreBackend, target_id: int, user_id: int | None = None, *, now: float | None = None) -> None:
    get_target(store, target_id, user_id)
    when = now if now is not None else time.time()
    store.resume_target(target_id, when)


def backfill(store: StoreBackend, target_id: int, start: float, end: float | None = None, *, user_id: int | None = None,
             chunk: int = 20_000, now: float | None = None) -> int:
    """Queue the owner's stored heartbeats (imports included) in [start, end) for one target; returns how many."""
    target = get_target(store, target_id, user_id)
    when = now if now is not None else time.time()
    queued, last_id = 0, 0
    while True:
        ids = store.heartbeat_ids(target.user_id, start, end, limit=chunk, after_id=last_id)
        if not ids:
            return queued
        queued += store.enqueue_backfill(target_id, ids, when)
        last_id = ids[-1]
