"""Outgoing webhooks in PostgreSQL (the twin of store/sqlite/webhooks.py): (webhook_id, event_key) is unique,
so nodes evaluating the same user-day at once queue an event once; settling only touches a pending row, so
one attempt's outcome is recorded once.

`PostgresWebhooks` adds the StoreBackend's webhook methods to PostgresStore (a base class of it).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from hackatime_lite.store.postgres.base import Connection, execute, one, rows
from hackatime_lite.store.postgres.db import PostgresDatabase
from hackatime_lite.store.webhook_records import WebhookDelivery, WebhookRow

_HOOK = ("SELECT id, user_id, team_id, url, events, format, secret_encrypted, created_by, created_at, "
         "last_attempt_at, last_success_at, last_error FROM webhooks")
_DELIVERY = ("SELECT id, webhook_id, event_key, delivery_id, event, payload, state, attempts, next_attempt_at, "
             "created_at, settled_at, last_status, last_error FROM webhook_outbox")
_SUBSCRIBED = "strpos(',' || w.events || ',', ',' || %s || ',') > 0"


def _hook(row: Any) -> WebhookRow:
    return WebhookRow(id=row[0], user_id=row[1], team_id=row[2], url=row[3],
                      events=tuple(e for e in row[4].split(",") if e), format=row[5], secret_encrypted=row[6],
                      created_by=row[7], created_at=row[8], last_attempt_at=row[9], last_success_at=row[10],
                      last_error=row[11])


def create_webhook(conn: Connection, user_id: int | None, team_id: int | None, url: str, events: Sequence[str],
                   fmt: str, secret_encrypted: str, created_by: int | None, now: float) -> WebhookRow:
    found = one(conn, "INSERT INTO webhooks (user_id, team_id, url, events, format, secret_encrypted, created_by, "
                      "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (user_id, team_id, url, ",".join(events), fmt, secret_encrypted, created_by, now))
    assert found is not None  # RETURNING of a successful INSERT
    hook = get_webhook(conn, found[0])
    assert hook is not None
    return hook


def get_webhook(conn: Connection, webhook_id: int) -> WebhookRow | None:
    if not 0 < webhook_id < 2 ** 63:
        return None
    found = one(conn, f"{_HOOK} WHERE id = %s", (webhook_id,))
    return _hook(found) if found else None


def list_webhooks(conn: Connection, user_id: int | None, team_id: int | None) -> list[WebhookRow]:
    if team_id is not None:
        return [_hook(r) for r in rows(conn, f"{_HOOK} WHERE team_id = %s ORDER BY id", (team_id,))]
    if user_id is not None:
        return [_hook(r) for r in rows(conn, f"{_HOOK} WHERE user_id = %s ORDER BY id", (user_id,))]
    return [_hook(r) for r in rows(conn, f"{_HOOK} ORDER BY id")]


def delete_webhook(conn: Connection, webhook_id: int) -> bool:
    return execute(conn, "DELETE FROM webhooks WHERE id = %s", (webhook_id,)) == 1


def subscribers(conn: Connection, events: Sequence[str]) -> list[int]:
    found: set[int] = set()
    for event in events:
        found.update(r[0] for r in rows(
            conn, f"SELECT w.user_id FROM webhooks w WHERE w.user_id IS NOT NULL AND {_SUBSCRIBED}", (event,)))
        found.update(r[0] for r in rows(
            conn, f"SELECT m.user_id FROM webhooks w JOIN team_members m ON m.team_id = w.team_id AND m.shares = 1 "
                  f"WHERE {_SUBSCRIBED}", (event,)))
    return sorted(found)


def enqueue_event(conn: Connection, user_id: int, event: str, key: str, payload: str, now: float,
                  teams: bool) -> int:
    sql = f"SELECT w.id FROM webhooks w WHERE w.user_id = %s AND {_SUBSCRIBED}"
    params: list[Any] = [user_id, event]
    if teams:
        sql += (f" UNION SELECT w.id FROM webhooks w JOIN team_members m ON m.team_id = w.team_id "
                f"WHERE m.user_id = %s AND m.shares = 1 AND {_SUBSCRIBED}")
        params += [user_id, event]
    hooks = [r[0] for r in rows(conn, sql, params)]
    added = 0
    for hook in hooks:
        added += execute(conn, "INSERT INTO webhook_outbox (webhook_id, event_key, delivery_id, event, payload, "
                               "next_attempt_at, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                               "ON CONFLICT (webhook_id, event_key) DO NOTHING",
                         (hook, key, str(uuid.uuid4()), event, payload, now, now))
    return added


def due_deliveries(conn: Connection, now: float, limit: int) -> list[WebhookDelivery]:
    return [WebhookDelivery(*r) for r in rows(
        conn, f"{_DELIVERY} WHERE state = 'pending' AND next_attempt_at <= %s ORDER BY next_attempt_at, id LIMIT %s",
        (now, limit))]


def deliveries(conn: Connection, webhook_id: int, limit: int) -> list[WebhookDelivery]:
    return [WebhookDelivery(*r) for r in rows(conn, f"{_DELIVERY} WHERE webhook_id = %s ORDER BY id DESC LIMIT %s",
                                              (webhook_id, limit))]


def settle(conn: Connection, delivery_id: int, state: str, status: int | None, error: str | None,
           next_attempt_at: float, now: float) -> None:
    error = (error or "")[:500] or None
    found = one(conn, "UPDATE webhook_outbox SET state = %s, attempts = attempts + 1, last_status = %s, "
                      "last_error = %s, next_attempt_at = %s, settled_at = %s "
                      "WHERE id = %s AND state = 'pending' RETURNING webhook_id",
                (state, status, error, next_attempt_at, None if state == "pending" else now, delivery_id))
    if found is None:
        return
    if state == "delivered":
        execute(conn, "UPDATE webhooks SET last_attempt_at = %s, last_success_at = %s, last_error = NULL "
                      "WHERE id = %s", (now, now, found[0]))
    else:
        execute(conn, "UPDATE webhooks SET last_attempt_at = %s, last_error = %s WHERE id = %s",
                (now, error, found[0]))


def prune(conn: Connection, before: float) -> int:
    return execute(conn, "DELETE FROM webhook_outbox WHERE state <> 'pending' AND settled_at < %s", (before,))


class PostgresWebhooks(PostgresDatabase):
    """The StoreBackend's webhook methods on PostgreSQL."""

    def create_webhook(self, *, user_id: int | None, team_id: int | None, url: str, events: Sequence[str],
                       fmt: str, secret_encrypted: str, created_by: int | None,
                       now: float | None = None) -> WebhookRow:
        moment = time.time() if now is None else now
        return self.write(lambda c: create_webhook(c, user_id, team_id, url, events, fmt, secret_encrypted,
                                                   created_by, moment))

    def get_webhook(self, webhook_id: int) -> WebhookRow | None:
        return self.read(lambda c: get_webhook(c, webhook_id))

    def list_webhooks(self, *, user_id: int | None = None, team_id: int | None = None) -> list[WebhookRow]:
        return self.read(lambda c: list_webhooks(c, user_id, team_id))

    def delete_webhook(self, webhook_id: int) -> bool:
        return self.write(lambda c: delete_webhook(c, webhook_id))

    def webhook_subscribers(self, events: Sequence[str]) -> list[int]:
        return self.read(lambda c: subscribers(c, events))

    def enqueue_webhook_event(self, user_id: int, event: str, key: str, payload: str, now: float, *,
                              teams: bool = True) -> Future[int]:
        return self.submit(lambda c: enqueue_event(c, user_id, event, key, payload, now, teams))

    def due_webhook_deliveries(self, now: float, limit: int) -> list[WebhookDelivery]:
        return self.read(lambda c: due_deliveries(c, now, limit))

    def webhook_deliveries(self, webhook_id: int, limit: int = 20) -> list[WebhookDelivery]:
        return self.read(lambda c: deliveries(c, webhook_id, limit))

    def settle_webhook_delivery(self, delivery_id: int, *, state: str, status: int | None, error: str | None,
                                next_attempt_at: float, now: float) -> None:
        self.write(lambda c: settle(c, delivery_id, state, status, error, next_attempt_at, now))

    def prune_webhook_deliveries(self, before: float) -> int:
        return self.write(lambda c: prune(c, before))
