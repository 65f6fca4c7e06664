"""Outgoing webhooks in SQLite (`webhooks`, `webhook_outbox`). An event is queued once per subscribed webhook:
(webhook_id, event_key) is unique, and delivered and failed rows stay (until pruned) as the record of what was
emitted, so evaluating the same user-day again queues nothing.

`SQLiteWebhooks` adds the StoreBackend's webhook methods to SQLiteStore (a base class of it).
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import sqlite_utils

from hackatime_lite.store.sqlite.db import SQLiteDatabase
from hackatime_lite.store.webhook_records import WebhookDelivery, WebhookRow

Conn = sqlite3.Connection | sqlite_utils.Database
_HOOK = ("SELECT id, user_id, team_id, url, events, format, secret_encrypted, created_by, created_at, "
         "last_attempt_at, last_success_at, last_error FROM webhooks")
_DELIVERY = ("SELECT id, webhook_id, event_key, delivery_id, event, payload, state, attempts, next_attempt_at, "
             "created_at, settled_at, last_status, last_error FROM webhook_outbox")


def _hook(row: Any) -> WebhookRow:
    return WebhookRow(id=row[0], user_id=row[1], team_id=row[2], url=row[3],
                      events=tuple(e for e in row[4].split(",") if e), format=row[5], secret_encrypted=row[6],
                      created_by=row[7], created_at=row[8], last_attempt_at=row[9], last_success_at=row[10],
                      last_error=row[11])


def _delivery(row: Any) -> WebhookDelivery:
    return WebhookDelivery(*row)


def create_webhook(db: sqlite_utils.Database, user_id: int | None, team_id: int | None, url: str,
                   events: Sequence[str], fmt: str, secret_encrypted: str, created_by: int | None,
                   now: float) -> WebhookRow:
    cursor = db.execute(
        "INSERT INTO webhooks (user_id, team_id, url, events, format, secret_encrypted, created_by, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (user_id, team_id, url, ",".join(events), fmt, secret_encrypted,
                                            created_by, now))
    found = get_webhook(db.conn, int(cursor.lastrowid or 0))
    assert found is not None  # just inserted in this transaction
    return found


def get_webhook(conn: Conn, webhook_id: int) -> WebhookRow | None:
    if not 0 < webhook_id < 2 ** 63:  # an id from a URL path may be any integer
        return None
    row = conn.execute(f"{_HOOK} WHERE id = ?", (webhook_id,)).fetchone()
    return _hook(row) if row else None


def list_webhooks(conn: Conn, user_id: int | None, team_id: int | None) -> list[WebhookRow]:
    if team_id is not None:
        found = conn.execute(f"{_HOOK} WHERE team_id = ? ORDER BY id", (team_id,))
    elif user_id is not None:
        found = conn.execute(f"{_HOOK} WHERE user_id = ? ORDER BY id", (user_id,))
    else:
        found = conn.execute(f"{_HOOK} ORDER BY id")
    return [_hook(row) for row in found.fetchall()]


def delete_webhook(db: sqlite_utils.Database, webhook_id: int) -> bool:
    return db.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,)).rowcount == 1


# A webhook is subscribed to `event` when its comma-separated list holds it.
_SUBSCRIBED = "instr(',' || w.events || ',', ',' || ? || ',') > 0"


def subscribers(conn: Conn, events: Sequence[str]) -> list[int]:
    """Users with a webhook of their own subscribed to any of `events`, or who share their detail with a team
    that has one."""
    found: set[int] = set()
    for event in events:
        found.update(r[0] for r in conn.execute(
            f"SELECT w.user_id FROM webhooks w WHERE w.user_id IS NOT NULL AND {_SUBSCRIBED}", (event,)))
        found.update(r[0] for r in conn.execute(
            f"SELECT m.user_id FROM webhooks w JOIN team_members m ON m.team_id = w.team_id AND m.shares = 1 "
            f"WHERE {_SUBSCRIBED}", (event,)))
    return sorted(found)


def enqueue_event(db: sqlite_utils.Database, user_id: int, event: str, key: str, payload: str, now: float,
                  teams: bool) -> int:
    """Queue the event for every webhook subscribed to it (the user's own, and with `teams` those of the teams
    the user shares detail with); one already queued under `key` is left alone. Returns the rows added."""
    sql = f"SELECT w.id FROM webhooks w WHERE w.user_id = ? AND {_SUBSCRIBED}"
    params: list[Any] = [user_id, event]
    if teams:
        sql += (f" UNION SELECT w.id FROM webhooks w JOIN team_members m ON m.team_id = w.team_id "
                f"WHERE m.user_id = ? AND m.shares = 1 AND {_SUBSCRIBED}")
        params += [user_id, event]
    hooks = [r[0] for r in db.execute(sql, params).fetchall()]
    if not hooks:
        return 0
    before = db.conn.total_changes
    db.conn.executemany(
        "INSERT OR IGNORE INTO webhook_outbox (webhook_id, event_key, delivery_id, event, payload, next_attempt_at, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(hook, key, str(uuid.uuid4()), event, payload, now, now) for hook in hooks])
    return db.conn.total_changes - before


def due_deliveries(conn: Conn, now: float, limit: int) -> list[WebhookDelivery]:
    return [_delivery(r) for r in conn.execute(
        f"{_DELIVERY} WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
        (now, limit)).fetchall()]


def deliveries(conn: Conn, webhook_id: int, limit: int) -> list[WebhookDelivery]:
    return [_delivery(r) for r in conn.execute(f"{_DELIVERY} WHERE webhook_id = ? ORDER BY id DESC LIMIT ?",
                                               (webhook_id, limit)).fetchall()]


def settle(db: sqlite_utils.Database, delivery_id: int, state: str, status: int | None, error: str | None,
           next_attempt_at: float, now: float) -> None:
    """One attempt's outcome: `delivered`, `failed` (given up), or `pending` again at next_attempt_at."""
    changed = db.execute(
        "UPDATE webhook_outbox SET state = ?, attempts = attempts + 1, last_status = ?, last_error = ?, "
        "next_attempt_at = ?, settled_at = CASE WHEN ? = 'pending' THEN NULL ELSE ? END "
        "WHERE id = ? AND state = 'pending'",
        (state, status, (error or "")[:500] or None, next_attempt_at, state, now, delivery_id)).rowcount
    if not changed:
        return
    db.execute("UPDATE webhooks SET last_attempt_at = ?, "
               "last_success_at = CASE WHEN ? = 'delivered' THEN ? ELSE last_success_at END, "
               "last_error = CASE WHEN ? = 'delivered' THEN NULL ELSE ? END "
               "WHERE id = (SELECT webhook_id FROM webhook_outbox WHERE id = ?)",
               (now, state, now, state, (error or "")[:500] or None, delivery_id))


