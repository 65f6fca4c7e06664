"""The sender of the webhook outbox (the `webhook_delivery` job, a singleton: one node sends at a time).

Each due delivery is POSTed, signed (webhooks.signing), with httpx and the mirror's timeouts, never following
redirects. A 2xx settles it as `delivered` — it is never sent again; anything else (or no answer) is retried
with exponential backoff and jitter, capped at BACKOFF_CAP, and after MAX_ATTEMPTS attempts it is `failed`.
`X-Hackatime-Delivery` is the same on every attempt, so a receiver can drop a repeat should our process die
between its 2xx and our record of it. A webhook that fails is not tried again in the same round.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hackatime_lite.context import AppContext
from hackatime_lite.errors import InputError
from hackatime_lite.mirror.outbound import http_client, validate_upstream_url
from hackatime_lite.mirror.secretbox import SecretBox, SecretUnavailable
from hackatime_lite.store.webhook_records import WebhookRow
from hackatime_lite.webhooks.config import post

if TYPE_CHECKING:
    import httpx  # imported where used: ~0.1 s a server start does not need (issue 13)

log = logging.getLogger(__name__)
BATCH = 100
MAX_ROUND_DELIVERIES = 1000
MAX_ATTEMPTS = 8
BACKOFF_CAP = 6 * 3600.0


@dataclass
class WebhookReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    skipped_busy: bool = False


def backoff(attempts: int, base: float, *, cap: float = BACKOFF_CAP,
            rand: Callable[[], float] = random.random) -> float:
    """Between half and all of base·2^(attempts−1), capped."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return ceiling / 2 + rand() * ceiling / 2


def deliver_due(ctx: AppContext, now: float | None = None, *, client: httpx.Client | None = None) -> WebhookReport:
    report = WebhookReport()
    lock = ctx.webhook_delivery_lock
    if not lock.acquire(blocking=False):
        report.skipped_busy = True
        return report
    try:
        moment = ctx.clock() if now is None else now
        due = ctx.store.due_webhook_deliveries(moment, BATCH)
        if not due:
            return report
        box = SecretBox.for_settings(ctx.settings)
        hooks: dict[int, WebhookRow | None] = {}
        failing: set[int] = set()
        base = ctx.settings.mirror_backoff_base
        with (http_client(ctx.settings) if client is None else _borrowed(client)) as http:
            handled = 0
            while due and handled < MAX_ROUND_DELIVERIES:
                for item in due:
                    handled += 1
                    if item.webhook_id not in hooks:
                        hooks[item.webhook_id] = ctx.store.get_webhook(item.webhook_id)
                    hook = hooks[item.webhook_id]
                    if hook is None or item.webhook_id in failing:
                        continue  # deleted meanwhile (its rows went with it), or failing this round
                    result_status: int | None
                    error: str | None
                    try:
                        validate_upstream_url(hook.url, ctx.settings)  # an allow-list may have tightened
                        secret = box.decrypt(hook.secret_encrypted)
                    except (InputError, SecretUnavailable) as exc:
                        result_status, error, ok = None, str(exc), False
                    else:
                        result = post(http, hook, secret, item.event, item.delivery_id, item.payload, moment)
                        result_status, error, ok = result.status, result.error, result.delivered
                    if ok:
                        ctx.store.settle_webhook_delivery(item.id, state="delivered", status=result_status, error=None,
                                                          next_attempt_at=moment, now=moment)
                        report.delivered += 1
                        continue
                    failing.add(item.webhook_id)
                    attempts = item.attempts + 1
                    if attempts >= MAX_ATTEMPTS:
                        state, when = "failed", moment
                        report.failed += 1
                    else:
                        state, when = "pending", moment + backoff(attempts, base)
                        report.retried += 1
                    log.info("webhook %s: delivery %s attempt %d: %s", hook.id, item.delivery_id, attempts, error)
                    report.errors.append(f"webhook {hook.id}: {error}")
                    ctx.store.settle_webhook_delivery(item.id, state=state, status=result_status, error=error,
                                                      next_attempt_at=when, now=moment)
                due = [d for d in ctx.store.due_webhook_deliveries(moment, BATCH) if d.webhook_id not in failing]
    finally:
        lock.release()
    return report


class _borrowed:
    """A caller's client as a context manager that leaves it open."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def __enter__(self) -> httpx.Client:
        return self.client

    def __exit__(self, *_: object) -> None:
        return None


def webhook_delivery_job(ctx: AppContext) -> dict[str, Any] | None:
    """The scheduler's `webhook_delivery` job: one round; a summary only when something happened."""
    report = deliver_due(ctx)
    if not (report.delivered or report.retried or report.failed):
        return None
    return {"delivered": report.delivered, "retried": report.retried, "failed": report.failed,
            "errors": report.errors[:5]}
