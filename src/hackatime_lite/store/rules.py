"""Rules every backend applies the same way: input checks, how secrets are hashed, the key-lookup cache.

Keys, session tokens and invite codes are stored only as SHA-256 hashes; passwords only as argon2 hashes.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hackatime_lite.models import SHARE_FLAG_FIELDS, ApiKey, RuleError, User, check_mode, check_timeout
from hackatime_lite.store.interface import UserError

# Row ids are 64-bit signed integers in every backend: a larger number names no row (and SQLite refuses to
# bind one), so lookups answer "not found" and the API refuses such ids in paths.
MAX_ROW_ID = 2**63 - 1


def storable_id(value: int) -> bool:
    """Whether `value` fits a row id column (a lookup of any other number finds nothing)."""
    return -MAX_ROW_ID - 1 <= value <= MAX_ROW_ID


USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
API_KEY_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
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
MIN_PASSWORD_LENGTH = 8
SESSION_LIFETIME = 14 * 86400
# A session's expiry slides forward on use, but writing on every page view would be wasteful.
TOUCH_INTERVAL = 3600
MAX_INVITE_USES = 1000
_password_hasher = PasswordHasher()


# -- users ----------------------------------------------------------------------------------------------
def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UserError(f"unknown time zone: {name!r}") from exc
    return name


def validate_timeout(value: int | None) -> int | None:
    """A user's timeout override: None (the server default) or what DurationRule allows."""
    try:
        return None if value is None else check_timeout(value)
    except RuleError as exc:
        raise UserError(str(exc)) from exc


def validate_mode(value: str | None) -> str | None:
    """A user's duration mode override: None (the server default) or what DurationRule allows."""
    try:
        return None if value is None else check_mode(value)
    except RuleError as exc:
        raise UserError(str(exc)) from exc


def check_new_user(username: str, timezone: str) -> None:
    if not USERNAME_PATTERN.match(username or ""):
        raise UserError(
            "username must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    validate_timezone(timezone)
    if username.lower() == "current":
        raise UserError("'current' is reserved")


def check_user_fields(fields: Mapping[str, Any]) -> None:
    unknown = set(fields) - SETTABLE_USER_FIELDS
    if unknown:
        raise UserError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    if "timezone" in fields:
        validate_timezone(fields["timezone"])
    if "timeout" in fields:
        validate_timeout(fields["timeout"])
    if "duration_mode" in fields:
        validate_mode(fields["duration_mode"])
    if fields.get("trust_level") not in (None, "default", "trusted", "suspected", "convicted"):
        raise UserError("trust_level must be default, trusted, suspected or convicted")


# -- passwords ------------------------------------------------------------------------------------------
def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    check_password(password)
    return _password_hasher.hash(password)


def hash_initial_password(password: str | None) -> str | None:
    """A new account's password, unchecked for length (admins and the CLI may set short ones)."""
    return _password_hasher.hash(password) if password else None


def password_matches(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        # Spend the same effort on unknown users so timing does not reveal which names exist.
        _password_hasher.hash(password)
        return False
    try:
        return _password_hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# -- hashed secrets -------------------------------------------------------------------------------------
def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.strip().lower().encode()).hexdigest()


def looks_like_api_key(plaintext: str) -> bool:
    return API_KEY_PATTERN.match(plaintext.strip().lower()) is not None


def hash_token(token: str) -> str:
    """Session tokens and invite codes (already stripped by the caller)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_invite(max_uses: int, valid_days: float | None) -> None:
    if not 1 <= max_uses <= MAX_INVITE_USES:
        raise UserError(f"max uses must be between 1 and {MAX_INVITE_USES}")
    if valid_days is not None and not 0 < valid_days <= 3650:
        raise UserError("validity must be between 1 and 3650 days")


# -- the key cache --------------------------------------------------------------------------------------
# Successful key lookups are remembered briefly: the heartbeat hot path then skips two database reads, which
# under write load wait behind the writer for the GIL. Changes made in this process clear it at once; a key
# revoked or a user disabled from another process (the CLI) takes effect within this many seconds.
KEY_CACHE_SECONDS = 2.0
KEY_CACHE_MAX = 10_000
# `last_used_at` is refreshed at most this often per key: a write per request would double the write load.
LAST_USED_RESOLUTION = 60.0


class KeyCache:
    """One store's memory of recent key lookups and of when each key's last use was written.

    Held by the store instance (never a module global), so two stores in one process never see each other's
    keys. Dict operations are atomic under the GIL; a lost race only costs one extra database read.
    """

    def __init__(self) -> None:
        self._found: dict[str, tuple[float, User, ApiKey]] = {}
        self._last_noted: dict[int, float] = {}

    def clear(self) -> None:
        self._found.clear()

    def get(self, key_hash: str) -> tuple[User, ApiKey] | None:
        cached = self._found.get(key_hash)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1], cached[2]
        return None

    def remember(self, key_hash: str, user: User, key: ApiKey) -> None:
        if len(self._found) > KEY_CACHE_MAX:
            self._found.clear()
        self._found[key_hash] = (time.monotonic() + KEY_CACHE_SECONDS, user, key)

    def use_is_due(self, key_id: int, now: float) -> bool:
        """True when the key's last use should be written now (at most once per LAST_USED_RESOLUTION)."""
        if now - self._last_noted.get(key_id, float("-inf")) < LAST_USED_RESOLUTION:
            return False
        if len(self._last_noted) > KEY_CACHE_MAX:
            self._last_noted.clear()
        self._last_noted[key_id] = now
        return True
