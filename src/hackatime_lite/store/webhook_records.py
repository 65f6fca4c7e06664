"""Typed records of outgoing webhooks (store/sqlite/webhooks.py, store/postgres/webhooks.py): what a webhook
is subscribed to, and one event's delivery to it."""

from __future__ import annotations

from dataclasses import dataclass

WEBHOOK_EVENTS = ("goal_reached", "goal_missed", "daily_summary", "first_heartbeat_of_day", "mirror_paused")
WEBHOOK_FORMATS = ("json", "slack")
DELIVERY_STATES = ("pending", "delivered", "failed")


@dataclass(frozen=True)
class WebhookRow:
    """A user's webhook (`user_id` set) or a team's (`team_id` set); never both."""

    id: int
    user_id: int | None
    team_id: int | None
    url: str
    events: tuple[str, ...]
    format: str
    secret_encrypted: str
    created_by: int | None
    created_at: float
    last_attempt_at: float | None = None
    last_success_at: float | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class WebhookDelivery:
    """One event for one webhook: `delivery_id` is the X-Hackatime-Delivery header, the same on every retry;
    (webhook_id, event_key) is unique, so an event is queued (and delivered) once per webhook."""

    id: int
    webhook_id: int
    event_key: str
    delivery_id: str
    event: str
    payload: str
    state: str
    attempts: int
    next_attempt_at: float
    created_at: float
    settled_at: float | None = None
    last_status: int | None = None
    last_error: str | None = None
