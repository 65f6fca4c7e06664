"""Dashboard login sessions in PostgreSQL (shared by every node): only the token's SHA-256 is stored."""

from __future__ import annotations

import secrets
import time

from hackatime_lite.store.postgres.base import Connection, execute, one
from hackatime_lite.store.postgres.users import get_user
from hackatime_lite.store.records import LiveSession
from hackatime_lite.store.rules import SESSION_LIFETIME, hash_token


def create_session(conn: Connection, user_id: int, *, user_agent: str | None = None,
                   remote_addr: str | None = None, now: float | None = None) -> str:
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    execute(conn, """INSERT INTO web_sessions (token_hash, user_id, created_at, last_seen_at, expires_at, user_agent,
               remote_addr) VALUES (%s, %s, %s, %s, %s, %s, %s)""",
            (hash_token(token), user_id, now, now, now + SESSION_LIFETIME, (user_agent or "")[:300], remote_addr))
    return token


def session_user(conn: Connection, token: str, *, now: float | None = None) -> LiveSession | None:
    if not token or len(token) > 100:
        return None
    now = time.time() if now is None else now
    row = one(conn, "SELECT id, user_id, last_seen_at FROM web_sessions WHERE token_hash = %s AND expires_at > %s",
              (hash_token(token), now))
    if row is None:
        return None
    user = get_user(conn, row[1])
    if user is None or user.is_disabled:
        return None
    return LiveSession(user, row[0], row[2])


def touch_session(conn: Connection, session_id: int, *, now: float | None = None) -> None:
    now = time.time() if now is None else now
    execute(conn, "UPDATE web_sessions SET last_seen_at = %s, expires_at = %s WHERE id = %s",
            (now, now + SESSION_LIFETIME, session_id))


def delete_session(conn: Connection, token: str) -> None:
    execute(conn, "DELETE FROM web_sessions WHERE token_hash = %s", (hash_token(token),))


def delete_user_sessions(conn: Connection, user_id: int, *, keep_token: str | None = None) -> int:
    keep = hash_token(keep_token) if keep_token else ""
    return execute(conn, "DELETE FROM web_sessions WHERE user_id = %s AND token_hash != %s", (user_id, keep))


def purge_expired_sessions(conn: Connection, *, now: float | None = None) -> int:
    now = time.time() if now is None else now
    return execute(conn, "DELETE FROM web_sessions WHERE expires_at <= %s", (now,))
