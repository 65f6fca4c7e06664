"""Teams in SQLite (`teams`, `team_members`, `team_invites`). Who may do what is decided above the store
(hackatime_lite.teams); here each operation is one transaction, and joining spends an invite use in the same
transaction that adds the member, so a code is never spent twice.

`SQLiteTeams` adds the StoreBackend's team methods to SQLiteStore (a base class of it).
"""

from __future__ import annotations

import secrets
import sqlite3
import time
import uuid
from typing import Any

import sqlite_utils

from hackatime_lite.errors import ConflictError, NotFoundError
from hackatime_lite.store import rules
from hackatime_lite.store.interface import UserError
from hackatime_lite.store.records import TEAM_ROLES, Team, TeamInvite, TeamMember
from hackatime_lite.store.sqlite.db import SQLiteDatabase

_TEAM = "SELECT id, public_id, name, created_by, created_at, modified_at FROM teams"
_MEMBER = ("SELECT m.team_id, m.user_id, u.public_id, u.username, u.display_name, m.role, m.shares, m.joined_at "
           "FROM team_members m JOIN users u ON u.id = m.user_id")
_INVITE = ("SELECT id, team_id, code_hint, created_by, created_at, expires_at, max_uses, uses, revoked_at "
           "FROM team_invites")
MAX_TEAM_NAME = 100
INVALID_CODE = "this team invite is not valid (unknown, used up, expired or revoked)"

Conn = sqlite3.Connection | sqlite_utils.Database


def check_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_TEAM_NAME:
        raise UserError(f"a team name needs 1-{MAX_TEAM_NAME} characters")
    return name


def _team(row: Any) -> Team:
    return Team(id=row[0], public_id=row[1], name=row[2], created_by=row[3], created_at=row[4], modified_at=row[5])


def _member(row: Any) -> TeamMember:
    return TeamMember(team_id=row[0], user_id=row[1], public_id=row[2], username=row[3], display_name=row[4],
                      role=row[5], shares=bool(row[6]), joined_at=row[7])


def _invite(row: Any) -> TeamInvite:
    return TeamInvite(id=row[0], team_id=row[1], code_hint=row[2], created_by=row[3], created_at=row[4],
                      expires_at=row[5], max_uses=row[6], uses=row[7], revoked_at=row[8])


def get_team(conn: Conn, team_ref: str | int) -> Team | None:
    column = "id" if isinstance(team_ref, int) else "public_id"
    row = conn.execute(f"{_TEAM} WHERE {column} = ?", (team_ref,)).fetchone()
    return _team(row) if row else None


def create_team(db: sqlite_utils.Database, name: str, owner_id: int, now: float) -> Team:
    public_id = str(uuid.uuid4())
    db.execute("INSERT INTO teams (public_id, name, created_by, created_at, modified_at) VALUES (?, ?, ?, ?, ?)",
               (public_id, check_name(name), owner_id, now, now))
    team = get_team(db, public_id)
    assert team is not None  # just inserted in this transaction
    db.execute("INSERT INTO team_members (team_id, user_id, role, shares, joined_at) VALUES (?, ?, 'owner', 0, ?)",
               (team.id, owner_id, now))
    return team


def user_teams(conn: Conn, user_id: int) -> list[Team]:
    rows = conn.execute(f"{_TEAM} WHERE id IN (SELECT team_id FROM team_members WHERE user_id = ?) ORDER BY id",
                        (user_id,)).fetchall()
    return [_team(row) for row in rows]


def team_members(conn: Conn, team_id: int) -> list[TeamMember]:
    rows = conn.execute(f"{_MEMBER} WHERE m.team_id = ? ORDER BY u.username COLLATE NOCASE", (team_id,)).fetchall()
    return [_member(row) for row in rows]


def team_member(conn: Conn, team_id: int, user_id: int) -> TeamMember | None:
    row = conn.execute(f"{_MEMBER} WHERE m.team_id = ? AND m.user_id = ?", (team_id, user_id)).fetchone()
    return _member(row) if row else None


def create_invite(db: sqlite_utils.Database, team_id: int, created_by: int | None, max_uses: int,
                  valid_days: float | None, now: float) -> tuple[TeamInvite, str]:
    rules.check_invite(max_uses, valid_days)
    if get_team(db, team_id) is None:
        raise NotFoundError("no such team")
    code = secrets.token_urlsafe(12)
    cursor = db.execute(
        "INSERT INTO team_invites (team_id, code_hash, code_hint, created_by, created_at, expires_at, max_uses) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (team_id, rules.hash_token(code), code[:4], created_by, now, now + valid_days * 86400 if valid_days else None,
         max_uses))
    row = db.execute(f"{_INVITE} WHERE id = ?", (cursor.lastrowid,)).fetchone()
    return _invite(row), code


def team_invites(conn: Conn, team_id: int) -> list[TeamInvite]:
    return [_invite(row) for row in conn.execute(f"{_INVITE} WHERE team_id = ? ORDER BY id DESC", (team_id,))]


