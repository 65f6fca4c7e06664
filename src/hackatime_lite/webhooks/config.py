"""Webhook use cases every transport calls (native API, settings page, CLI), with the access rules: a user's
webhooks are found only by their owner (another user's id is NotFoundError, like an unknown one); a team's
webhooks are managed by its owners and admins only (hackatime_lite.teams: 403 for others, 404 for an unknown
team). URLs pass the mirror's outbound checks (scheme, host, allow-list, not this server).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hackatime_lite import teams
from hackatime_lite.config import Settings
from hackatime_lite.context import ServiceUnavailable
from hackatime_lite.errors import InputError, NotFoundError
from hackatime_lite.mirror.outbound import describe_http_error, http_client, validate_upstream_url
from hackatime_lite.mirror.secretbox import SecretBox, SecretUnavailable
from hackatime_lite.models import User
from hackatime_lite.store import StoreBackend
from hackatime_lite.store.records import Team
from hackatime_lite.store.webhook_records import WEBHOOK_EVENTS, WEBHOOK_FORMATS, WebhookRow
from hackatime_lite.text import formatting
from hackatime_lite.webhooks import payloads, signing

if TYPE_CHECKING:
    import httpx  # imported where used: ~0.1 s a server start does not need (issue 13)

MAX_WEBHOOKS = 20
# Events that make sense for a team's webhook (a member's mirror is their own business).
TEAM_EVENTS = tuple(e for e in WEBHOOK_EVENTS if e != "mirror_paused")


class WebhookError(InputError):
    """A webhook we cannot accept; the message says why."""


@dataclass(frozen=True)
class SendResult:
    delivered: bool
    status: int | None
    error: str | None


def parse_events(value: Any, allowed: tuple[str, ...] = WEBHOOK_EVENTS) -> tuple[str, ...]:
    """A list (or comma-separated string) of event names; None or empty means every allowed event."""
    if value is None or value == "" or value == []:
        return allowed
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise WebhookError("events must be a list of event names")
    names = {v.strip().lower() for v in value if v.strip()}
    unknown = sorted(names - set(allowed))
    if unknown:
        raise WebhookError(f"unknown event(s) {', '.join(unknown)}; choose from {', '.join(allowed)}")
    return tuple(e for e in allowed if e in names) or allowed


def parse_format(value: Any) -> str:
    fmt = "json" if value is None or value == "" else value
    if not isinstance(fmt, str) or fmt.strip().lower() not in WEBHOOK_FORMATS:
        raise WebhookError(f"format must be one of {', '.join(WEBHOOK_FORMATS)}")
    return fmt.strip().lower()


def view(hook: WebhookRow, store: StoreBackend | None = None, *, team: Team | None = None) -> dict[str, Any]:
    """A webhook as the API and the pages show it (never its secret)."""
    found: dict[str, Any] = {
        "id": hook.id, "url": hook.url, "events": list(hook.events), "format": hook.format,
        "scope": "team" if hook.team_id is not None else "user",
        "team": team.public_id if team is not None else None,
        "created_at": formatting.iso_utc(hook.created_at),
        "last_attempt_at": formatting.iso_utc(hook.last_attempt_at) if hook.last_attempt_at else None,
        "last_success_at": formatting.iso_utc(hook.last_success_at) if hook.last_success_at else None,
        "last_error": hook.last_error,
    }
    if store is not None:
        found["recent_deliveries"] = [
            {"delivery_id": d.delivery_id, "event": d.event, "state": d.state, "attempts": d.attempts,
             "last_status": d.last_status, "last_error": d.last_error, "created_at": formatting.iso_utc(d.created_at)}
            for d in store.webhook_deliveries(hook.id, 5)]
    return found


def _create(store: StoreBackend, settings: Settings, *, user_id: int | None, team_id: int | None, created_by: int,
            url: str, events: Any, fmt: Any, existing: Iterable[WebhookRow], allowed: tuple[str, ...],
            now: float | None) -> tuple[WebhookRow, str]:
    checked_url = validate_upstream_url(url, settings)  # OutboundURLError is an InputError: a 400
    chosen = parse_events(events, allowed)
    chosen_format = parse_format(fmt)
    if len(list(existing)) >= MAX_WEBHOOKS:
        raise WebhookError(f"at most {MAX_WEBHOOKS} webhooks each")
    secret = signing.new_secret()
    hook = store.create_webhook(user_id=user_id, team_id=team_id, url=checked_url, events=chosen, fmt=chosen_format,
                                secret_encrypted=SecretBox.for_settings(settings).encrypt(secret),
                                created_by=created_by, now=now)
    return hook, secret


# -- a user's webhooks ------------------------------------------------------------------------------------
def add_user_webhook(store: StoreBackend, settings: Settings, user: User, url: str, *, events: Any = None,
                     fmt: Any = None, now: float | None = None) -> tuple[WebhookRow, str]:
    """A new webhook and its secret (shown once; stored encrypted, since signing needs it)."""
    return _create(store, settings, user_id=user.id, team_id=None, created_by=user.id, url=url, events=events,
                   fmt=fmt, existing=store.list_webhooks(user_id=user.id), allowed=WEBHOOK_EVENTS, now=now)


def user_webhooks(store: StoreBackend, user: User) -> list[WebhookRow]:
    return store.list_webhooks(user_id=user.id)


def user_webhook(store: StoreBackend, user: User, webhook_id: int) -> WebhookRow:
    hook = store.get_webhook(webhook_id)
    if hook is None or hook.user_id != user.id:
        raise NotFoundError(f"no webhook with id {webhook_id}")
    return hook


def remove_user_webhook(store: StoreBackend, user: User, webhook_id: int) -> None:
    store.delete_webhook(user_webhook(store, user, webhook_id).id)


# -- a team's webhooks (owners and admins) ----------------------------------------------------------------
def add_team_webhook(store: StoreBackend, settings: Settings, user: User, team_ref: str, url: str, *,
                     events: Any = None, fmt: Any = None, now: float | None = None) -> tuple[Team, WebhookRow, str]:
    team, _ = teams.managed_team(store, user, team_ref)
    hook, secret = _create(store, settings, user_id=None, team_id=team.id, created_by=user.id, url=url,
                           events=events, fmt=fmt, existing=store.list_webhooks(team_id=team.id),
                           allowed=TEAM_EVENTS, now=now)
    return team, hook, secret


def team_webhooks(store: StoreBackend, user: User, team_ref: str) -> tuple[Team, list[WebhookRow]]:
    team, _ = teams.managed_team(store, user, team_ref)
    return team, store.list_webhooks(team_id=team.id)


def team_webhook(store: StoreBackend, user: User, team_ref: str, webhook_id: int) -> tuple[Team, WebhookRow]:
    team, _ = teams.managed_team(store, user, team_ref)
    hook = store.get_webhook(webhook_id)
    if hook is None or hook.team_id != team.id:
        raise NotFoundError(f"no webhook with id {webhook_id} on this team")
    return team, hook


def remove_team_webhook(store: StoreBackend, user: User, team_ref: str, webhook_id: int) -> None:
    _, hook = team_webhook(store, user, team_ref, webhook_id)
    store.delete_webhook(hook.id)


# -- sending ------------------------------------------------------------------------------------------------
def signed_headers(event: str, delivery_id: str, secret: str, body: bytes, now: float) -> dict[str, str]:
    timestamp = int(now)
    return {"Content-Type": "application/json", "X-Hackatime-Event": event, "X-Hackatime-Delivery": delivery_id,
            "X-Hackatime-Timestamp": str(timestamp),
            "X-Hackatime-Signature": signing.signature(secret, timestamp, body)}


def post(client: httpx.Client, hook: WebhookRow, secret: str, event: str, delivery_id: str, payload: str,
         now: float) -> SendResult:
    """One signed POST; 2xx is delivered, anything else (or no answer) is not."""
    import httpx

    body = payloads.render(hook.format, delivery_id, event, payload)
    try:
        response = client.post(hook.url, content=body, headers=signed_headers(event, delivery_id, secret, body, now))
    except httpx.HTTPError as exc:
        return SendResult(False, None, describe_http_error(exc))
    if 200 <= response.status_code < 300:
        return SendResult(True, response.status_code, None)
    return SendResult(False, response.status_code, f"the receiver answered {response.status_code}")


def send_test(store: StoreBackend, settings: Settings, user: User, hook: WebhookRow, *,
              now: float | None = None) -> SendResult:
    """Send a `test` event now, outside the outbox (nothing is retried or recorded)."""
    moment = time.time() if now is None else now
    validate_upstream_url(hook.url, settings)
    try:
        secret = SecretBox.for_settings(settings).decrypt(hook.secret_encrypted)
    except SecretUnavailable as exc:  # the data dir's key is unreadable: ours to fix, a 503 (logged where noticed)
        raise ServiceUnavailable(str(exc)) from exc
    payload = payloads.event_payload(user, "test", {"webhook_id": hook.id}, "hackatime-lite: test delivery", moment)
    with http_client(settings) as client:
        return post(client, hook, secret, "test", str(uuid.uuid4()), payload, moment)
