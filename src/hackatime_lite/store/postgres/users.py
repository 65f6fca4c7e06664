"""Users and API keys in PostgreSQL (the checks and hashing every backend shares live in store.rules)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from hackatime_lite.models import SHARE_FLAG_FIELDS, ApiKey, User
from hackatime_lite.store import rules
from hackatime_lite.store.interface import UserError
from hackatime_lite.store.postgres.base import Connection, dicts, execute, one

_BOOL_USER_FIELDS = ("is_admin", "is_disabled", "leaderboard_opt_out", *SHARE_FLAG_FIELDS)
_KEY_FIELDS = ("id", "user_id", "name", "key_hint", "read_only", "created_at", "last_used_at", "revoked_at")


def user_from_row(data: dict[str, Any]) -> User:
    data = dict(data)
    for name in _BOOL_USER_FIELDS:
        data[name] = bool(data[name])
    data["has_password"] = bool(data.pop("password_hash", None))
    return User(**data)


def _key_from_row(row: dict[str, Any]) -> ApiKey:
    data = {k: row[k] for k in _KEY_FIELDS}
    data["read_only"] = bool(data["read_only"])
    return ApiKey(**data)


def _select_user(conn: Connection, where: str, params: tuple[Any, ...]) -> User | None:
    found = dicts(conn, f"SELECT * FROM users WHERE {where}", params)
    return user_from_row(found[0]) if found else None


def create_user(conn: Connection, username: str, *, is_admin: bool = False, timezone: str = "UTC",
                password: str | None = None, display_name: str | None = None, email: str | None = None) -> User:
    rules.check_new_user(username, timezone)
    # One user at a time: "the first user is an administrator" must hold when two nodes sign up at once.
    execute(conn, "LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
    if get_user_by_name(conn, username) is not None:
        raise UserError(f"user {username!r} already exists")
    first_user = not one(conn, "SELECT EXISTS (SELECT 1 FROM users)")[0]  # type: ignore[index]
    now = time.time()
    found = dicts(conn, """INSERT INTO users (public_id, username, display_name, email, password_hash, is_admin,
               timezone, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *""",
                  (str(uuid.uuid4()), username, display_name, email, rules.hash_initial_password(password),
                   1 if (is_admin or first_user) else 0, timezone, now, now))
    return user_from_row(found[0])


def get_user(conn: Connection, user_id: int) -> User | None:
    if not rules.storable_id(user_id):
        return None
    return _select_user(conn, "id = %s", (user_id,))


def get_user_by_name(conn: Connection, username: str) -> User | None:
    return _select_user(conn, "lower(username) = lower(%s)", (username,))


def find_user(conn: Connection, ref: str) -> User | None:
    user = _select_user(conn, "lower(username) = lower(%s) OR public_id = %s", (ref, ref.lower()))
    if user is None and ref.isascii() and ref.isdigit() and rules.storable_id(int(ref)):
        user = get_user(conn, int(ref))
    return user


def list_users(conn: Connection) -> list[User]:
    return [user_from_row(row) for row in dicts(conn, "SELECT * FROM users ORDER BY id")]


def update_user(conn: Connection, user_id: int, **fields: Any) -> User:
    rules.check_user_fields(fields)
    if fields:
        assignments = ", ".join(f"{name} = %s" for name in fields)
        values = [int(v) if isinstance(v, bool) else v for v in fields.values()]
        execute(conn, f"UPDATE users SET {assignments}, updated_at = %s WHERE id = %s", (*values, time.time(), user_id))
    user = get_user(conn, user_id)
    if user is None:
        raise UserError("no such user")
    return user


def delete_user(conn: Connection, user_id: int) -> None:
    execute(conn, "DELETE FROM users WHERE id = %s", (user_id,))


def set_password(conn: Connection, user_id: int, password: str) -> None:
    execute(conn, "UPDATE users SET password_hash = %s, updated_at = %s WHERE id = %s",
            (rules.hash_password(password), time.time(), user_id))


def verify_password(conn: Connection, username: str, password: str) -> User | None:
    row = one(conn, "SELECT id, password_hash, is_disabled FROM users WHERE lower(username) = lower(%s)", (username,))
    if not rules.password_matches(None if row is None or row[2] else row[1], password):
        return None
    return get_user(conn, row[0])  # type: ignore[index]  # a match implies a row


# -- API keys -----------------------------------------------------------------------------------
def create_api_key(conn: Connection, user_id: int, *, name: str = "default",
                   read_only: bool = False) -> tuple[ApiKey, str]:
    if get_user(conn, user_id) is None:
        raise UserError("no such user")
    plaintext = str(uuid.uuid4())
    found = dicts(conn, "INSERT INTO api_keys (user_id, name, key_hash, key_hint, read_only, created_at) "
                        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
                  (user_id, name, rules.hash_api_key(plaintext), plaintext[:8], int(read_only), time.time()))
    return _key_from_row(found[0]), plaintext


def get_api_key(conn: Connection, key_id: int) -> ApiKey | None:
    if not rules.storable_id(key_id):
        return None
    found = dicts(conn, "SELECT * FROM api_keys WHERE id = %s", (key_id,))
    return _key_from_row(found[0]) if found else None


def list_api_keys(conn: Connection, user_id: int | None = None) -> list[ApiKey]:
    if user_id is None:
        return [_key_from_row(r) for r in dicts(conn, "SELECT * FROM api_keys ORDER BY id")]
    return [_key_from_row(r) for r in dicts(conn, "SELECT * FROM api_keys WHERE user_id = %s ORDER BY id",
                                            (user_id,))]


def revoke_api_key(conn: Connection, key_id: int, *, user_id: int | None = None) -> ApiKey:
    key = get_api_key(conn, key_id)
    if key is None or (user_id is not None and key.user_id != user_id):
        raise UserError("no such key")
    if key.revoked_at is None:
        execute(conn, "UPDATE api_keys SET revoked_at = %s WHERE id = %s", (time.time(), key_id))
    revoked = get_api_key(conn, key_id)
    assert revoked is not None
    return revoked


def lookup_api_key(conn: Connection, plaintext: str, cache: rules.KeyCache) -> tuple[User, ApiKey] | None:
    if not rules.looks_like_api_key(plaintext):
        return None
    key_hash = rules.hash_api_key(plaintext)
    cached = cache.get(key_hash)
    if cached is not None:
        return cached
    found = dicts(conn, "SELECT * FROM api_keys WHERE key_hash = %s AND revoked_at IS NULL", (key_hash,))
    if not found:
        return None
    user = get_user(conn, found[0]["user_id"])
    if user is None or user.is_disabled:
        return None
    key = _key_from_row(found[0])
    cache.remember(key_hash, user, key)
    return user, key


def note_key_use(conn: Connection, key_id: int, used_at: float) -> None:
    execute(conn, "UPDATE api_keys SET last_used_at = %s WHERE id = %s", (used_at, key_id))
