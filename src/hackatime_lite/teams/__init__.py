"""Teams: who may do what, and the calls every transport makes (web pages, the WakaTime team routes, the CLI).

Roles: the owner (there is always one while the team has members) and admins manage the team (invites,
removing members); admins see every member's detail. Members see the team's totals, and the detail (time,
projects, languages, their place on the team boards) only of members who share it with the team — a
per-membership choice each member makes — and their own. Anyone who is not a member gets ForbiddenError (403)
for anything about a team; an unknown team id is NotFoundError (404).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from hackatime_lite.errors import ForbiddenError, NotFoundError
from hackatime_lite.models import User
from hackatime_lite.store import StoreBackend, UserError
from hackatime_lite.store.records import TEAM_ROLES, Team, TeamInvite, TeamMember

MANAGERS = ("owner", "admin")
JOIN_PATH = "/teams/join"


def manages(member: TeamMember) -> bool:
    return member.role in MANAGERS


def team_for(store: StoreBackend, user: User, team_ref: str) -> tuple[Team, TeamMember]:
    """The team and the user's membership; 404 for an unknown team, 403 for a non-member."""
    team = store.get_team(team_ref.strip())
    if team is None:
        raise NotFoundError("no such team")
    member = store.team_member(team.id, user.id)
    if member is None:
        raise ForbiddenError("you are not a member of this team")
    return team, member


def managed_team(store: StoreBackend, user: User, team_ref: str) -> tuple[Team, TeamMember]:
    team, member = team_for(store, user, team_ref)
    if not manages(member):
        raise ForbiddenError("only the team's owners and admins may do this")
    return team, member


def visible_ids(me: TeamMember, members: list[TeamMember]) -> set[int]:
    """Whose detail `me` may see: everyone for owners and admins, else those who share, and themselves."""
    if manages(me):
        return {m.user_id for m in members}
    return {m.user_id for m in members if m.shares or m.user_id == me.user_id}


def member_of(store: StoreBackend, team: Team, member_ref: str) -> TeamMember:
    """A member by username, public id or numeric id (404 when not on the team)."""
    ref = member_ref.strip()
    found = store.find_user(ref)
    member = store.team_member(team.id, found.id) if found is not None else None
    if member is None:
        raise NotFoundError("no such member of this team")
    return member


def visible_member(store: StoreBackend, user: User, team_ref: str, member_ref: str) -> tuple[Team, User]:
    """A member whose detail `user` may see (`current` is the caller), else 403."""
    team, me = team_for(store, user, team_ref)
    target = me if member_ref in ("current", str(user.id), user.public_id) or \
        member_ref.lower() == user.username.lower() else member_of(store, team, member_ref)
    if target.user_id not in visible_ids(me, [target]):
        raise ForbiddenError("this member does not share their detail with the team")
    found = store.get_user(target.user_id)
    if found is None:
        raise NotFoundError("no such member of this team")
    return team, found


def create_team(store: StoreBackend, user: User, name: str, *, now: float | None = None) -> Team:
    return store.create_team(name, user.id, now=now)


def create_invite(store: StoreBackend, user: User, team_ref: str, *, max_uses: int = 1,
                  valid_days: float | None = 7, now: float | None = None) -> tuple[Team, TeamInvite, str]:
    """A new invite (owners and admins) and its code, shown once."""
    team, _ = managed_team(store, user, team_ref)
    invite, code = store.create_team_invite(team.id, user.id, max_uses=max_uses, valid_days=valid_days, now=now)
    return team, invite, code


def join_link(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}{JOIN_PATH}?code={code}"


def code_of(code_or_link: str) -> str:
    """The code itself, or the one in a join link (`…/teams/join?code=…`)."""
    text = (code_or_link or "").strip()
    if "://" in text or text.startswith("/"):
        found = parse_qs(urlsplit(text).query).get("code")
        text = found[0].strip() if found else ""
    if not text or len(text) > 200:
        raise UserError("give a team invite code or link")
    return text


def join(store: StoreBackend, user: User, code_or_link: str, *, now: float | None = None) -> tuple[Team, TeamMember]:
    member = store.join_team(code_of(code_or_link), user.id, now=now)
    team = store.get_team(member.team_id)
    assert team is not None  # the membership was just made, so the team exists
    return team, member


def leave(store: StoreBackend, user: User, team_ref: str) -> Team:
    """Leave a team (the last owner must hand over first, or be its last member: the team then goes)."""
    team, _ = team_for(store, user, team_ref)
    if len(store.team_members(team.id)) == 1:
        store.delete_team(team.id)
    else:
        store.remove_team_member(team.id, user.id)
    return team


def remove_member(store: StoreBackend, user: User, team_ref: str, member_ref: str) -> TeamMember:
    """Owners remove anyone, admins remove members; yourself: use `leave`."""
    team, me = managed_team(store, user, team_ref)
    target = member_of(store, team, member_ref)
    if target.user_id == user.id:
        raise UserError("to remove yourself, leave the team")
    if target.role != "member" and me.role != "owner":
        raise ForbiddenError("only an owner removes owners and admins")
    store.remove_team_member(team.id, target.user_id)
    return target


def set_role(store: StoreBackend, user: User, team_ref: str, member_ref: str, role: str) -> TeamMember:
    """Owners set any role (there may be several owners); admins turn members into admins and back."""
    role = role.strip().lower()
    if role not in TEAM_ROLES:
        raise UserError(f"role must be one of {', '.join(TEAM_ROLES)}")
    team, me = managed_team(store, user, team_ref)
    target = member_of(store, team, member_ref)
    if me.role != "owner" and (role == "owner" or target.role == "owner"):
        raise ForbiddenError("only an owner gives or takes the owner role")
    return store.update_team_member(team.id, target.user_id, role=role)


def set_sharing(store: StoreBackend, user: User, team_ref: str, shares: bool) -> TeamMember:
    """The member's own choice: show their detail to the whole team, or only to its owners and admins."""
    team, _ = team_for(store, user, team_ref)
    return store.update_team_member(team.id, user.id, shares=shares)


def user_teams(store: StoreBackend, user: User) -> list[tuple[Team, TeamMember, int]]:
    """The user's teams with their membership and the member count."""
    found = []
    for team in store.user_teams(user.id):
        members = store.team_members(team.id)
        mine = next((m for m in members if m.user_id == user.id), None)
        if mine is not None:
            found.append((team, mine, len(members)))
    return found
