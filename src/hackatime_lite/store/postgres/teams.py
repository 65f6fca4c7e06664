"""Teams in PostgreSQL (the twin of store/sqlite/teams.py). Joining locks the invite row, so two nodes
spending the last use of a code at once admit one member.

`PostgresTeams` adds the StoreBackend's team methods to PostgresStore (a base class of it).
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any

from hackatime_lite.errors import ConflictError, NotFoundError
from hackatime_lite.store import rules
from hackatime_lite.store.interface import UserError
from hackatime_lite.store.postgres.base import Connection, execute, one, rows
from hackatime_lite.store.postgres.db import PostgresDatabase
from hackatime_lite.store.records import TEAM_ROLES, Team, TeamInvite, TeamMember
from hackatime_lite.store.sqlite.teams import INVALID_CODE, check_name

_TEAM = "SELECT id, public_id, name, created_by, created_at, modified_at FROM teams"
_MEMBER = ("SELECT m.team_id, m.user_id, u.public_id, u.username, u.display_name, m.role, m.shares, m.joined_at "
           "FROM team_members m JOIN users u ON u.id = m.user_id")
_INVITE = ("SELECT id, team_id, code_hint, created_by, created_at, expires_at, max_uses, uses, revoked_at "
           "FROM team_invites")


def _team(row: Any) -> Team:
    return Team(id=row[0], public_id=row[1], name=row[2], created_by=row[3], created_at=row[4], modified_at=row[5])


def _member(row: Any) -> TeamMember:
    return TeamMember(team_id=row[0], user_id=row[1], public_id=row[2], username=row[3], display_name=row[4],
                      role=row[5], shares=bool(row[6]), joined_at=row[7])


def _invite(row: Any) -> TeamInvite:
    return TeamInvite(id=row[0], team_id=row[1], code_hint=row[2], created_by=row[3], created_at=row[4],
                      expires_at=row[5], max_uses=row[6], uses=row[7], revoked_at=row[8])


def get_team(conn: Connection, team_ref: str | int) -> Team | None:
    if isinstance(team_ref, int):
        found = one(conn, f"{_TEAM} WHERE id = %s", (team_ref,))
    else:
        found = one(conn, f"{_TEAM} WHERE public_id = %s", (team_ref,))
    return _team(found) if found else None


def create_team(conn: Connection, name: str, owner_id: int, now: float) -> Team:
    found = one(conn, "INSERT INTO teams (public_id, name, created_by, created_at, modified_at) "
                      "VALUES (%s, %s, %s, %s, %s) RETURNING id, public_id, name, created_by, created_at, modified_at",
                (str(uuid.uuid4()), check_name(name), owner_id, now, now))
    assert found is not None  # RETURNING of a successful INSERT
    team = _team(found)
    execute(conn, "INSERT INTO team_members (team_id, user_id, role, shares, joined_at) VALUES (%s, %s, 'owner', 0, %s)",
            (team.id, owner_id, now))
    return team


def user_teams(conn: Connection, user_id: int) -> list[Team]:
    return [_team(row) for row in rows(conn, f"{_TEAM} WHERE id IN (SELECT team_id FROM team_members "
                                             "WHERE user_id = %s) ORDER BY id", (user_id,))]


def team_members(conn: Connection, team_id: int) -> list[TeamMember]:
    return [_member(row) for row in rows(conn, f"{_MEMBER} WHERE m.team_id = %s ORDER BY lower(u.username)",
                                         (team_id,))]


def team_member(conn: Connection, team_id: int, user_id: int) -> TeamMember | None:
    found = one(conn, f"{_MEMBER} WHERE m.team_id = %s AND m.user_id = %s", (team_id, user_id))
    return _member(found) if found else None


def create_invite(conn: Connection, team_id: int, created_by: int | None, max_uses: int,
                  valid_days: float | None, now: float) -> tuple[TeamInvite, str]:
    rules.check_invite(max_uses, valid_days)
    if get_team(conn, team_id) is None:
        raise NotFoundError("no such team")
    code = secrets.token_urlsafe(12)
    found = one(conn, "INSERT INTO team_invites (team_id, code_hash, code_hint, created_by, created_at, expires_at, "
                      "max_uses) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id, team_id, code_hint, created_by, "
                      "created_at, expires_at, max_uses, uses, revoked_at",
                (team_id, rules.hash_token(code), code[:4], created_by, now,
                 now + valid_days * 86400 if valid_days else None, max_uses))
    assert found is not None  # RETURNING of a successful INSERT
    return _invite(found), code


def team_invites(conn: Connection, team_id: int) -> list[TeamInvite]:
    return [_invite(row) for row in rows(conn, f"{_INVITE} WHERE team_id = %s ORDER BY id DESC", (team_id,))]


def revoke_invite(conn: Connection, team_id: int, invite_id: int, now: float) -> bool:
    return execute(conn, "UPDATE team_invites SET revoked_at = %s WHERE id = %s AND team_id = %s "
                         "AND revoked_at IS NULL", (now, invite_id, team_id)) > 0


def join_team(conn: Connection, code: str, user_id: int, now: float) -> TeamMember:
    found = one(conn, f"{_INVITE} WHERE code_hash = %s FOR UPDATE", (rules.hash_token(code.strip()),))
    if found is None or not _invite(found).usable(now):
        raise UserError(INVALID_CODE)
    invite = _invite(found)
    if team_member(conn, invite.team_id, user_id) is not None:
        raise ConflictError("you are already a member of this team")
    execute(conn, "INSERT INTO team_members (team_id, user_id, role, shares, joined_at) "
                  "VALUES (%s, %s, 'member', 0, %s)", (invite.team_id, user_id, now))
    execute(conn, "UPDATE team_invites SET uses = uses + 1 WHERE id = %s", (invite.id,))
    member = team_member(conn, invite.team_id, user_id)
    assert member is not None  # just inserted in this transaction
    return member


def _check_owner_left(conn: Connection, team_id: int) -> None:
    counts = one(conn, "SELECT COUNT(*), COUNT(*) FILTER (WHERE role = 'owner') FROM team_members "
                       "WHERE team_id = %s", (team_id,))
    if counts and counts[0] and not counts[1]:
        raise ConflictError("a team needs an owner: make another member owner first")


def update_member(conn: Connection, team_id: int, user_id: int, role: str | None,
                  shares: bool | None) -> TeamMember:
    if role is not None and role not in TEAM_ROLES:
        raise UserError(f"role must be one of {', '.join(TEAM_ROLES)}")
    # Locks the team's rows: two nodes demoting the last two owners at once cannot both pass the check.
    rows(conn, "SELECT 1 FROM team_members WHERE team_id = %s FOR UPDATE", (team_id,))
    if team_member(conn, team_id, user_id) is None:
        raise NotFoundError("no such team member")
    if role is not None:
        execute(conn, "UPDATE team_members SET role = %s WHERE team_id = %s AND user_id = %s", (role, team_id, user_id))
    if shares is not None:
        execute(conn, "UPDATE team_members SET shares = %s WHERE team_id = %s AND user_id = %s",
                (int(shares), team_id, user_id))
    _check_owner_left(conn, team_id)
    member = team_member(conn, team_id, user_id)
    assert member is not None  # checked above, in this transaction
    return member


def remove_member(conn: Connection, team_id: int, user_id: int) -> bool:
    rows(conn, "SELECT 1 FROM team_members WHERE team_id = %s FOR UPDATE", (team_id,))
    removed = execute(conn, "DELETE FROM team_members WHERE team_id = %s AND user_id = %s", (team_id, user_id))
    _check_owner_left(conn, team_id)
    return removed > 0


class PostgresTeams(PostgresDatabase):
    """The StoreBackend's team methods on PostgreSQL."""

    def create_team(self, name: str, owner_id: int, *, now: float | None = None) -> Team:
        moment = time.time() if now is None else now
        return self.write(lambda c: create_team(c, name, owner_id, moment))

    def get_team(self, team_ref: str | int) -> Team | None:
        return self.read(lambda c: get_team(c, team_ref))

    def user_teams(self, user_id: int) -> list[Team]:
        return self.read(lambda c: user_teams(c, user_id))

    def team_members(self, team_id: int) -> list[TeamMember]:
        return self.read(lambda c: team_members(c, team_id))

    def team_member(self, team_id: int, user_id: int) -> TeamMember | None:
        return self.read(lambda c: team_member(c, team_id, user_id))

    def create_team_invite(self, team_id: int, created_by: int | None, *, max_uses: int = 1,
                           valid_days: float | None = 7, now: float | None = None) -> tuple[TeamInvite, str]:
        moment = time.time() if now is None else now
        return self.write(lambda c: create_invite(c, team_id, created_by, max_uses, valid_days, moment))

    def team_invites(self, team_id: int) -> list[TeamInvite]:
        return self.read(lambda c: team_invites(c, team_id))

    def revoke_team_invite(self, team_id: int, invite_id: int, *, now: float | None = None) -> bool:
        moment = time.time() if now is None else now
        return self.write(lambda c: revoke_invite(c, team_id, invite_id, moment))

    def join_team(self, code: str, user_id: int, *, now: float | None = None) -> TeamMember:
        moment = time.time() if now is None else now
        return self.write(lambda c: join_team(c, code, user_id, moment))

    def update_team_member(self, team_id: int, user_id: int, *, role: str | None = None,
                           shares: bool | None = None) -> TeamMember:
        return self.write(lambda c: update_member(c, team_id, user_id, role, shares))

    def remove_team_member(self, team_id: int, user_id: int) -> bool:
        return self.write(lambda c: remove_member(c, team_id, user_id))

    def delete_team(self, team_id: int) -> bool:
        return self.write(lambda c: execute(c, "DELETE FROM teams WHERE id = %s", (team_id,)) > 0)
