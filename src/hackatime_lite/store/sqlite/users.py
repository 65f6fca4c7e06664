"""Users and API keys in SQLite (the checks and hashing every backend shares live in store.rules)."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterable
from typing import Any

import sqlite_utils

from hackatime_lite.models import SHARE_FLAG_FIELDS, ApiKey, User
from hackatime_lite.store import rules
from hackatime_lite.store.interface import UserError

_BOOL_USER_FIELDS = ("is_admin", "is_disabled", "leaderboard_opt_out", *SHARE_FLAG_FIELDS)


def _now() -> float:
    return time.time()


def _user_from_row(row: sqlite3.Row | dict[str, Any]) -> User:
    data = dict(row)
    for name in _BOOL_USER_FIELDS:
        data[name] = bool(data[name])
    data["has_password"] = bool(data.pop("password_hash", None))
    return User(**data)


def _key_from_row(row: sqlite3.Row | dict[str, Any]) -> ApiKey:
    data = {
        k: row[k]
        for k in (
            "id",
            "user_id",
            "name",
            "key_hint",
            "read_only",
            "created_at",
            "last_used_at",
            "revoked_at",
        )
    }
    data["read_only"] = bool(data["read_only"])
    return ApiKey(**data)


def _select_user(
    conn: sqlite3.Connection | sqlite_utils.Database, where: str, params: Iterable[Any]
) -> User | None:
    cursor = conn.execute(f"SELECT * FROM users WHERE {where}", tuple(params))
    cursor.row_factory = sqlite3.Row
    row = cursor.fetchone()
    return _user_from_row(row) if row else None


# -- users --------------------------------------------------------------------------------------
def create_user(
    db: sqlite_utils.Database,
    username: str,
    *,
    is_admin: bool = False,
    timezone: str = "UTC",
    password: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
) -> User:
    rules.check_new_user(username, timezone)
    if get_user_by_name(db, username) is not None:
        raise UserError(f"user {username!r} already exists")
    first_user = db.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 0
    now = _now()
    db.execute(
        """INSERT INTO users (public_id, username, display_name, email, password_hash, is_admin,
               timezone, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            str(uuid.uuid4()),
            username,
            display_name,
            email,
            rules.hash_initial_password(password),
            1 if (is_admin or first_user) else 0,
            timezone,
            now,
            now,
        ),
    )
    user = get_user_by_name(db, username)
    assert user is not None
    return user


def get_user(conn: sqlite3.Connection | sqlite_utils.Database, user_id: int) -> User | None:
    if not rules.storable_id(user_id):  # an id from a URL path may be any integer
        return None
    return _select_user(conn, "id = ?", (user_id,))


def get_user_by_name(conn: sqlite3.Connection | sqlite_utils.Database, username: str) -> User | None:
    return _select_user(conn, "username = ?", (username,))


def find_user(conn: sqlite3.Connection | sqlite_utils.Database, ref: str) -> User | None:
    """A user by username, public id (UUID) or numeric id."""
    user = _select_user(conn, "username = ? OR public_id = ?", (ref, ref.lower()))
    # ASCII digits only (str.isdigit() also takes "²", which int() refuses), and no id beyond SQLite's
    # 64-bit integers (binding one raises OverflowError): such a ref names no user.
    if user is None and ref.isascii() and ref.isdigit() and rules.storable_id(int(ref)):
        user = get_user(conn, int(ref))
    return user


def list_users(conn: sqlite3.Connection | sqlite_utils.Database) -> list[User]:
    cursor = conn.execute("SELECT * FROM users ORDER BY id")
    cursor.row_factory = sqlite3.Row
    return [_user_from_row(row) for row in cursor.fetchall()]


def update_user(db: sqlite_utils.Database, user_id: int, **fields: Any) -> User:
    rules.check_user_fields(fields)
    if fields:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        values = [int(v) if isinstance(v, bool) else v for v in fields.values()]
        db.execute(f"UPDATE users SET {assignments}, updated_at = ? WHERE id = ?", (*values, _now(), user_id))
    user = get_user(db, user_id)
    if user is None:
        raise UserError("no such user")
    return user


