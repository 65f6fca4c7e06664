"""Who may change a user's trust or admin level, and the change itself (recorded in the audit log by the store).

Hackatime's rules (app/models/user.rb), with our level names: viewers read the admin pages but change nothing;
an admin may set the trust level of a user they outrank; only a superadmin changes admin levels, never above
their own; nobody changes their own levels. The operator's CLI (no acting user) may do anything: it is how the
first superadmin is made. Convicted users are left out of every leaderboard at the next build, suspected ones
are hidden from the boards others see and never told (`public_trust_for`).
"""

from __future__ import annotations

from hackatime_lite.errors import ForbiddenError, NotFoundError
from hackatime_lite.models import User
from hackatime_lite.store import StoreBackend, UserError
from hackatime_lite.store.records import ADMIN_LEVELS, TRUST_LEVELS, AuditEntry, public_trust

READ_LEVELS = ("viewer", "admin", "superadmin")
FIELDS = {"trust": "trust_level", "trust_level": "trust_level", "admin": "admin_level", "admin_level": "admin_level"}


def rank(level: str) -> int:
    return ADMIN_LEVELS.index(level) if level in ADMIN_LEVELS else 0


def require_reader(store: StoreBackend, user: User) -> str:
    """The caller's admin level when it may read the admin views (viewer and up), else ForbiddenError."""
    level = store.admin_level(user.id)
    if level not in READ_LEVELS:
        raise ForbiddenError("administrators only")
    return level


def check_change(store: StoreBackend, actor: User | None, target: User, field: str, value: str) -> None:
    """ForbiddenError unless `actor` may set `target`'s `field` to `value` (UserError for a bad level)."""
    if field == "trust_level" and value not in TRUST_LEVELS:
        raise UserError(f"trust level must be one of {', '.join(TRUST_LEVELS)}")
    if field == "admin_level" and value not in ADMIN_LEVELS:
        raise UserError(f"admin level must be one of {', '.join(ADMIN_LEVELS)}")
    if actor is None:
        return
    mine = store.admin_level(actor.id)
    if mine not in ("admin", "superadmin"):
        raise ForbiddenError("viewers can read but not change levels")
    if actor.id == target.id:
        raise ForbiddenError("you cannot change your own levels")
    if rank(mine) <= rank(store.admin_level(target.id)):
        raise ForbiddenError("you can only change the levels of users below your own admin level")
    if field == "admin_level" and (mine != "superadmin" or rank(value) > rank(mine)):
        raise ForbiddenError("only a superadmin changes admin levels, up to their own")


def change_level(store: StoreBackend, actor: User | None, target_ref: str, field: str, value: str, *,
                 reason: str | None = None, now: float | None = None) -> AuditEntry | None:
    """Check and apply one change; the audit entry, or None when the user already had that level."""
    column = FIELDS.get(field)
    if column is None:
        raise UserError("field must be trust_level or admin_level")
    target = store.find_user(target_ref.strip())
    if target is None:
        raise NotFoundError("no such user")
    value = value.strip().lower()
    check_change(store, actor, target, column, value)
    return store.set_user_level(target.id, column, value, actor_id=actor.id if actor else None, reason=reason,
                                now=now)


def public_trust_for(user: User) -> str:
    """What a user is shown of their own trust level: a suspected user sees "unscored" (never told)."""
    level = public_trust(user.trust_level)
    return "unscored" if level == "suspected" else level


def hidden_from_boards(user: User, viewer_id: int | None) -> bool:
    """Suspected users are left off the boards others see, but still see themselves there."""
    return public_trust(user.trust_level) == "suspected" and user.id != viewer_id