def revoke_invite(db: sqlite_utils.Database, team_id: int, invite_id: int, now: float) -> bool:
    cursor = db.execute("UPDATE team_invites SET revoked_at = ? WHERE id = ? AND team_id = ? AND revoked_at IS NULL",
                        (now, invite_id, team_id))
    return cursor.rowcount > 0


def join_team(db: sqlite_utils.Database, code: str, user_id: int, now: float) -> TeamMember:
    row = db.execute(f"{_INVITE} WHERE code_hash = ?", (rules.hash_token(code.strip()),)).fetchone()
    if row is None or not _invite(row).usable(now):
        raise UserError(INVALID_CODE)
    invite = _invite(row)
    if team_member(db, invite.team_id, user_id) is not None:
        raise ConflictError("you are already a member of this team")
    db.execute("INSERT INTO team_members (team_id, user_id, role, shares, joined_at) VALUES (?, ?, 'member', 0, ?)",
               (invite.team_id, user_id, now))
    db.execute("UPDATE team_invites SET uses = uses + 1 WHERE id = ?", (invite.id,))
    member = team_member(db, invite.team_id, user_id)
    assert member is not None  # just inserted in this transaction
    return member


def update_member(db: sqlite_utils.Database, team_id: int, user_id: int, role: str | None,
                  shares: bool | None) -> TeamMember:
    if role is not None and role not in TEAM_ROLES:
        raise UserError(f"role must be one of {', '.join(TEAM_ROLES)}")
    if team_member(db, team_id, user_id) is None:
        raise NotFoundError("no such team member")
    if role is not None:
        db.execute("UPDATE team_members SET role = ? WHERE team_id = ? AND user_id = ?", (role, team_id, user_id))
    if shares is not None:
        db.execute("UPDATE team_members SET shares = ? WHERE team_id = ? AND user_id = ?",
                   (int(shares), team_id, user_id))
    _check_owner_left(db, team_id)
    member = team_member(db, team_id, user_id)
    assert member is not None  # checked above, in this transaction
    return member


def _check_owner_left(db: sqlite_utils.Database, team_id: int) -> None:
    """A team keeps at least one owner while it has members (the change is rolled back otherwise)."""
    members, owners = db.execute("SELECT COUNT(*), SUM(role = 'owner') FROM team_members WHERE team_id = ?",
                                 (team_id,)).fetchone()
    if members and not owners:
        raise ConflictError("a team needs an owner: make another member owner first")


def remove_member(db: sqlite_utils.Database, team_id: int, user_id: int) -> bool:
    removed = db.execute("DELETE FROM team_members WHERE team_id = ? AND user_id = ?", (team_id, user_id)).rowcount
    _check_owner_left(db, team_id)
    return removed > 0


def delete_team(db: sqlite_utils.Database, team_id: int) -> bool:
    return db.execute("DELETE FROM teams WHERE id = ?", (team_id,)).rowcount > 0


class SQLiteTeams(SQLiteDatabase):
    """The StoreBackend's team methods on the SQLite file (reads on this thread's reader, writes as one job)."""

    def create_team(self, name: str, owner_id: int, *, now: float | None = None) -> Team:
        moment = time.time() if now is None else now
        return self.write(lambda db: create_team(db, name, owner_id, moment))

    def get_team(self, team_ref: str | int) -> Team | None:
        return get_team(self.reader(), team_ref)

    def user_teams(self, user_id: int) -> list[Team]:
        return user_teams(self.reader(), user_id)

    def team_members(self, team_id: int) -> list[TeamMember]:
        return team_members(self.reader(), team_id)

    def team_member(self, team_id: int, user_id: int) -> TeamMember | None:
        return team_member(self.reader(), team_id, user_id)

    def create_team_invite(self, team_id: int, created_by: int | None, *, max_uses: int = 1,
                           valid_days: float | None = 7, now: float | None = None) -> tuple[TeamInvite, str]:
        moment = time.time() if now is None else now
        return self.write(lambda db: create_invite(db, team_id, created_by, max_uses, valid_days, moment))

    def team_invites(self, team_id: int) -> list[TeamInvite]:
        return team_invites(self.reader(), team_id)

    def revoke_team_invite(self, team_id: int, invite_id: int, *, now: float | None = None) -> bool:
        moment = time.time() if now is None else now
        return self.write(lambda db: revoke_invite(db, team_id, invite_id, moment))

    def join_team(self, code: str, user_id: int, *, now: float | None = None) -> TeamMember:
        moment = time.time() if now is None else now
        return self.write(lambda db: join_team(db, code, user_id, moment))

    def update_team_member(self, team_id: int, user_id: int, *, role: str | None = None,
                           shares: bool | None = None) -> TeamMember:
        return self.write(lambda db: update_member(db, team_id, user_id, role, shares))

    def remove_team_member(self, team_id: int, user_id: int) -> bool:
        return self.write(lambda db: remove_member(db, team_id, user_id))

    def delete_team(self, team_id: int) -> bool:
        return self.write(lambda db: delete_team(db, team_id))
