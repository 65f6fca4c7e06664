"""Mirror targets and the outbox in SQLite: what to deliver to which upstream, and what came of it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import sqlite_utils

from hackatime_lite.store.origins import ORIGIN_SEPARATOR, RELAYED_SOURCES
from hackatime_lite.store.records import OutboxCounts, OutboxItem, Rejected, Retry, TargetRow
from hackatime_lite.store.rules import storable_id

Connection = sqlite3.Connection | sqlite_utils.Database


def _rows(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, tuple(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def instance_id(conn: Connection) -> str:
    row = conn.execute("SELECT value FROM kv WHERE key = 'instance_id'").fetchone()
    if row is None:  # the migration creates it; only a hand-edited database lacks it
        raise RuntimeError("this database has no instance id; run `hackatime-lite migrate`")
    return str(row[0])


# -- targets ------------------------------------------------------------------------------------
def get_target(conn: Connection, target_id: int) -> TargetRow | None:
    if not storable_id(target_id):  # an id from a URL path may be any integer
        return None
    found = _rows(conn, "SELECT * FROM mirror_targets WHERE id = ?", (target_id,))
    return TargetRow(**found[0]) if found else None


def list_targets(conn: Connection, user_id: int | None = None) -> list[TargetRow]:
    if user_id is None:
        return [TargetRow(**r) for r in _rows(conn, "SELECT * FROM mirror_targets ORDER BY id")]
    return [TargetRow(**r) for r in _rows(conn, "SELECT * FROM mirror_targets WHERE user_id = ? ORDER BY id",
                                           (user_id,))]


def upsert_target(db: sqlite_utils.Database, user_id: int, url: str, api_key_encrypted: str, key_hint: str,
                  now: float) -> TargetRow:
    """Add a target, or replace the key of the user's target with the same URL (which also un-pauses it)."""
    db.execute(
        """INSERT INTO mirror_targets (user_id, url, api_key_encrypted, key_hint, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(user_id, url) DO UPDATE SET api_key_encrypted = excluded.api_key_encrypted,
               key_hint = excluded.key_hint, updated_at = excluded.updated_at, paused_at = NULL,
               pause_reason = NULL, failures = 0, retry_at = NULL""",
        (user_id, url, api_key_encrypted, key_hint, now, now),
    )
    row = _rows(db, "SELECT * FROM mirror_targets WHERE user_id = ? AND url = ?", (user_id, url))
    return TargetRow(**row[0])


def delete_target(db: sqlite_utils.Database, target_id: int) -> bool:
    return db.execute("DELETE FROM mirror_targets WHERE id = ?", (target_id,)).rowcount == 1


def pause_target(db: sqlite_utils.Database, target_id: int, reason: str, now: float) -> None:
    db.execute("UPDATE mirror_targets SET paused_at = ?, pause_reason = ?, last_error = ?, last_attempt_at = ? "
               "WHERE id = ?", (now, reason, reason, now, target_id))


def resume_target(db: sqlite_utils.Database, target_id: int, now: float) -> None:
    db.execute("UPDATE mirror_targets SET paused_at = NULL, pause_reason = NULL, failures = 0, retry_at = NULL, "
               "updated_at = ? WHERE id = ?", (now, target_id))


def record_target_failure(db: sqlite_utils.Database, target_id: int, error: str, retry_at: float,
                          now: float) -> None:
    db.execute("UPDATE mirror_targets SET failures = failures + 1, retry_at = ?, last_error = ?, "
               "last_attempt_at = ? WHERE id = ?", (retry_at, error, now, target_id))


def target_failures(conn: Connection, target_id: int) -> int:
    row = conn.execute("SELECT failures FROM mirror_targets WHERE id = ?", (target_id,)).fetchone()
    return int(row[0]) if row else 0


# -- enqueue ------------------------------------------------------------------------------------
def enqueue_new_heartbeats(db: sqlite_utils.Database, user_id: int, heartbeat_ids: Sequence[int], *,
                           source: str, origins: tuple[str, ...], now: float) -> int:
    """Queue freshly inserted heartbeats for the user's targets, in the insert's own transaction.

    The hot path: users without targets cost one indexed lookup. Heartbeats whose X-Origin chain already
    holds this instance came back around a mirroring loop and are not relayed again.
    """
    if not heartbeat_ids or source not in RELAYED_SOURCES:
        return 0
    targets = [r[0] for r in db.execute("SELECT id FROM mirror_targets WHERE user_id = ?", (user_id,)).fetchall()]
    if not targets:
        return 0
    if origins and instance_id(db) in origins:
        return 0
    chain = ORIGIN_SEPARATOR.join(origins)
    rows = [(t, h, chain, now, now) for t in targets for h in heartbeat_ids]
    db.conn.executemany(
        "INSERT OR IGNORE INTO mirror_outbox (target_id, heartbeat_id, origins, next_attempt_at, created_at) "
        "VALUES (?, ?, ?, ?, ?)", rows)
    return len(rows)