def prune(db: sqlite_utils.Database, before: float) -> int:
    return db.execute("DELETE FROM webhook_outbox WHERE state != 'pending' AND settled_at < ?",
                      (before,)).rowcount


class SQLiteWebhooks(SQLiteDatabase):
    """The StoreBackend's webhook methods on the SQLite file."""

    def create_webhook(self, *, user_id: int | None, team_id: int | None, url: str, events: Sequence[str],
                       fmt: str, secret_encrypted: str, created_by: int | None,
                       now: float | None = None) -> WebhookRow:
        moment = time.time() if now is None else now
        return self.write(lambda db: create_webhook(db, user_id, team_id, url, events, fmt, secret_encrypted,
                                                    created_by, moment))

    def get_webhook(self, webhook_id: int) -> WebhookRow | None:
        return get_webhook(self.reader(), webhook_id)

    def list_webhooks(self, *, user_id: int | None = None, team_id: int | None = None) -> list[WebhookRow]:
        return list_webhooks(self.reader(), user_id, team_id)

    def delete_webhook(self, webhook_id: int) -> bool:
        return self.write(lambda db: delete_webhook(db, webhook_id))

    def webhook_subscribers(self, events: Sequence[str]) -> list[int]:
        return subscribers(self.reader(), events)

    def enqueue_webhook_event(self, user_id: int, event: str, key: str, payload: str, now: float, *,
                              teams: bool = True) -> Future[int]:
        return self.submit(lambda db: enqueue_event(db, user_id, event, key, payload, now, teams))

    def due_webhook_deliveries(self, now: float, limit: int) -> list[WebhookDelivery]:
        return due_deliveries(self.reader(), now, limit)

    def webhook_deliveries(self, webhook_id: int, limit: int = 20) -> list[WebhookDelivery]:
        return deliveries(self.reader(), webhook_id, limit)

    def settle_webhook_delivery(self, delivery_id: int, *, state: str, status: int | None, error: str | None,
                                next_attempt_at: float, now: float) -> None:
        self.write(lambda db: settle(db, delivery_id, state, status, error, next_attempt_at, now))

    def prune_webhook_deliveries(self, before: float) -> int:
        return self.write(lambda db: prune(db, before))
