"""Invite codes for sign-up in PostgreSQL: shown once, stored as hashes, limited uses."""

from __future__ import annotations

import secrets
import time
from typing import Any

from hackatime_lite.models import User
from hackatime_lite.store import rules
from hackatime_lite.store.interface import UserError
from hackatime_lite.store.postgres.base import Connection, dicts, execute
from hackatime_lite.store.postgres.users import create_user, set_password
from hackatime_lite.store.records import Invite


def _invite(row: dict[str, Any]) -> Invite:
    data = dict(row)
    data.pop("code_hash", None)
    return Invite(**data)


def create_invite(conn: Connection, created_by: int | None, *, max_uses: int = 1, valid_days: float | None = 7,
                  note: str | None = None) -> tuple[Invite, str]:
    rules.check_invite(max_uses, valid_days)
    now = time.time()
    code = secrets.token_urlsafe(12)
    found = dicts(conn, """INSERT INTO web_invites (code_hash, code_hint, note, created_by, created_at, expires_at,
               max_uses) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *""",
                  (rules.hash_token(code.strip()), code[:4], (note or "").strip()[:200] or None, created_by, now,
                   now + valid_days * 86400 if valid_days else None, max_uses))
    return _invite(found[0]), code


def list_invites(conn: Connection) -> list[Invite]:
    return [_invite(row) for row in dicts(conn, "SELECT * FROM web_invites ORDER BY id DESC")]


def revoke_invite(conn: Connection, invite_id: int) -> None:
    execute(conn, "UPDATE web_invites SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
            (time.time(), invite_id))


def sign_up(conn: Connection, code: str, username: str, password: str, *, timezone: str = "UTC") -> User:
    """FOR UPDATE: two nodes redeeming the last use of one code at once cannot both get in."""
    now = time.time()
    found = dicts(conn, "SELECT * FROM web_invites WHERE code_hash = %s FOR UPDATE", (rules.hash_token(code.strip()),))
    if not found or not _invite(found[0]).usable(now):
        raise UserError("this invite code is not valid (unknown, used up, expired or revoked)")
    rules.check_password(password)
    user = create_user(conn, username, timezone=timezone)
    set_password(conn, user.id, password)
    execute(conn, "UPDATE web_invites SET uses = uses + 1, last_used_at = %s WHERE id = %s", (now, found[0]["id"]))
    return user
