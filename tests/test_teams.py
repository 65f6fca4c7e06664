"""Teams (issue 15 item 1): invite → join → the team dashboard's numbers equal the sum of the members' own
numbers (the oracle: each member's own status bar and summaries through the WakaTime API); a member who does
not share appears only inside the totals; non-members get 403 on every team route; the WakaTime team routes
answer in WakaTime's shapes.

One world for the module: root (the site admin, in no team), olga (owner, Berlin), pete (shares, New York),
quinn (does not share, UTC) and xavier (in no team), with coding on several days; a frozen clock.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from litestar.testing import TestClient

from hackatime_lite.api.wakatime import BASE_PATHS
from hackatime_lite.config import Settings
from hackatime_lite.errors import ConflictError
from hackatime_lite.ingest import IngestContext, ingest
from hackatime_lite.store import Store, UserError, open_store
from hackatime_lite.store import rules as store_rules
from hackatime_lite.teams.report import RANGES
from tests.app_pool import pooled_app
from tests.conftest import (
    Account,
    assert_world_backend,
    basic_auth,
    make_account,
    run_cli,
    world_settings,
)
from tests.web_helpers import give_password, login, post_form

pytestmark = pytest.mark.xdist_group("teams")

NOW = dt.datetime(2026, 3, 12, 15, 0, tzinfo=dt.UTC).timestamp()  # a Thursday afternoon in Europe
NATIVE = "/api/native/v1/teams"
ZONES = {"olga": "Europe/Berlin", "pete": "America/New_York", "quinn": "UTC"}
# (user, days ago, local hour, minutes, project, language)
SESSIONS = [
    ("olga", 0, 9, 50, "api", "Python"), ("olga", 1, 22, 130, "api", "Go"), ("olga", 6, 10, 30, "web", "Python"),
    ("olga", 20, 10, 45, "old", "Rust"),
    ("pete", 0, 8, 40, "web", "TypeScript"), ("pete", 2, 23, 90, "api", "Python"), ("pete", 9, 9, 25, "web", "Go"),
    ("quinn", 0, 11, 35, "secret", "Python"), ("quinn", 3, 14, 70, "api", "Python"),
]


def _beats(zone: str, days_ago: int, hour: int, minutes: int, project: str, language: str) -> list[dict[str, Any]]:
    local = dt.datetime.fromtimestamp(NOW, ZoneInfo(zone)).date() - dt.timedelta(days=days_ago)
    start = dt.datetime(local.year, local.month, local.day, hour, tzinfo=ZoneInfo(zone)).timestamp()
    return [{"entity": f"/src/{project}/x.{language.lower()}", "type": "file", "category": "coding",
             "project": project, "language": language, "time": start + 60 * i} for i in range(minutes + 1)
            if start + 60 * i < NOW]


@dataclass
class World:
    store: Store
    settings: Settings
    client: TestClient
    accounts: dict[str, Account]
    team: str
    invite_code: str

    def get(self, path: str, who: str, **params: Any) -> Any:
        return self.client.get(path, headers=basic_auth(self.accounts[who].key), params=params or None)

    def post(self, path: str, who: str, body: Any = None) -> Any:
        return self.client.post(path, headers=basic_auth(self.accounts[who].key), json=body)

    def dashboard(self, who: str, range_name: str) -> dict[str, Any]:
        response = self.get(f"{NATIVE}/{self.team}/dashboard", who, range=range_name)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[World]:
    settings = world_settings(tmp_path_factory.mktemp("teams"), request)
    settings.paths.ensure()
    with pytest.MonkeyPatch.context() as patch, open_store(settings) as store:
        assert_world_backend(store, request)
        patch.setattr(store_rules, "_password_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        accounts = {"root": make_account(store, "root")}
        for name in ("olga", "pete", "quinn", "xavier"):
            accounts[name] = make_account(store, name, timezone=ZONES.get(name, "UTC"))
        for name in ("olga", "pete", "xavier"):
            give_password(store, accounts[name].user.id)
        for name, *session in SESSIONS:
            beats = _beats(ZONES[name], *session)  # type: ignore[arg-type]
            assert all(r.error is None for r in ingest(store, beats, IngestContext(user=accounts[name].user, now=NOW)))
        with pooled_app(settings, store=store, clock=lambda: NOW, start_scheduler=False) as app, \
                TestClient(app, raise_server_exceptions=False) as client:
            headers = basic_auth(accounts["olga"].key)
            created = client.post(NATIVE, headers=headers, json={"name": "Core  team"})
            assert created.status_code == 201, created.text
            team = created.json()["data"]
            assert (team["name"], team["role"], team["member_count"]) == ("Core team", "owner", 1)
            invite = client.post(f"{NATIVE}/{team['id']}/invites", headers=headers, json={"max_uses": 2})
            assert invite.status_code == 201, invite.text
            code, link = invite.json()["data"]["code"], invite.json()["data"]["url"]
            assert link.endswith(f"/teams/join?code={code}")
            # One joins with the code, the other with the link; then the invite is used up.
            for who, given in (("pete", code), ("quinn", link)):
                joined = client.post(f"{NATIVE}/join", headers=basic_auth(accounts[who].key), json={"code": given})
                assert joined.status_code == 200 and joined.json()["data"]["role"] == "member", joined.text
            shared = client.post(f"{NATIVE}/{team['id']}/sharing", headers=basic_auth(accounts["pete"].key),
                                 json={"shares": True})
            assert shared.status_code == 200 and shared.json()["data"]["shares_with_team"] is True
            yield World(store, settings, client, accounts, team["id"], code)


def own(world: World, who: str, range_name: str) -> dict[str, Any]:
    response = world.get("/api/v1/users/current/summaries", who, range=range_name)
    assert response.status_code == 200, response.text
    return response.json()


def test_invites_are_limited_and_joining_twice_is_a_conflict(world: World) -> None:
    used_up = world.post(f"{NATIVE}/join", "xavier", {"code": world.invite_code})
    assert used_up.status_code == 400 and "not valid" in used_up.json()["error"]
    again = world.post(f"{NATIVE}/join", "pete", {"code": world.invite_code})
    assert again.status_code in (400, 409)
    team = world.store.get_team(world.team)
    assert team is not None
    invite, code = world.store.create_team_invite(team.id, world.accounts["olga"].user.id, valid_days=1, now=NOW)
    with pytest.raises(UserError):  # expired a day later
        world.store.join_team(code, world.accounts["xavier"].user.id, now=NOW + 86400 + 1)
    with pytest.raises(ConflictError):  # a member already: nothing spent
        world.store.join_team(code, world.accounts["pete"].user.id, now=NOW)
    assert [i.uses for i in world.store.team_invites(team.id) if i.id == invite.id] == [0]
    assert world.store.revoke_team_invite(team.id, invite.id, now=NOW)
    assert world.post(f"{NATIVE}/join", "xavier", {"code": code}).status_code == 400
    # Members cannot invite; the last owner cannot leave while others stay.
    assert world.post(f"{NATIVE}/{world.team}/invites", "pete", {}).status_code == 403
    assert world.post(f"{NATIVE}/{world.team}/leave", "olga").status_code == 409
    assert world.post(f"{NATIVE}/{world.team}/members/olga/role", "pete", {"role": "member"}).status_code == 403
    # Managers remove members; members remove nobody.
    _, code = world.store.create_team_invite(team.id, world.accounts["olga"].user.id, now=NOW)
    assert world.post(f"{NATIVE}/join", "xavier", {"code": code}).status_code == 200
    assert world.post(f"{NATIVE}/{world.team}/members/xavier/remove", "pete").status_code == 403
    removed = world.post(f"{NATIVE}/{world.team}/members/xavier/remove", "olga")
    assert removed.status_code == 200 and removed.json()["data"]["username"] == "xavier"
    assert world.store.team_member(team.id, world.accounts["xavier"].user.id) is None


@pytest.mark.parametrize("range_name", [
    pytest.param(name, marks=[pytest.mark.slow] if name == "last_7_days" else []) for name in RANGES])
def test_dashboard_numbers_are_the_sum_of_the_members_own_numbers(world: World, range_name: str) -> None:
    board = world.dashboard("olga", range_name)  # the owner sees every member
    mine = {who: own(world, who, range_name) for who in ("olga", "pete", "quinn")}
    assert board["total_seconds"] == pytest.approx(sum(m["cumulative_total"]["seconds"] for m in mine.values()))
    assert board["total_seconds"] > 0 and board["hidden_members"] == 0
    days: dict[str, float] = defaultdict(float)
    projects: dict[str, float] = defaultdict(float)
    languages: dict[str, float] = defaultdict(float)
    for summary in mine.values():
        for day in summary["data"]:
            days[day["range"]["date"]] += day["grand_total"]["total_seconds"]
            for entry in day["projects"]:
                projects[entry["name"]] += entry["total_seconds"]
            for entry in day["languages"]:
                languages[entry["name"]] += entry["total_seconds"]
    assert {d["date"]: d["total_seconds"] for d in board["days"]} == pytest.approx(dict(days))
    assert {p["name"]: p["total_seconds"] for p in board["projects"]} == pytest.approx(
        {k: v for k, v in projects.items() if v > 0})
    assert {lang["name"]: lang["total_seconds"] for lang in board["languages"]} == pytest.approx(
        {k: v for k, v in languages.items() if v > 0})
    members = {m["username"]: m["total_seconds"] for m in board["members"]}
    assert members == pytest.approx({who: m["cumulative_total"]["seconds"] for who, m in mine.items()})
    # The team's own board for this range ranks the same numbers.
    expected = sorted(((who, m["cumulative_total"]["seconds"]) for who, m in mine.items()
                       if m["cumulative_total"]["seconds"] > 0), key=lambda r: (-int(r[1]), r[0]))
    ranked = board["boards"][range_name]
    assert [e["username"] for e in ranked] == [who for who, _ in expected]
    assert [e["total_seconds"] for e in ranked] == pytest.approx([seconds for _, seconds in expected])
    if range_name == "today":  # and today is each member's own status bar
        bars = [world.get("/api/v1/users/current/statusbar/today", who).json()["data"]["grand_total"]["total_seconds"]
                for who in mine]
        assert board["total_seconds"] == pytest.approx(sum(bars))
        python = {e["username"]: e["total_seconds"] for e in board["language_boards"]["Python"]}
        assert python == pytest.approx({who: sum(e["total_seconds"] for d in m["data"] for e in d["languages"]
                                                 if e["name"] == "Python") for who, m in mine.items()
                                        if any(e["name"] == "Python" for d in m["data"] for e in d["languages"])})


def test_a_member_who_does_not_share_is_only_inside_the_total(world: World) -> None:
    full = world.dashboard("olga", "last_30_days")
    seen = world.dashboard("pete", "last_30_days")  # a plain member: sees pete (shares) only
    assert [m["username"] for m in seen["members"]] == ["pete"]
    assert seen["hidden_members"] == 2 and seen["total_seconds"] == pytest.approx(full["total_seconds"])
    listed = {e["username"] for board in (*seen["boards"].values(), *seen["language_boards"].values()) for e in board}
    assert listed == {"pete"}
    # Member summaries: pete's are open to the team; quinn's only to the managers and quinn.
    base = f"/api/v1/users/current/teams/{world.team}/members"
    assert world.get(f"{base}/quinn/summaries", "pete", range="last_7_days").status_code == 403
    for who, member in (("quinn", "pete"), ("olga", "quinn"), ("quinn", "current")):
        response = world.get(f"{base}/{member}/summaries", who, range="last_7_days")
        assert response.status_code == 200, (who, member, response.text)
    # The web dashboard shows the same.
    login(world.client, "pete")
    page = world.client.get(f"/teams/{world.team}?range=last_30_days")
    assert page.status_code == 200 and 'data-member="quinn"' not in page.text and 'data-member="pete"' in page.text
    assert f'id="team-total" data-seconds="{seen["total_seconds"]}"' in page.text
    assert 'data-count="2"' in page.text
    world.client.cookies.clear()


def _team_paths(world: World) -> list[tuple[str, str, Any]]:
    """(method, path, body) of every API route about this team, on every base path."""
    found: list[tuple[str, str, Any]] = []
    for base in BASE_PATHS:
        found += [("GET", f"{base}/users/current/teams/{world.team}/members", None),
                  ("GET", f"{base}/users/current/teams/{world.team}/members/pete/summaries?range=today", None)]
    found += [("GET", f"{NATIVE}/{world.team}/dashboard", None),
              ("POST", f"{NATIVE}/{world.team}/invites", {"max_uses": 1}),
              ("POST", f"{NATIVE}/{world.team}/leave", None),
              ("POST", f"{NATIVE}/{world.team}/members/pete/role", {"role": "admin"}),
              ("POST", f"{NATIVE}/{world.team}/members/pete/remove", None),
              ("POST", f"{NATIVE}/{world.team}/sharing", {"shares": True})]
    return found


def test_non_members_get_403_on_every_team_route(world: World) -> None:
    from hackatime_lite.api.wakatime import teams as team_api
    from hackatime_lite.web import teams as team_pages

    paths = _team_paths(world)
    from hackatime_lite.api.wakatime import ALIASES, CANONICAL_BASE

    declared = {p for h in (*team_api.HANDLERS, *team_pages.HANDLERS) for p in h.paths if "{team" in p}
    # A WakaTime route is registered under CANONICAL_BASE and served under every other base path (aliases).
    declared |= {base + p[len(CANONICAL_BASE):] for p in declared if p.startswith(CANONICAL_BASE)
                 for base, suffixes in ALIASES.items() if p[len(CANONICAL_BASE):] in suffixes}
    # Every declared team route is exercised (API here, web below).
    exercised = {path.split("?")[0].replace(world.team, "{team:str}").replace("/pete/", "/{member:str}/")
                 .replace("/current/", "/{user:str}/") for _, path, _ in paths}
    assert exercised == {p for p in declared if p.startswith("/api")}
    for method, path, body in paths:
        response = world.client.request(method, path, headers=basic_auth(world.accounts["xavier"].key), json=body)
        assert response.status_code == 403, (method, path, response.status_code, response.text)
        assert "error" in response.json()
    login(world.client, "xavier")
    web = [("GET", f"/teams/{world.team}", {}), ("POST", f"/teams/{world.team}/invites", {"max_uses": "1"}),
           ("POST", f"/teams/{world.team}/leave", {}), ("POST", f"/teams/{world.team}/sharing", {"shares": "1"}),
           ("POST", f"/teams/{world.team}/members/pete/role", {"role": "admin"}),
           ("POST", f"/teams/{world.team}/members/pete/remove", {})]
    assert {path.replace(world.team, "{team_id:uuid}").replace("/pete/", "/{member:str}/") for _, path, _ in web} \
        == {p for p in declared if not p.startswith("/api")}
    for method, path, form in web:
        response = world.client.get(path) if method == "GET" else post_form(world.client, path, form)
        assert response.status_code == 403, (method, path, response.status_code)
    world.client.cookies.clear()
    team = world.store.get_team(world.team)
    assert team is not None and len(world.store.team_members(team.id)) == 3  # nothing changed
    # An unknown team is 404 for everyone.
    assert world.get(f"{NATIVE}/00000000-0000-4000-8000-000000000000/dashboard", "olga").status_code == 404


def test_wakatime_team_routes_answer_in_wakatime_shapes(world: World) -> None:
    for base in BASE_PATHS:
        listed = world.get(f"{base}/users/current/teams", "quinn")
        assert listed.status_code == 200
        body = listed.json()
        assert body["total"] == 1 and body["total_pages"] == 1
        team = body["data"][0]
        assert team["id"] == world.team and team["name"] == "Core team"
        dt.datetime.fromisoformat(team["created_at"].replace("Z", "+00:00"))
        dt.datetime.fromisoformat(team["modified_at"].replace("Z", "+00:00"))
        members = world.get(f"{base}/users/current/teams/{world.team}/members", "quinn").json()
        assert [m["username"] for m in members["data"]] == ["olga", "pete", "quinn"]
        for member in members["data"]:
            assert {"id", "username", "full_name", "email", "photo", "is_view_only"} <= member.keys()
            assert isinstance(member["id"], str) and member["email"] is None
    assert world.get("/api/v1/users/current/teams", "xavier").json() == {"data": [], "total": 0, "total_pages": 0}
    # A member's summaries are exactly what the member reads of themselves (WakaTime's summaries shape).
    for range_name in ("today", "last_7_days"):
        theirs = world.get(f"/api/v1/users/current/teams/{world.team}/members/pete/summaries", "olga",
                           range=range_name).json()
        assert theirs == own(world, "pete", range_name)
        assert {"data", "cumulative_total", "daily_average", "start", "end"} <= theirs.keys()
    explicit = world.get(f"/api/v1/users/current/teams/{world.team}/members/pete/summaries", "quinn",
                         start="2026-03-05", end="2026-03-11")
    assert explicit.status_code == 200 and len(explicit.json()["data"]) == 7
    assert world.get(f"/api/v1/users/current/teams/{world.team}/members/pete/summaries", "quinn").status_code == 400
    assert world.get(f"/api/v1/users/current/teams/{world.team}/members/nobody/summaries", "olga",
                     range="today").status_code == 404


def test_web_pages_create_join_and_manage(world: World) -> None:
    client = world.client
    login(client, "olga")
    assert client.get("/teams").status_code == 200
    made = post_form(client, "/teams", {"name": "Side project"})
    assert made.status_code == 303
    team_id = made.headers["location"].split("/teams/")[1].split("?")[0]
    page = post_form(client, f"/teams/{team_id}/invites", {"max_uses": "1", "valid_days": "2"})
    assert page.status_code == 201 or page.status_code == 200
    link = page.text.split('id="new-invite-url">')[1].split("<")[0]
    assert "/teams/join?code=" in link
    assert post_form(client, "/teams", {"name": "  "}).status_code == 400
    login(client, "xavier")
    landing = client.get(link.replace("http://testserver.local", ""))
    assert landing.status_code == 200
    joined = post_form(client, "/teams/join", {"code": link})
    assert joined.status_code == 303 and joined.headers["location"].startswith(f"/teams/{team_id}")
    assert post_form(client, f"/teams/{team_id}/leave").status_code == 303
    client.cookies.clear()
    team = world.store.get_team(team_id)
    assert team is not None and [m.username for m in world.store.team_members(team.id)] == ["olga"]
    world.store.delete_team(team.id)


def _cli_world(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[tuple[str, ...], dict[str, str]]:
    settings = world_settings(tmp_path / "cli", request)
    with open_store(settings) as store:
        for name in ("ann", "ben"):
            store.create_user(name)
    return ("--data-dir", settings.data_dir), {"HOME": str(tmp_path), "HACKATIME_API_KEY": ""}


@pytest.mark.slow  # four CLI runs: ~0.8 s of Typer set-up; the rules are covered through the API
def test_cli_team_create_invite_join_list(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    base, env = _cli_world(tmp_path, request)
    made = json.loads(run_cli("team", "create", "Crew", "--user", "ann", "--json", *base, env=env).stdout)
    invite = json.loads(run_cli("team", "invite", made["id"], "--uses", "1", "--user", "ann", "--json", *base,
                                env=env).stdout)
    joined = json.loads(run_cli("team", "join", invite["path"], "--user", "ben", "--json", *base, env=env).stdout)
    assert joined == {"id": made["id"], "name": "Crew", "role": "member"}
    listed = json.loads(run_cli("team", "list", "--user", "ben", "--json", *base, env=env).stdout)
    assert listed == [{"id": made["id"], "name": "Crew", "role": "member", "members": 2, "shares": False}]


@pytest.mark.slow
def test_cli_team_refusals_and_report(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    base, env = _cli_world(tmp_path, request)
    made = json.loads(run_cli("team", "create", "Crew", "--user", "ann", "--json", *base, env=env).stdout)
    refused = run_cli("team", "invite", made["id"], "--user", "ben", *base, env=env, check=False)
    assert refused.returncode == 1 and "not a member" in refused.stderr
    code = run_cli("team", "invite", made["id"], "--user", "ann", *base, env=env).stdout.splitlines()[1]
    run_cli("team", "join", code, "--user", "ben", *base, env=env)
    again = run_cli("team", "join", code, "--user", "ben", *base, env=env, check=False)
    assert again.returncode == 1
    member = run_cli("team", "invite", made["id"], "--user", "ben", *base, env=env, check=False)
    assert member.returncode == 1 and "owners and admins" in member.stderr
    report = json.loads(run_cli("team", "report", made["id"], "--user", "ann", "--json", *base, env=env).stdout)
    assert report["member_count"] == 2 and report["total_seconds"] == 0
    text = run_cli("team", "report", made["id"], "--user", "ann", *base, env=env).stdout
    assert "Crew" in text and "2 members" in text
    outsider = run_cli("team", "report", "00000000-0000-4000-8000-000000000000", "--user", "ann", *base, env=env,
                       check=False)
    assert outsider.returncode == 1
