"""Delivery from the outbox to upstream targets, free of any transport.

Ingest queues every newly stored direct/mirrored heartbeat for the user's targets in the insert's own
transaction (store/outbox.py); `deliver_due` (a scheduler job) sends what is due in batches of at most 25 to
`{url}/users/current/heartbeats.bulk`. Per-item 2xx and 400 leave the outbox (400s are recorded); anything else
is retried with exponential backoff and jitter, capped at an hour. A whole-request 401/403 (or a redirect or
404, which no retry can fix) pauses the target with the reason; 429, 5xx and network errors back the whole
target off. Every request carries `X-Origin`: the chain of instances the heartbeats passed through plus ours,
so instances mirroring each other never loop.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import msgspec

from hackatime_lite.context import AppContext
from hackatime_lite.mirror.outbound import (
    OutboundURLError,
    describe_http_error,
    http_client,
    validate_upstream_url,
)
from hackatime_lite.mirror.secretbox import SecretBox, SecretUnavailable
from hackatime_lite.mirror.targets import BULK_PATH, basic_auth
from hackatime_lite.store.origins import ORIGIN_SEPARATOR
from hackatime_lite.store.records import OutboxItem, Rejected, Retry, TargetRow
from hackatime_lite.webhooks.produce import mirror_paused

if TYPE_CHECKING:
    import httpx  # imported where used: ~0.1 s a server start does not need (issue 13)

log = logging.getLogger(__name__)

BATCH_SIZE = 25
MAX_BATCHES_PER_TARGET_PER_ROUND = 40
BACKOFF_CAP = 3600.0
# Fields of the WakaTime heartbeat wire format we send on (editor, OS and machine travel in headers/UA).
WIRE_FIELDS = (
    "entity", "type", "category", "time", "project", "branch", "language", "dependencies", "lines", "lineno",
    "cursorpos", "is_write", "project_root_count", "line_additions", "line_deletions", "ai_line_changes",
    "human_line_changes", "ai_session", "ai_model", "ai_input_tokens", "ai_output_tokens", "ai_prompt_length",
    "user_agent",
)
_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


@dataclass
class DeliveryReport:
    targets: int = 0
    requests: int = 0
    delivered: int = 0
    rejected: int = 0
    retried: int = 0
    paused: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped_busy: bool = False


# -- delivery -----------------------------------------------------------------------------------
def backoff_delay(failures: int, base: float, *, cap: float = BACKOFF_CAP,
                  rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: between half and all of base·2^(failures−1), capped."""
    ceiling = min(cap, base * 2 ** max(0, failures - 1))
    return ceiling / 2 + rand() * ceiling / 2


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def wire_heartbeat(row: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name in WIRE_FIELDS:
        value = row.get(name)
        if value is None:
            continue
        if name == "dependencies":
            value = msgspec.json.decode(value) if isinstance(value, str) else value
        elif name == "is_write":
            value = bool(value)
        body[name] = value
    return body


def _batches(items: list[OutboxItem]) -> Iterator[list[OutboxItem]]:
    """Batches of ≤ 25 sharing user agent, machine and origin chain (they travel in request headers)."""
    groups: dict[tuple[Any, Any, str], list[OutboxItem]] = {}
    for item in items:
        key = (item.heartbeat.get("user_agent"), item.heartbeat.get("machine"), item.origins)
        groups.setdefault(key, []).append(item)
    for group in groups.values():
        for start in range(0, len(group), BATCH_SIZE):
            yield group[start:start + BATCH_SIZE]


def _headers(batch: list[OutboxItem], api_key: str, own_id: str) -> dict[str, str]:
    first = batch[0]
    chain = [o for o in first.origins.split(ORIGIN_SEPARATOR) if o]
    headers = {
        "Authorization": basic_auth(api_key),
        "Content-Type": "application/json",
        "X-Origin": ORIGIN_SEPARATOR.join([*chain, own_id]),
    }
    if first.heartbeat.get("user_agent"):
        headers["User-Agent"] = first.heartbeat["user_agent"]
    if first.heartbeat.get("machine"):
        headers["X-Machine-Name"] = quote_plus(first.heartbeat["machine"])
    return headers


def _item_statuses(response: httpx.Response, count: int) -> list[tuple[int, str | None]]:
    """Per-item (status, error) from a bulk answer; a 2xx without usable entries counts as all accepted."""
    try:
        entries = _decoder.decode(response.content).get("responses")
    except (msgspec.DecodeError, AttributeError):
        entries = None
    results: list[tuple[int, str | None]] = []
    for position in range(count):
        entry = entries[position] if isinstance(entries, list) and position < len(entries) else None
        if isinstance(entry, list | tuple) and len(entry) == 2 and isinstance(entry[1], int):
            body = entry[0] if isinstance(entry[0], dict) else {}
            error = body.get("error")
            results.append((entry[1], error if isinstance(error, str) else None))
        else:
            results.append((response.status_code, None))
    return results


class _TargetRound:
    """One delivery round for one target."""

    def __init__(self, ctx: AppContext, client: httpx.Client, target: TargetRow, api_key: str, own_id: str,
                 now: float, report: DeliveryReport) -> None:
        self.ctx, self.client, self.target, self.api_key = ctx, client, target, api_key
        self.own_id, self.now, self.report = own_id, now, report
        self.base = ctx.settings.mirror_backoff_base

    def run(self) -> None:
        sent_batches = 0
        while sent_batches < MAX_BATCHES_PER_TARGET_PER_ROUND:
            items = self.ctx.store.due_outbox_items(self.target.id, self.now, BATCH_SIZE * 4)
            if not items:
                return
            for batch in _batches(items):
                if not self._send(batch):
                    return
                sent_batches += 1

    def _pause(self, reason: str) -> None:
        log.warning("mirror target %s paused: %s", self.target.id, reason)
        self.ctx.store.pause_target(self.target.id, reason, self.now)
        mirror_paused(self.ctx, self.target, reason, self.now)  # the owner's webhooks hear of it
        self.report.paused.append(self.target.id)

    def _back_off(self, reason: str, at_least: float | None = None) -> None:
        failures = self.ctx.store.target_failures(self.target.id) + 1
        delay = backoff_delay(failures, self.base)
        if at_least is not None:
            delay = min(BACKOFF_CAP, max(delay, at_least))
        log.info("mirror target %s: %s; retrying in %.1fs", self.target.id, reason, delay)
        self.ctx.store.record_target_failure(self.target.id, reason, self.now + delay, self.now)
        self.report.errors.append(f"target {self.target.id}: {reason}")

    def _send(self, batch: list[OutboxItem]) -> bool:
        """Deliver one batch; False when the target must not be tried again this round."""
        import httpx

        body = _encoder.encode([wire_heartbeat(item.heartbeat) for item in batch])
        self.report.requests += 1
        try:
            response = self.client.post(self.target.url + BULK_PATH, content=body,
                                        headers=_headers(batch, self.api_key, self.own_id))
        except httpx.HTTPError as exc:
            self._back_off(describe_http_error(exc))
            return False
        status = response.status_code
        if status in (401, 403):
            self._pause(f"the upstream rejected the API key ({status}); re-add the mirror with a valid key")
            return False
        if 300 <= status < 400:
            self._pause(f"the upstream redirected ({status}); redirects are never followed, update the URL")
            return False
        if status in (404, 405, 410):
            self._pause(f"the upstream has no heartbeats endpoint at this URL ({status})")
            return False
        if status == 400:
            # The whole request was refused as unparsable: nothing in it can ever be accepted as sent.
            self._settle(batch, [(400, "the upstream refused the whole request")] * len(batch))
            return True
        if not 200 <= status < 300:  # 429, 5xx and the rest: the upstream may recover, so back off
            self._back_off(f"upstream answered {status}", _retry_after(response))
            return False
        self._settle(batch, _item_statuses(response, len(batch)))
        return True

    def _settle(self, batch: list[OutboxItem], statuses: list[tuple[int, str | None]]) -> None:
        delivered: list[int] = []
        rejected: list[Rejected] = []
        retries: list[Retry] = []
        for item, (status, error) in zip(batch, statuses, strict=True):
            if 200 <= status < 300:
                delivered.append(item.outbox_id)
            elif status == 400:
                rejected.append((item.outbox_id, item.heartbeat_id, status, error))
            else:
                delay = backoff_delay(item.attempts + 1, self.base)
                retries.append((item.outbox_id, self.now + delay, f"{status}: {error or 'upstream error'}"))
        self.ctx.store.settle_outbox(self.target.id, delivered=delivered, rejected=rejected, retries=retries,
                                     now=self.now)
        self.report.delivered += len(delivered)
        self.report.rejected += len(rejected)
        self.report.retried += len(retries)


def deliver_due(ctx: AppContext, now: float | None = None) -> DeliveryReport:
    """One delivery round over every target with something due (the `mirror_delivery` job)."""
    report = DeliveryReport()
    # Rounds never overlap for one store: a slow upstream must not get the same batch twice at once.
    lock = ctx.mirror_delivery_lock
    if not lock.acquire(blocking=False):
        report.skipped_busy = True
        return report
    try:
        now = ctx.clock() if now is None else now
        target_ids = ctx.store.due_target_ids(now)
        if not target_ids:
            return report
        box = SecretBox.for_settings(ctx.settings)
        own_id = ctx.store.instance_id()
        with http_client(ctx.settings) as client:
            for target_id in target_ids:
                target = ctx.store.get_target(target_id)
                if target is None:
                    continue
                report.targets += 1
                try:
                    # Re-checked every round: a tightened allow-list stops existing targets too.
                    validate_upstream_url(target.url, ctx.settings)
                    api_key = box.decrypt(target.api_key_encrypted)
                except (OutboundURLError, SecretUnavailable) as exc:
                    _TargetRound(ctx, client, target, "", own_id, now, report)._pause(str(exc))
                    continue
                _TargetRound(ctx, client, target, api_key, own_id, now, report).run()
    finally:
        lock.release()
    return report


def _now() -> float:
    return time.time()


def mirror_delivery_job(ctx: AppContext) -> dict[str, Any] | None:
    """The scheduler's `mirror_delivery` job: one round; a summary only when something happened."""
    report = deliver_due(ctx)
    if not report.requests and not report.paused:
        return None
    return {"delivered": report.delivered, "rejected": report.rejected, "retried": report.retried,
            "requests": report.requests, "paused": report.paused, "errors": report.errors[:5]}
