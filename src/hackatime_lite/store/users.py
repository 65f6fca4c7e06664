"""Users and API keys. Keys are stored only as SHA-256 hashes; passwords only as argon2 hashes."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
import uuid
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlite_utils
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hackatime_lite.models import SHARE_FLAG_FIELDS, ApiKey, User

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
API_KEY_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_BOOL_USER_FIELDS = ("is_admin", "is_disabled", "leaderboard_opt_out", *SHARE_FLAG_FIELDS)
SETTABLE_USER_FIELDS = frozenset(
    {
        *SHARE_FLAG_FIELDS,
        "display_name",
        "email",
        "timezone",
        "timeout",
        "duration_mode",
        "leaderboard_opt_out",
        "share_max_days",
        "is_admin",
        "is_disabled",
        "trust_level",
    }
)
_password_hasher = PasswordHasher()
# Successful key lookups are remembered briefly: the heartbeat hot path then skips two SQLite reads, which
# under write load wait behind the writer thread for the GIL. Changes made in this process clear it at once;
# a key revoked or a user disabled from another process (the CLI) takes effect within this many seconds.
KEY_CACHE_SECONDS = 2.0
_key_cache: dict[str, tuple[float, User, ApiKey]] = {}


def clear_key_cache() -> None:
    _key_cache.clear()


class UserError(ValueError):
    """Invalid input for a user or key operation; the message is safe to show."""


def _now() -> float:
    return time.time()


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UserError(f"unknown time zone: {name!r}") from exc
    return name


def validate_timeout(value: int | None) -> int | None:
    if value is not None and not 30 <= value <= 3600:
        raise UserError("timeout must be between 30 and 3600 seconds")
    return value


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
    cursor.row_factory = sqlite3.Row  # type: ignore[assignment]
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
    if not USERNAME_PATTERN.match(username or ""):
        raise UserError(
            "username must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    validate_timezone(timezone)
    if username.lower() == "current":
        raise UserError("'current' is reserved")
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
            _password_hasher.hash(password) if password else None,
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
    return _select_user(conn, "id = ?", (user_id,))


def get_user_by_name(conn: sqlite3.Connection | sqlite_utils.Database, username: str) -> User | None:
    return _select_user(conn, "username = ?", (username,))


def find_user(conn: sqlite3.Connection | sqlite_utils.Database, ref: str) -> User | None:
    """A user by username, public id (UUID) or numeric id."""
    user = _select_user(conn, "username = ? OR public_id = ?", (ref, ref.lower()))
    if user is None and ref.isdigit():
        user = get_user(conn, int(ref))
    return user


def list_users(conn: sqlite3.Connection | sqlite_utils.Database) -> list[User]:
    cursor = conn.execute("SELECT * FROM users ORDER BY id")
    cursor.row_factory = sqlite3.Row  # type: ignore[assignment]
    return [_user_from_row(row) for row in cursor.fetchall()]


def update_user(db: sqlite_utils.Database, user_id: int, **fields: Any) -> User:
    unknown = set(fields) - SETTABLE_USER_FIELDS
    if unknown:
        raise UserError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    if "timezone" in fields:
        validate_timezone(fields["timezone"])
    if "timeout" in fields:
        validate_timeout(fields["timeout"])
    if fields.get("duration_mode") not in (None, "capped", "keystroke"):
        raise UserError("duration_mode must be 'capped' or 'keystroke'")
    if fields.get("trust_level") not in (None, "default", "trusted", "suspected", "convicted"):
        raise UserError("trust_level must be default, trusted, suspected or convicted")
    if fields:
        clear_key_cache()
        assignments = ", ".join(f"{name} = ?" for name in fields)
        values = [int(v) if isinstance(v, bool) else v for v in fields.values()]
        db.execute(f"UPDATE users SET {assignments}, updated_at = ? WHERE id = ?", (*values, _now(), user_id))
    user = get_user(db, user_id)
    if user is None:
        raise UserError("no such user")
    return user


def delete_user(db: sqlite_utils.Database, user_id: int) -> None:
    clear_key_cache()
    db.execute("DELETE FROM users WHERE id = ?", (user_id,))


def set_password(db: sqlite_utils.Database, user_id: int, password: str) -> None:
    if len(password) < 8:
        raise UserError("password must have at least 8 characters")
    db.execute(
        "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
        (_password_hasher.hash(password), _now(), user_id),
    )


def verify_password(
    conn: sqlite3.Connection | sqlite_utils.Database, username: str, password: str
) -> User | None:
    row = conn.execute(
        "SELECT id, password_hash, is_disabled FROM users WHERE username = ?", (username,)
    ).fetchone()
    if row is None or not row[1] or row[2]:
        # Spend the same effort on unknown users so timing does not reveal which names exist.
        _password_hasher.hash(password)
        return None
    try:
        _password_hasher.verify(row[1], password)
    except (VerificationError, InvalidHashError):
        return None
    return get_user(conn, row[0])


# -- API keys -----------------------------------------------------------------------------------
def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.strip().lower().encode()).hexdigest()


def create_api_key(
    db: sqlite_utils.Database, user_id: int, *, name: str = "default", read_only: bool = False
) -> tuple[ApiKey, str]:
    """Returns the stored key record and the plaintext key, which is never stored or shown again."""
    if get_user(db, user_id) is None:
        raise UserError("no such user")
    plaintext = str(uuid.uuid4())
    db.execute(
        "INSERT INTO api_keys (user_id, name, key_hash, key_hint, read_only, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (user_id, name, hash_api_key(plaintext), plaintext[:8], int(read_only), _now()),
    )
    key_id = db.execute("SELECT last_insert_rowid()").fetchone()[0]
    key = get_api_key(db, key_id)
    assert key is not None
    return key, plaintext


def get_api_key(conn: sqlite3.Connection | sqlite_utils.Database, key_id: int) -> ApiKey | None:
    cursor = conn.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,))
    cursor.row_factory = sqlite3.Row  # type: ignore[assignment]
    row = cursor.fetchone()
    return _key_from_row(row) if row else None


def list_api_keys(
    conn: sqlite3.Connection | sqlite_utils.Database, user_id: int | None = None
) -> list[ApiKey]:
    sql, params = "SELECT * FROM api_keys", ()
    if user_id is not None:
        sql, params = sql + " WHERE user_id = ?", (user_id,)
    cursor = conn.execute(sql + " ORDER BY id", params)
    cursor.row_factory = sqlite3.Row  # type: ignore[assignment]
    return [_key_from_row(row) for row in cursor.fetchall()]


def revoke_api_key(db: sqlite_utils.Database, key_id: int, *, user_id: int | None = None) -> ApiKey:
    key = get_api_key(db, key_id)
    if key is None or (user_id is not None and key.user_id != user_id):
        raise UserError("no such key")
    clear_key_cache()
    if key.revoked_at is None:
        db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", (_now(), key_id))
    revoked = get_api_key(db, key_id)
    assert revoked is not None
    return revoked


def lookup_api_key(conn: sqlite3.Connection, plaintext: str) -> tuple[User, ApiKey] | None:
    """The active key and its enabled owner, or None."""
    if not API_KEY_PATTERN.match(plaintext.strip().lower()):
        return None
    key_hash = hash_api_key(plaintext)
    now = time.monotonic()
    cached = _key_cache.get(key_hash)
    if cached is not None and cached[0] > now:
        return cached[1], cached[2]
    cursor = conn.execute("SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (key_hash,))
    cursor.row_factory = sqlite3.Row  # type: ignore[assignment]
    row = cursor.fetchone()
    if row is None:
        return None
    user = get_user(conn, row["user_id"])
    if user is None or user.is_disabled:
        return None
    key = _key_from_row(row)
    if len(_key_cache) > 10_000:
        _key_cache.clear()
    _key_cache[key_hash] = (now + KEY_CACHE_SECONDS, user, key)
    return user, key