def users_with_targets(db: sqlite_utils.Database, user_ids: Iterable[int]) -> set[int]:
    """Which of these users have a mirror target (one indexed lookup for a group commit's users)."""
    wanted = list(set(user_ids))
    if not wanted:
        return set()
    return {r[0] for r in db.execute(
        f"SELECT DISTINCT user_id FROM mirror_targets WHERE user_id IN ({', '.join('?' * len(wanted))})",
        wanted).fetchall()}


def enqueue_backfill(db: sqlite_utils.Database, target_id: int, heartbeat_ids: Iterable[int], now: float) -> int:
    before = db.conn.total_changes
    db.conn.executemany(
        "INSERT OR IGNORE INTO mirror_outbox (target_id, heartbeat_id, origins, next_attempt_at, created_at) "
        "VALUES (?, ?, '', ?, ?)", [(target_id, h, now, now) for h in heartbeat_ids])
    return db.conn.total_changes - before


# -- delivery -----------------------------------------------------------------------------------
def due_target_ids(conn: Connection, now: float) -> list[int]:
    """Targets that are not paused or backing off and have something due."""
    return [r[0] for r in conn.execute(
        """SELECT t.id FROM mirror_targets t
           WHERE t.paused_at IS NULL AND (t.retry_at IS NULL OR t.retry_at <= ?)
             AND EXISTS (SELECT 1 FROM mirror_outbox o WHERE o.target_id = t.id AND o.next_attempt_at <= ?)
           ORDER BY t.id""", (now, now)).fetchall()]


def due_items(conn: Connection, target_id: int, now: float, limit: int) -> list[OutboxItem]:
    rows = _rows(
        conn,
        """SELECT o.id AS outbox_id, o.origins AS outbox_origins, o.attempts AS outbox_attempts, h.*
           FROM mirror_outbox o JOIN heartbeats h ON h.id = o.heartbeat_id
           WHERE o.target_id = ? AND o.next_attempt_at <= ?
           ORDER BY o.next_attempt_at, o.id LIMIT ?""",
        (target_id, now, limit),
    )
    return [OutboxItem(r.pop("outbox_id"), r["id"], r.pop("outbox_origins"), r.pop("outbox_attempts"), r)
            for r in rows]


def settle(db: sqlite_utils.Database, target_id: int, *, delivered: Sequence[int], rejected: Sequence[Rejected],
           retries: Sequence[Retry], now: float) -> None:
    """Record one delivery request's outcome, item by item, in one transaction."""
    if delivered:
        mark_delivered(db, target_id, delivered, now)
    if rejected:
        mark_rejected(db, target_id, rejected, now)
    if retries:
        mark_retry(db, retries)


def mark_delivered(db: sqlite_utils.Database, target_id: int, outbox_ids: Sequence[int], now: float) -> None:
    db.conn.executemany("DELETE FROM mirror_outbox WHERE id = ?", [(i,) for i in outbox_ids])
    db.execute("UPDATE mirror_targets SET delivered_count = delivered_count + ?, last_success_at = ?, "
               "last_attempt_at = ?, failures = 0, retry_at = NULL WHERE id = ?",
               (len(outbox_ids), now, now, target_id))


def mark_rejected(db: sqlite_utils.Database, target_id: int, rejected: Sequence[Rejected], now: float) -> None:
    """Items the upstream refused for good: dropped and recorded."""
    db.conn.executemany("DELETE FROM mirror_outbox WHERE id = ?", [(r[0],) for r in rejected])
    db.conn.executemany(
        "INSERT INTO mirror_rejections (target_id, heartbeat_id, status, error, rejected_at) VALUES (?, ?, ?, ?, ?)",
        [(target_id, r[1], r[2], (r[3] or "")[:500], now) for r in rejected])
    db.execute("UPDATE mirror_targets SET rejected_count = rejected_count + ? WHERE id = ?",
               (len(rejected), target_id))


def mark_retry(db: sqlite_utils.Database, retries: Sequence[Retry]) -> None:
    """Items to try again later."""
    db.conn.executemany(
        "UPDATE mirror_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
        [(when, error[:500], outbox_id) for outbox_id, when, error in retries])


# -- status -------------------------------------------------------------------------------------
def outbox_counts(conn: Connection, target_id: int, now: float) -> OutboxCounts:
    row = conn.execute(
        """SELECT COUNT(*), SUM(next_attempt_at <= ?), MIN(created_at), SUM(attempts > 0)
           FROM mirror_outbox WHERE target_id = ?""", (now, target_id)).fetchone()
    return OutboxCounts(pending=row[0] or 0, due=row[1] or 0, oldest_created_at=row[2], retrying=row[3] or 0)


def recent_rejections(conn: Connection, target_id: int, limit: int = 10) -> list[dict[str, Any]]:
    return _rows(conn, "SELECT heartbeat_id, status, error, rejected_at FROM mirror_rejections "
                       "WHERE target_id = ? ORDER BY id DESC LIMIT ?", (target_id, limit))
