"""Trust and admin levels with their audit log in SQLite (`users.trust_level`, `users.is_admin`,
`admin_levels`, `audit_log`). Who may change what is decided above the store (accounts/trust.py); here a
change and its audit entry are one transaction, so no change is ever unrecorded.

`SQLiteTrust` adds the StoreBackend's trust methods to SQLiteStore (a base class of it).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import sqlite_utils

from hackatime_lite.errors import NotFoundError
from hackatime_lite.store.interface import UserError
from hackatime_lite.store.records import (
    ADMIN_LEVELS,
    TRUST_LEVELS,
    AuditEntry,
    effective_admin_level,
    public_trust,
    stored_trust,
)
from hackatime_lite.store.sqlite.db import SQLiteDatabase

_AUDIT_COLUMNS = ("id", "actor_id", "actor_name", "target_id", "target_name", "field", "old_value", "new_value",
                  "reason", "created_at")
LEVEL_FIELDS = ("trust_level", "admin_level")


def _levels(conn: sqlite3.Connection | sqlite_utils.Database, user_id: int) -> tuple[str, str, str] | None:
    """(username, public trust level, effective admin level) of a user, or None."""
    row = conn.execute("SELECT u.username, u.trust_level, u.is_admin, a.level FROM users u "
                       "LEFT JOIN admin_levels a ON a.user_id = u.id WHERE u.id = ?", (user_id,)).fetchone()
    if row is None:
        return None
    return row[0], public_trust(row[1]), effective_admin_level(bool(row[2]), row[3])


def admin_level(conn: sqlite3.Connection, user_id: int) -> str:
    found = _levels(conn, user_id)
    return found[2] if found else "none"


def admin_levels(conn: sqlite3.Connection) -> dict[int, str]:
    rows = conn.execute("SELECT u.id, u.is_admin, a.level FROM users u "
                        "LEFT JOIN admin_levels a ON a.user_id = u.id").fetchall()
    return {row[0]: effective_admin_level(bool(row[1]), row[2]) for row in rows}


def check_level(field: str, value: str) -> None:
    if field == "trust_level" and value not in TRUST_LEVELS:
        raise UserError(f"trust level must be one of {', '.join(TRUST_LEVELS)}")
    if field == "admin_level" and value not in ADMIN_LEVELS:
        raise UserError(f"admin level must be one of {', '.join(ADMIN_LEVELS)}")
    if field not in LEVEL_FIELDS:
        raise UserError(f"unknown level field {field!r}")


def set_level(db: sqlite_utils.Database, user_id: int, field: str, value: str, *, actor_id: int | None,
              reason: str | None, now: float) -> AuditEntry | None:
    check_level(field, value)
    found = _levels(db, user_id)
    if found is None:
        raise NotFoundError("no such user")
    username, trust, admin = found
    old = trust if field == "trust_level" else admin
    if old == value:
        return None
    if field == "trust_level":
        db.execute("UPDATE users SET trust_level = ?, updated_at = ? WHERE id = ?", (stored_trust(value), now, user_id))
    else:
        db.execute("UPDATE users SET is_admin = ?, updated_at = ? WHERE id = ?",
                   (int(value in ("admin", "superadmin")), now, user_id))
        if value in ("viewer", "superadmin"):
            db.execute("INSERT INTO admin_levels (user_id, level, updated_at) VALUES (?, ?, ?) ON CONFLICT(user_id) "
                       "DO UPDATE SET level = excluded.level, updated_at = excluded.updated_at", (user_id, value, now))
        else:
            db.execute("DELETE FROM admin_levels WHERE user_id = ?", (user_id,))
    actor_name = "cli"
    if actor_id is not None:
        row = db.execute("SELECT username FROM users WHERE id = ?", (actor_id,)).fetchone()
        if row is None:
            raise NotFoundError("no such acting user")
        actor_name = row[0]
    cursor = db.execute(
        "INSERT INTO audit_log (actor_id, actor_name, target_id, target_name, field, old_value, new_value, reason, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (actor_id, actor_name, user_id, username, field, old, value, (reason or "").strip()[:500] or None, now))
    return AuditEntry(id=int(cursor.lastrowid or 0), actor_id=actor_id, actor_name=actor_name, target_id=user_id,
                      target_name=username, field=field, old_value=old, new_value=value,
                      reason=(reason or "").strip()[:500] or None, created_at=now)


def audit_log(conn: sqlite3.Connection, *, user_id: int | None, limit: int, offset: int) -> list[AuditEntry]:
    sql, params = f"SELECT {', '.join(_AUDIT_COLUMNS)} FROM audit_log", list[Any]()
    if user_id is not None:
        sql += " WHERE target_id = ?"
        params.append(user_id)
    cursor = conn.execute(sql + " ORDER BY id DESC LIMIT ? OFFSET ?", [*params, max(0, limit), max(0, offset)])
    return [AuditEntry(**dict(zip(_AUDIT_COLUMNS, row, strict=True))) for row in cursor.fetchall()]


class SQLiteTrust(SQLiteDatabase):
    """The StoreBackend's trust / admin level and audit methods on the SQLite file."""

    _keys: Any  # SQLiteStore's key cache: it holds users (is_admin), so a level change clears it

    def admin_level(self, user_id: int) -> str:
        return admin_level(self.reader(), user_id)

    def admin_levels(self) -> dict[int, str]:
        return admin_levels(self.reader())

    def set_user_level(self, user_id: int, field: str, value: str, *, actor_id: int | None,
                       reason: str | None = None, now: float | None = None) -> AuditEntry | None:
        moment = time.time() if now is None else now
        try:
            return self.write(lambda db: set_level(db, user_id, field, value, actor_id=actor_id, reason=reason,
                                                   now=moment))
        finally:
            self._keys.clear()

    def audit_log(self, *, user_id: int | None = None, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        return audit_log(self.reader(), user_id=user_id, limit=limit, offset=offset)
