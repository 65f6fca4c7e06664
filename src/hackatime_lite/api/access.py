"""Who may read whose data: the owner, an admin, or — for shared stats — anyone.

Every read handler goes through one of these, so the rules live in one place:
- `owner_read`: the caller's own data (`current`, own id/username) or, for admins, anyone's; else 403.
- `owner_write`: the same, with a key that is not read-only.
- `shared_read`: like `owner_read`, but a user who shares publicly may be read by anyone, unauthenticated
  too, with only the parts they share (a `Visibility`).
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException

from hackatime_lite.api.auth import (
    Caller,
    authenticate,
    client_address,
    enforce_limit,
    request_api_key,
    require_write,
    resolve_user,
)
from hackatime_lite.context import AppContext
from hackatime_lite.models import DIMENSIONS, User
from hackatime_lite.store import StoreBackend

# Breakdown name (WakaTime's plural) -> the user flag that makes it public.
SHARE_FLAGS = {d.plural: d.share_flag for d in DIMENSIONS if d.share_flag}


@dataclass(frozen=True)
class Visibility:
    """What a reader may see of a user's stats. Owners and admins see everything."""

    full: bool
    totals: bool
    breakdowns: frozenset[str]
    max_days: int | None

    def shows(self, breakdown: str) -> bool:
        return self.full or breakdown in self.breakdowns

    @property
    def other_usage(self) -> bool:
        """WakaTime's `is_other_usage_visible`: editors, OS or machines are visible."""
        return self.full or bool(self.breakdowns & {"editors", "operating_systems", "machines"})


FULL = Visibility(full=True, totals=True, breakdowns=frozenset(SHARE_FLAGS), max_days=None)


def public_visibility(user: User) -> Visibility | None:
    """What `user` shares with everyone, or None when they share nothing."""
    shared = frozenset(name for name, flag in SHARE_FLAGS.items() if getattr(user, flag))
    if not user.share_stats and not shared:
        return None
    max_days = user.share_max_days if user.share_max_days and user.share_max_days > 0 else None
    return Visibility(full=False, totals=user.share_stats, breakdowns=shared, max_days=max_days)


def owner_read(request: Request, store: StoreBackend, user_ref: str = "current") -> tuple[Caller, User]:
    caller = authenticate(request, store)
    return caller, resolve_user(caller, user_ref, store)


def owner_write(request: Request, store: StoreBackend, user_ref: str = "current") -> tuple[Caller, User]:
    caller = authenticate(request, store)
    require_write(caller)
    return caller, resolve_user(caller, user_ref, store)


def shared_read(request: Request, store: StoreBackend, user_ref: str) -> tuple[User, Visibility]:
    """The user and what the caller may see of them; 401/403/404 otherwise.

    Bad credentials are refused (401) rather than downgraded to anonymous access, so a typo in a key
    never looks like "no data".
    """
    key = request_api_key(request)
    caller = authenticate(request, store, key) if key is not None else None
    if caller is None:  # no key, so no per-key limit: limit reads of shared stats per address instead
        ctx: AppContext = request.app.state.ctx
        enforce_limit(request, ctx.rate_limits.anonymous_read, client_address(request), "too many requests; slow down")
    if caller is not None:
        try:
            return resolve_user(caller, user_ref, store), FULL
        except PermissionDeniedException:
            pass  # another user's data: maybe shared publicly, checked below
    if user_ref == "current":
        raise NotAuthorizedException("Unauthorized")
    target = store.find_user(user_ref)
    if target is None or target.is_disabled:
        raise NotFoundException("user not found")
    visibility = public_visibility(target)
    if visibility is None:
        raise PermissionDeniedException("this user does not share their stats")
    return target, visibility
