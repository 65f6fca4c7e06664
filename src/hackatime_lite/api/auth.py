"""API-key extraction (every form WakaTime clients use), the current-user guard and the API's rate limits."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Literal

from litestar import Request
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
)

from hackatime_lite.accounts.rate_limits import TokenBuckets, retry_after_seconds
from hackatime_lite.api import params
from hackatime_lite.context import AppContext
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


READ_METHODS = frozenset({"GET", "HEAD"})


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def too_many_requests(wait: float, message: str) -> TooManyRequestsException:
    """A 429 that says when to come back: every 429 the app answers carries `Retry-After` (seconds)."""
    return TooManyRequestsException(message, headers={"Retry-After": str(retry_after_seconds(wait))})


def enforce_limit(request: Request, buckets: TokenBuckets, key: Hashable, message: str) -> None:
    """Spend one of `key`'s requests in `buckets`, or answer 429 with `Retry-After`."""
    ctx: AppContext = request.app.state.ctx
    wait = buckets.take(key, ctx.limits_clock())
    if wait > 0:
        raise too_many_requests(wait, message)


def request_api_key(request: Request) -> str | None:
    """The API key the request presents (header or `api_key` parameter), if any."""
    return extract_api_key(request.headers.get("authorization"), params.query(request).get("api_key"))


def authenticate(request: Request, store: StoreBackend, key: str | Literal[False] | None = False) -> Caller:
    """The caller behind the request's API key, or 401; 429 when the key or the address is over its limit.
    `key`: the request's key when the caller extracted it already (request_api_key).

    The key is looked up first, so a valid key is never refused because its address also sent bad ones
    (a misconfigured plugin on a shared network must not lock out its neighbours); only the bad keys count
    against the address. A valid key then spends from its own bucket: writes (heartbeats) and reads apart.
    """
    if key is False:
        key = request_api_key(request)
    found = store.lookup_api_key(key) if key else None
    ctx: AppContext = request.app.state.ctx
    limits = ctx.rate_limits
    if found is None:
        if key:
            enforce_limit(request, limits.bad_keys, client_address(request), "too many unknown API keys; slow down")
        raise NotAuthorizedException("Unauthorized")
    user, api_key = found
    if request.method in READ_METHODS:
        enforce_limit(request, limits.read, api_key.id, "too many reads with this API key")
    else:
        enforce_limit(request, limits.ingest, api_key.id, "too many requests with this API key")
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
