"""API-key extraction (every form WakaTime clients use) and the current-user guard."""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass

from litestar import Request
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException

from hackatime_lite.models import ApiKey, User
from hackatime_lite.store import StoreBackend
from hackatime_lite.store.rules import API_KEY_PATTERN


@dataclass(frozen=True)
class Caller:
    user: User
    api_key: ApiKey | None = None

    @property
    def read_only(self) -> bool:
        return self.api_key is not None and self.api_key.read_only


def _decode_base64(value: str) -> str | None:
    try:
        padded = value + "=" * (-len(value) % 4)
        return base64.b64decode(padded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _key_from_credentials(decoded: str) -> str:
    """`key`, `key:` and `user:key` all carry the key; pick the part that looks like one."""
    if ":" not in decoded:
        return decoded
    first, _, second = decoded.partition(":")
    if API_KEY_PATTERN.match(second.strip().lower()):
        return second
    return first


def extract_api_key(authorization: str | None, query_key: str | None) -> str | None:
    if authorization:
        scheme, _, credentials = authorization.strip().partition(" ")
        credentials = credentials.strip()
        scheme = scheme.lower()
        if scheme == "basic":
            decoded = _decode_base64(credentials)
            return _key_from_credentials(decoded) if decoded is not None else None
        if scheme == "bearer":
            if API_KEY_PATTERN.match(credentials.lower()):
                return credentials
            decoded = _decode_base64(credentials)
            return _key_from_credentials(decoded) if decoded is not None else credentials
        return None
    return query_key or None


def authenticate(request: Request, store: StoreBackend) -> Caller:
    """The caller behind the request's API key, or 401."""
    key = extract_api_key(request.headers.get("authorization"), request.query_params.get("api_key"))
    found = store.lookup_api_key(key) if key else None
    if found is None:
        raise NotAuthorizedException("Unauthorized")
    user, api_key = found
    _note_key_use(store, api_key.id)
    return Caller(user=user, api_key=api_key)


def _note_key_use(store: StoreBackend, key_id: int) -> None:
    store.note_api_key_use(key_id, time.time())  # not waited for; the store writes it at most once a minute


def optional_caller(request: Request, store: StoreBackend) -> Caller | None:
    try:
        return authenticate(request, store)
    except NotAuthorizedException:
        return None


def require_write(caller: Caller) -> None:
    if caller.read_only:
        raise PermissionDeniedException("this API key is read-only")


def resolve_user(caller: Caller, user_ref: str, store: StoreBackend) -> User:
    """`current`, the caller's own id/username, or (admins only) any user."""
    user = caller.user
    if user_ref in ("current", str(user.id), user.public_id) or user_ref.lower() == user.username.lower():
        return user
    if not user.is_admin:
        raise PermissionDeniedException("you may only access your own data")
    target = store.find_user(user_ref)
    if target is None:
        raise NotFoundException("user not found")
    return target
