"""Invite codes for sign-up in SQLite: created by admins, shown once, stored as hashes, limited uses."""

from __future__ import annotations

import secrets
import sqlite3
import time
from typing import Any

import sqlite_utils

from hackatime_lite.models import User
from hackatime_lite.store import rules
from hackatime_lite.store.interface import UserError
from hackatime_lite.store.records import Invite
from hackatime_lite.store.sqlite.users import create_user, set_password


def _hash(code: str) -> str:
    return rules.hash_token(code.strip())


def _invite(row: sqlite3.Row | dict[str, Any]) -> Invite:
    data = dict(row)
    data.pop("code_hash", None)
    return Invite(**data)


def create_invite(
    db: sqlite_utils.Database,
    created_by: int | None,
    *,
    max_uses: int = 1,
    valid_days: float | None = 7,
    note: str | None = None,
) -> tuple[Invite, str]:
    """A new invite and its code (shown to the admin once)."""
    rules.check_invite(max_uses, valid_days)
    now = time.time()
    code = secrets.token_urlsafe(12)
    db.execute(
        """INSERT INTO web_invites (code_hash, code_hint, note, created_by, created_at, expires_at, max_uses)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (
            _hash(code),
            code[:4],
            (note or "").strip()[:200] or None,
            created_by,
            now,
            now + valid_days * 86400 if valid_days else None,
            max_uses,
        ),
    )
    invite_id = db.execute("SELECT last_insert_rowid()").fetchone()[0]
    return list_invites(db, invite_id=invite_id)[0], code


def list_invites(
    conn: sqlite3.Connection | sqlite_utils.Database, *, invite_id: int | None = None
) -> list[Invite]:
    sql, params = "SELECT * FROM web_invites", tuple[int, ...]()
    if invite_id is not None:
        sql, params = sql + " WHERE id = ?", (invite_id,)
    cursor = conn.execute(sql + " ORDER BY id DESC", params)
    cursor.row_factory = sqlite3.Row
    return [_invite(row) for row in cursor.fetchall()]


def revoke_invite(db: sqlite_utils.Database, invite_id: int) -> None:
    db.execute(
        "UPDATE web_invites SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (time.time(), invite_id)
    )


def sign_up(
    db: sqlite_utils.Database, code: str, username: str, password: str, *, timezone: str = "UTC"
) -> User:
    """Create an account with an invite code, in one transaction: a code is never spent twice."""
    now = time.time()
    cursor = db.execute("SELECT * FROM web_invites WHERE code_hash = ?", (_hash(code),))
    cursor.row_factory = sqlite3.Row
    row = cursor.fetchone()
    if row is None or not _invite(row).usable(now):
        raise UserError("this invite code is not valid (unknown, used up, expired or revoked)")
    rules.check_password(password)  # before the account exists
    user = create_user(db, username, timezone=timezone)
    set_password(db, user.id, password)
    db.execute("UPDATE web_invites SET uses = uses + 1, last_used_at = ? WHERE id = ?", (now, row["id"]))
    return user
