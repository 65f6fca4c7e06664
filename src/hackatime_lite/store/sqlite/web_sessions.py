"""Dashboard login sessions in SQLite: a random token in the cookie, only its SHA-256 in the database."""

from __future__ import annotations

import secrets
import sqlite3
import time

import sqlite_utils

from hackatime_lite.store.records import LiveSession
from hackatime_lite.store.rules import SESSION_LIFETIME, hash_token
from hackatime_lite.store.sqlite.users import get_user


def create_session(
    db: sqlite_utils.Database,
    user_id: int,
    *,
    user_agent: str | None = None,
    remote_addr: str | None = None,
    now: float | None = None,
) -> str:
    """Start a session and return its token (the cookie value); it is never stored in clear."""
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    db.execute(
        """INSERT INTO web_sessions (token_hash, user_id, created_at, last_seen_at, expires_at, user_agent,
               remote_addr) VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (hash_token(token), user_id, now, now, now + SESSION_LIFETIME, (user_agent or "")[:300], remote_addr),
    )
    return token


def session_user(conn: sqlite3.Connection, token: str, *, now: float | None = None) -> LiveSession | None:
    """(user, session id, last_seen_at) for a live session of an enabled user, else None."""
    if not token or len(token) > 100:
        return None
    now = time.time() if now is None else now
    row = conn.execute(
        "SELECT id, user_id, last_seen_at FROM web_sessions WHERE token_hash = ? AND expires_at > ?",
        (hash_token(token), now),
    ).fetchone()
    if row is None:
        return None
    user = get_user(conn, row[1])
    if user is None or user.is_disabled:
        return None
    return LiveSession(user, row[0], row[2])


def touch_session(db: sqlite_utils.Database, session_id: int, *, now: float | None = None) -> None:
    now = time.time() if now is None else now
    db.execute(
        "UPDATE web_sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?",
        (now, now + SESSION_LIFETIME, session_id),
    )


def delete_session(db: sqlite_utils.Database, token: str) -> None:
    db.execute("DELETE FROM web_sessions WHERE token_hash = ?", (hash_token(token),))


def delete_user_sessions(db: sqlite_utils.Database, user_id: int, *, keep_token: str | None = None) -> int:
    """End every session of a user (password reset, disabling), optionally keeping the current one."""
    keep = hash_token(keep_token) if keep_token else ""
    cursor = db.execute("DELETE FROM web_sessions WHERE user_id = ? AND token_hash != ?", (user_id, keep))
    return cursor.rowcount


def purge_expired_sessions(db: sqlite_utils.Database, *, now: float | None = None) -> int:
    now = time.time() if now is None else now
    return db.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (now,)).rowcount
