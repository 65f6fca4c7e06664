"""Mirror targets and the outbox in PostgreSQL: what to deliver to which upstream, and what came of it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from hackatime_lite.store.origins import ORIGIN_SEPARATOR, RELAYED_SOURCES
from hackatime_lite.store.postgres.base import Connection, dicts, execute, one, rows
from hackatime_lite.store.postgres.kv import instance_id
from hackatime_lite.store.records import OutboxCounts, OutboxItem, Rejected, Retry, TargetRow
from hackatime_lite.store.rules import storable_id


def get_target(conn: Connection, target_id: int) -> TargetRow | None:
    if not storable_id(target_id):
        return None
    found = dicts(conn, "SELECT * FROM mirror_targets WHERE id = %s", (target_id,))
    return TargetRow(**found[0]) if found else None


def list_targets(conn: Connection, user_id: int | None = None) -> list[TargetRow]:
    if user_id is None:
        return [TargetRow(**r) for r in dicts(conn, "SELECT * FROM mirror_targets ORDER BY id")]
    return [TargetRow(**r) for r in dicts(conn, "SELECT * FROM mirror_targets WHERE user_id = %s ORDER BY id",
                                          (user_id,))]


def upsert_target(conn: Connection, user_id: int, url: str, api_key_encrypted: str, key_hint: str,
                  now: float) -> TargetRow:
    found = dicts(conn, """INSERT INTO mirror_targets (user_id, url, api_key_encrypted, key_hint, created_at, updated_at)
           VALUES (%s, %s, %s, %s, %s, %s)
           ON CONFLICT (user_id, url) DO UPDATE SET api_key_encrypted = excluded.api_key_encrypted,
               key_hint = excluded.key_hint, updated_at = excluded.updated_at, paused_at = NULL,
               pause_reason = NULL, failures = 0, retry_at = NULL
           RETURNING *""", (user_id, url, api_key_encrypted, key_hint, now, now))
    return TargetRow(**found[0])


def delete_target(conn: Connection, target_id: int) -> bool:
    return execute(conn, "DELETE FROM mirror_targets WHERE id = %s", (target_id,)) == 1


def pause_target(conn: Connection, target_id: int, reason: str, now: float) -> None:
    execute(conn, "UPDATE mirror_targets SET paused_at = %s, pause_reason = %s, last_error = %s, last_attempt_at = %s "
                  "WHERE id = %s", (now, reason, reason, now, target_id))


def resume_target(conn: Connection, target_id: int, now: float) -> None:
    execute(conn, "UPDATE mirror_targets SET paused_at = NULL, pause_reason = NULL, failures = 0, retry_at = NULL, "
                  "updated_at = %s WHERE id = %s", (now, target_id))


def record_target_failure(conn: Connection, target_id: int, error: str, retry_at: float, now: float) -> None:
    execute(conn, "UPDATE mirror_targets SET failures = failures + 1, retry_at = %s, last_error = %s, "
                  "last_attempt_at = %s WHERE id = %s", (retry_at, error, now, target_id))


def target_failures(conn: Connection, target_id: int) -> int:
    row = one(conn, "SELECT failures FROM mirror_targets WHERE id = %s", (target_id,))
    return int(row[0]) if row else 0


def enqueue_new_heartbeats(conn: Connection, user_id: int, heartbeat_ids: Sequence[int], *, source: str,
                           origins: tuple[str, ...], now: float) -> int:
    """Queue freshly inserted heartbeats for the user's targets, in the insert's own transaction."""
    if not heartbeat_ids or source not in RELAYED_SOURCES:
        return 0
    targets = [r[0] for r in rows(conn, "SELECT id FROM mirror_targets WHERE user_id = %s", (user_id,))]
    if not targets:
        return 0
    if origins and instance_id(conn) in origins:
        return 0
    return execute(conn, "INSERT INTO mirror_outbox (target_id, heartbeat_id, origins, next_attempt_at, created_at) "
                         "SELECT t, h, %s, %s, %s FROM unnest(%s::bigint[]) AS t CROSS JOIN unnest(%s::bigint[]) AS h "
                         "ON CONFLICT DO NOTHING",
                   (ORIGIN_SEPARATOR.join(origins), now, now, targets, list(heartbeat_ids)))


def enqueue_backfill(conn: Connection, target_id: int, heartbeat_ids: Iterable[int], now: float) -> int:
    return execute(conn, "INSERT INTO mirror_outbox (target_id, heartbeat_id, origins, next_attempt_at, created_at) "
                         "SELECT %s, h, '', %s, %s FROM unnest(%s::bigint[]) WITH ORDINALITY AS u(h, n) ORDER BY n "
                         "ON CONFLICT DO NOTHING", (target_id, now, now, list(heartbeat_ids)))


def due_target_ids(conn: Connection, now: float) -> list[int]:
    return [r[0] for r in rows(conn, """SELECT t.id FROM mirror_targets t
           WHERE t.paused_at IS NULL AND (t.retry_at IS NULL OR t.retry_at <= %s)
             AND EXISTS (SELECT 1 FROM mirror_outbox o WHERE o.target_id = t.id AND o.next_attempt_at <= %s)
           ORDER BY t.id""", (now, now))]


def due_items(conn: Connection, target_id: int, now: float, limit: int) -> list[OutboxItem]:
    found = dicts(conn, """SELECT o.id AS outbox_id, o.origins AS outbox_origins, o.attempts AS outbox_attempts, h.*
           FROM mirror_outbox o JOIN heartbeats h ON h.id = o.heartbeat_id
           WHERE o.target_id = %s AND o.next_attempt_at <= %s
           ORDER BY o.next_attempt_at, o.id LIMIT %s""", (target_id, now, limit))
    return [OutboxItem(r.pop("outbox_id"), r["id"], r.pop("outbox_origins"), r.pop("outbox_attempts"), r)
            for r in found]


def settle(conn: Connection, target_id: int, *, delivered: Sequence[int], rejected: Sequence[Rejected],
           retries: Sequence[Retry], now: float) -> None:
    if delivered:
        execute(conn, "DELETE FROM mirror_outbox WHERE id = ANY(%s::bigint[])", (list(delivered),))
        execute(conn, "UPDATE mirror_targets SET delivered_count = delivered_count + %s, last_success_at = %s, "
                      "last_attempt_at = %s, failures = 0, retry_at = NULL WHERE id = %s",
                (len(delivered), now, now, target_id))
    if rejected:
        execute(conn, "DELETE FROM mirror_outbox WHERE id = ANY(%s::bigint[])", ([r[0] for r in rejected],))
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO mirror_rejections (target_id, heartbeat_id, status, error, rejected_at) "
                "VALUES (%s, %s, %s, %s, %s)", [(target_id, r[1], r[2], (r[3] or "")[:500], now) for r in rejected])
        execute(conn, "UPDATE mirror_targets SET rejected_count = rejected_count + %s WHERE id = %s",
                (len(rejected), target_id))
    if retries:
        with conn.cursor() as cursor:
            cursor.executemany(
                "UPDATE mirror_outbox SET attempts = attempts + 1, next_attempt_at = %s, last_error = %s WHERE id = %s",
                [(when, error[:500], outbox_id) for outbox_id, when, error in retries])


def outbox_counts(conn: Connection, target_id: int, now: float) -> OutboxCounts:
    row = one(conn, """SELECT COUNT(*), COUNT(*) FILTER (WHERE next_attempt_at <= %s), MIN(created_at),
               COUNT(*) FILTER (WHERE attempts > 0) FROM mirror_outbox WHERE target_id = %s""", (now, target_id))
    assert row is not None
    return OutboxCounts(pending=row[0] or 0, due=row[1] or 0, oldest_created_at=row[2], retrying=row[3] or 0)


def recent_rejections(conn: Connection, target_id: int, limit: int = 10) -> list[dict[str, Any]]:
    return dicts(conn, "SELECT heartbeat_id, status, error, rejected_at FROM mirror_rejections "
                       "WHERE target_id = %s ORDER BY id DESC LIMIT %s", (target_id, limit))