def delete_user(db: sqlite_utils.Database, user_id: int) -> None:
    """The user row; keys, sessions, mirrors, cached entries and heartbeats go with it (ON DELETE CASCADE)."""
    db.execute("DELETE FROM users WHERE id = ?", (user_id,))


def set_password(db: sqlite_utils.Database, user_id: int, password: str) -> None:
    db.execute(
        "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
        (rules.hash_password(password), _now(), user_id),
    )


def verify_password(
    conn: sqlite3.Connection | sqlite_utils.Database, username: str, password: str
) -> User | None:
    row = conn.execute(
        "SELECT id, password_hash, is_disabled FROM users WHERE username = ?", (username,)
    ).fetchone()
    # A disabled user's check costs the same as anyone's, and fails.
    if not rules.password_matches(None if row is None or row[2] else row[1], password):
        return None
    return get_user(conn, row[0])


# -- API keys -----------------------------------------------------------------------------------
def create_api_key(
    db: sqlite_utils.Database, user_id: int, *, name: str = "default", read_only: bool = False
) -> tuple[ApiKey, str]:
    """Returns the stored key record and the plaintext key, which is never stored or shown again."""
    if get_user(db, user_id) is None:
        raise UserError("no such user")
    plaintext = str(uuid.uuid4())
    db.execute(
        "INSERT INTO api_keys (user_id, name, key_hash, key_hint, read_only, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (user_id, name, rules.hash_api_key(plaintext), plaintext[:8], int(read_only), _now()),
    )
    key_id = db.execute("SELECT last_insert_rowid()").fetchone()[0]
    key = get_api_key(db, key_id)
    assert key is not None
    return key, plaintext


def get_api_key(conn: sqlite3.Connection | sqlite_utils.Database, key_id: int) -> ApiKey | None:
    if not rules.storable_id(key_id):  # an id from a URL path may be any integer
        return None
    cursor = conn.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,))
    cursor.row_factory = sqlite3.Row
    row = cursor.fetchone()
    return _key_from_row(row) if row else None


def list_api_keys(
    conn: sqlite3.Connection | sqlite_utils.Database, user_id: int | None = None
) -> list[ApiKey]:
    sql, params = "SELECT * FROM api_keys", tuple[int, ...]()
    if user_id is not None:
        sql, params = sql + " WHERE user_id = ?", (user_id,)
    cursor = conn.execute(sql + " ORDER BY id", params)
    cursor.row_factory = sqlite3.Row
    return [_key_from_row(row) for row in cursor.fetchall()]


def revoke_api_key(db: sqlite_utils.Database, key_id: int, *, user_id: int | None = None) -> ApiKey:
    key = get_api_key(db, key_id)
    if key is None or (user_id is not None and key.user_id != user_id):
        raise UserError("no such key")
    if key.revoked_at is None:
        db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", (_now(), key_id))
    revoked = get_api_key(db, key_id)
    assert revoked is not None
    return revoked


def lookup_api_key(conn: sqlite3.Connection, plaintext: str, cache: rules.KeyCache) -> tuple[User, ApiKey] | None:
    """The active key and its enabled owner, or None."""
    if not rules.looks_like_api_key(plaintext):
        return None
    key_hash = rules.hash_api_key(plaintext)
    cached = cache.get(key_hash)
    if cached is not None:
        return cached
    cursor = conn.execute("SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (key_hash,))
    cursor.row_factory = sqlite3.Row
    row = cursor.fetchone()
    if row is None:
        return None
    user = get_user(conn, row["user_id"])
    if user is None or user.is_disabled:
        return None
    key = _key_from_row(row)
    cache.remember(key_hash, user, key)
    return user, key


def note_key_use(db: sqlite_utils.Database, key_id: int, used_at: float) -> None:
    db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (used_at, key_id))
