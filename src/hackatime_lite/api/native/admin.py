"""The admin API for trust and admin levels (accounts/trust.py) and their audit log.

`GET /api/native/v1/admin/users` and `GET /api/native/v1/admin/audit` answer viewers and up;
`POST /api/native/v1/admin/users/{user}/trust_level` and `…/admin_level` (JSON `{"level", "reason"}`) change a
level and answer the audit entry (`null` when the user already had it); a viewer's attempt is 403."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import msgspec
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK

from hackatime_lite.accounts import trust
from hackatime_lite.api import params
from hackatime_lite.api.access import owner_write
from hackatime_lite.api.auth import authenticate
from hackatime_lite.api.errors import BadRequest
from hackatime_lite.api.openapi import KEYED, documented, json_body, param, struct_schema
from hackatime_lite.context import AppContext
from hackatime_lite.store.records import public_trust

TAGS = ["admin"]
BASE = "/api/native/v1/admin"
NOT_ADMIN = (403, "the caller is not an administrator (viewers may read only), or may not change this user")


class LevelBody(msgspec.Struct, kw_only=True):
    level: str
    reason: str | None = None


LEVEL_BODY = json_body(struct_schema(LevelBody), "`level` (trust: unscored, trusted, suspected, convicted; admin: "
                                                 "none, viewer, admin, superadmin) and an optional `reason`",
                       required=True)


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


@get(f"{BASE}/users", tags=TAGS, **documented(KEYED, NOT_ADMIN))
@params.in_thread
def admin_users(request: Request) -> dict[str, Any]:
    """Every user with their trust and admin level."""
    ctx = _ctx(request)
    trust.require_reader(ctx.store, authenticate(request, ctx.store).user)
    levels = ctx.store.admin_levels()
    return {"data": [{"id": u.id, "username": u.username, "trust_level": public_trust(u.trust_level),
                      "admin_level": levels.get(u.id, "none"), "is_disabled": u.is_disabled}
                     for u in ctx.store.list_users()]}


@get(f"{BASE}/audit", tags=TAGS, **documented(KEYED, NOT_ADMIN, (400, "a bad parameter"), query=(
    param("user", "only changes to this user (username or id)"),
    param("limit", "entries per page (default 100)", type="integer", minimum=1, maximum=1000),
    param("offset", "entries to skip", type="integer", minimum=0, maximum=1_000_000))))
@params.in_thread
def admin_audit(request: Request) -> dict[str, Any]:
    """The audit log of level changes, newest first."""
    ctx = _ctx(request)
    trust.require_reader(ctx.store, authenticate(request, ctx.store).user)
    user_id = None
    ref = params.text(request, "user", max_length=100)
    if ref:
        found = ctx.store.find_user(ref)
        if found is None:
            return {"data": []}
        user_id = found.id
    limit = params.integer(request, "limit", 100, maximum=1000)
    offset = params.integer(request, "offset", 0, minimum=0)
    return {"data": msgspec.to_builtins(ctx.store.audit_log(user_id=user_id, limit=limit, offset=offset))}


async def _change(request: Request, user: str, field: str) -> dict[str, Any]:
    ctx = _ctx(request)
    caller, _ = await anyio.to_thread.run_sync(owner_write, request, ctx.store, "current")
    try:
        body = msgspec.json.decode(await request.body(), type=LevelBody)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadRequest(f"the body must be {{\"level\": …, \"reason\": …}}: {exc}") from exc

    def run() -> dict[str, Any]:
        trust.require_reader(ctx.store, caller.user)
        entry = trust.change_level(ctx.store, caller.user, user, field, body.level, reason=body.reason,
                                   now=ctx.clock())
        return {"data": msgspec.to_builtins(entry)}

    return await anyio.to_thread.run_sync(run)


@post(f"{BASE}/users/{{user:str}}/trust_level", tags=TAGS, status_code=HTTP_200_OK,
      **documented(KEYED, NOT_ADMIN, (400, "a bad level or body"), (404, "no such user"), body=LEVEL_BODY))
async def set_trust_level(request: Request, user: FromPath[str]) -> dict[str, Any]:
    """Set a user's trust level (admins; convicted users leave every leaderboard at its next build)."""
    return await _change(request, user, "trust_level")


@post(f"{BASE}/users/{{user:str}}/admin_level", tags=TAGS, status_code=HTTP_200_OK,
      **documented(KEYED, NOT_ADMIN, (400, "a bad level or body"), (404, "no such user"), body=LEVEL_BODY))
async def set_admin_level(request: Request, user: FromPath[str]) -> dict[str, Any]:
    """Set a user's admin level (superadmins, up to their own level)."""
    return await _change(request, user, "admin_level")


HANDLERS = [admin_users, admin_audit, set_trust_level, set_admin_level]
