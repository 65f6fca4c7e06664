"""Trust and admin levels with their audit log in PostgreSQL (the twin of store/sqlite/trust.py): a change and
its audit entry are one transaction; the user's row is locked first so two nodes changing the same user
record the old → new steps in the order they happened.

`PostgresTrust` adds the StoreBackend's trust methods to PostgresStore (a base class of it).
"""

from __future__ import annotations

import time
from typing import Any

from hackatime_lite.errors import NotFoundError
from hackatime_lite.store.postgres.base import Connection, execute, one, rows
from hackatime_lite.store.postgres.db import PostgresDatabase
from hackatime_lite.store.records import AuditEntry, effective_admin_level, public_trust, stored_trust
from hackatime_lite.store.sqlite.trust import check_level

_AUDIT_COLUMNS = ("id", "actor_id", "actor_name", "target_id", "target_name", "field", "old_value", "new_value",
                  "reason", "created_at")


def _levels(conn: Connection, user_id: int, *, lock: bool = False) -> tuple[str, str, str] | None:
    found = one(conn, "SELECT u.username, u.trust_level, u.is_admin, a.level FROM users u LEFT JOIN admin_levels a "
                      "ON a.user_id = u.id WHERE u.id = %s" + (" FOR UPDATE OF u" if lock else ""), (user_id,))
    if found is None:
        return None
    return found[0], public_trust(found[1]), effective_admin_level(bool(found[2]), found[3])


def admin_level(conn: Connection, user_id: int) -> str:
    found = _levels(conn, user_id)
    return found[2] if found else "none"


def admin_levels(conn: Connection) -> dict[int, str]:
    found = rows(conn, "SELECT u.id, u.is_admin, a.level FROM users u LEFT JOIN admin_levels a ON a.user_id = u.id")
    return {row[0]: effective_admin_level(bool(row[1]), row[2]) for row in found}


def set_level(conn: Connection, user_id: int, field: str, value: str, *, actor_id: int | None,
              reason: str | None, now: float) -> AuditEntry | None:
    check_level(field, value)
    found = _levels(conn, user_id, lock=True)
    if found is None:
        raise NotFoundError("no such user")
    username, trust, admin = found
    old = trust if field == "trust_level" else admin
    if old == value:
        return None
    if field == "trust_level":
        execute(conn, "UPDATE users SET trust_level = %s, updated_at = %s WHERE id = %s",
                (stored_trust(value), now, user_id))
    else:
        execute(conn, "UPDATE users SET is_admin = %s, updated_at = %s WHERE id = %s",
                (int(value in ("admin", "superadmin")), now, user_id))
        if value in ("viewer", "superadmin"):
            execute(conn, "INSERT INTO admin_levels (user_id, level, updated_at) VALUES (%s, %s, %s) ON CONFLICT "
                          "(user_id) DO UPDATE SET level = excluded.level, updated_at = excluded.updated_at",
                    (user_id, value, now))
        else:
            execute(conn, "DELETE FROM admin_levels WHERE user_id = %s", (user_id,))
    actor_name = "cli"
    if actor_id is not None:
        actor = one(conn, "SELECT username FROM users WHERE id = %s", (actor_id,))
        if actor is None:
            raise NotFoundError("no such acting user")
        actor_name = actor[0]
    note = (reason or "").strip()[:500] or None
    new_id = one(conn, "INSERT INTO audit_log (actor_id, actor_name, target_id, target_name, field, old_value, "
                       "new_value, reason, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                 (actor_id, actor_name, user_id, username, field, old, value, note, now))
    assert new_id is not None  # RETURNING of a successful INSERT
    return AuditEntry(id=new_id[0], actor_id=actor_id, actor_name=actor_name, target_id=user_id,
                      target_name=username, field=field, old_value=old, new_value=value, reason=note, created_at=now)


def audit_log(conn: Connection, *, user_id: int | None, limit: int, offset: int) -> list[AuditEntry]:
    sql, params = f"SELECT {', '.join(_AUDIT_COLUMNS)} FROM audit_log", list[Any]()
    if user_id is not None:
        sql += " WHERE target_id = %s"
        params.append(user_id)
    found = rows(conn, sql + " ORDER BY id DESC LIMIT %s OFFSET %s", [*params, max(0, limit), max(0, offset)])
    return [AuditEntry(**dict(zip(_AUDIT_COLUMNS, row, strict=True))) for row in found]


class PostgresTrust(PostgresDatabase):
    """The StoreBackend's trust / admin level and audit methods on PostgreSQL."""

    _keys: Any  # PostgresStore's key cache: it holds users (is_admin), so a level change clears it

    def admin_level(self, user_id: int) -> str:
        return self.read(lambda c: admin_level(c, user_id))

    def admin_levels(self) -> dict[int, str]:
        return self.read(admin_levels)

    def set_user_level(self, user_id: int, field: str, value: str, *, actor_id: int | None,
                       reason: str | None = None, now: float | None = None) -> AuditEntry | None:
        moment = time.time() if now is None else now
        try:
            return self.write(lambda c: set_level(c, user_id, field, value, actor_id=actor_id, reason=reason,
                                                  now=moment))
        finally:
            self._keys.clear()

    def audit_log(self, *, user_id: int | None = None, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        return self.read(lambda c: audit_log(c, user_id=user_id, limit=limit, offset=offset))
