"""Trust and admin levels with an audit log (issue 15 item 2): set through the CLI, the admin API and the admin
pages; every change recorded and listed; viewers read but never change (403); a convicted user is on no
leaderboard after the next build.

One world for the module: alice (the first user, so `admin` by the is_admin flag), sue (made superadmin by the
operator's CLI path), vic (viewer), bob and eve (ordinary, both coding). Each test changes different users.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from litestar.testing import TestClient

from hackatime_lite.analytics.leaderboards import BOARDS, LeaderboardPage, get_leaderboard
from hackatime_lite.config import Settings
from hackatime_lite.context import AppContext
from hackatime_lite.ingest import IngestContext, ingest
from hackatime_lite.jobs.registry import build_leaderboards
from hackatime_lite.store import Store, open_store
from hackatime_lite.store import rules as store_rules
from tests.app_pool import pooled_app
from tests.conftest import Account, assert_world_backend, basic_auth, make_account, run_cli, world_settings
from tests.web_helpers import give_password, login, post_form

pytestmark = pytest.mark.xdist_group("trust_audit")

NOW = 1_780_000_000.0
ADMIN = "/api/native/v1/admin"


@dataclass
class World:
    store: Store
    settings: Settings
    client: TestClient
    accounts: dict[str, Account]

    def api(self, method: str, path: str, who: str, **kwargs: Any) -> Any:
        return self.client.request(method, ADMIN + path, headers=basic_auth(self.accounts[who].key), **kwargs)

    def user_id(self, name: str) -> int:
        return self.accounts[name].user.id


def _coding(start: float, minutes: int, language: str) -> list[dict[str, Any]]:
    return [{"entity": f"/src/a.{language.lower()}", "type": "file", "category": "coding", "language": language,
             "project": "p", "time": start + 60 * i} for i in range(minutes + 1)]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[World]:
    settings = world_settings(tmp_path_factory.mktemp("trust"), request)
    settings.paths.ensure()
    with pytest.MonkeyPatch.context() as patch, open_store(settings) as store:
        assert_world_backend(store, request)
        patch.setattr(store_rules, "_password_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        accounts = {name: make_account(store, name) for name in ("alice", "sue", "vic", "bob", "eve", "zed", "sam")}
        store.set_user_level(accounts["sue"].user.id, "admin_level", "superadmin", actor_id=None, reason="setup")
        store.set_user_level(accounts["vic"].user.id, "admin_level", "viewer", actor_id=None)
        for name in ("alice", "vic"):
            give_password(store, accounts[name].user.id)
        for name, minutes in (("bob", 30), ("eve", 50), ("zed", 20), ("sam", 40)):
            results = ingest(store, _coding(NOW - 3 * 3600, minutes, "Python"),
                             IngestContext(user=accounts[name].user, now=NOW))
            assert all(r.error is None for r in results)
        with pooled_app(settings, store=store, clock=lambda: NOW, start_scheduler=False) as app, \
                TestClient(app, raise_server_exceptions=False) as client:
            yield World(store, settings, client, accounts)


def _boards(world: World) -> dict[tuple[str, str], set[str]]:
    """Every board (and its Python board): the usernames listed."""
    found: dict[tuple[str, str], set[str]] = {}
    for board in BOARDS:
        for language in (None, "Python"):
            page = get_leaderboard(world.store, board, language=language, page_size=100)
            assert isinstance(page, LeaderboardPage), page
            found[(board, language or "")] = {e.user.username for e in page.entries}
    return found


def test_convicting_removes_a_user_from_every_board_at_the_next_build(world: World) -> None:
    ctx: AppContext = world.client.app.state.ctx
    build_leaderboards(ctx)
    before = _boards(world)
    assert all({"bob", "eve", "zed"} <= names for names in before.values()), before
    response = world.api("POST", "/users/eve/trust_level", "alice", json={"level": "convicted", "reason": "bot"})
    assert response.status_code == 200, response.text
    entry = response.json()["data"]
    assert (entry["actor_name"], entry["target_name"], entry["field"], entry["old_value"], entry["new_value"],
            entry["reason"]) == ("alice", "eve", "trust_level", "unscored", "convicted", "bot")
    build_leaderboards(ctx)
    after = _boards(world)
    assert after == {key: names - {"eve"} for key, names in before.items()}
    assert all(world.store.leaderboard_entry(board, "", world.user_id("eve")) is None for board in BOARDS)
    # The audit API lists it (newest first), for viewers too.
    listed = world.api("GET", "/audit?user=eve", "vic")
    assert listed.status_code == 200
    assert [(e["field"], e["old_value"], e["new_value"]) for e in listed.json()["data"]] == [
        ("trust_level", "unscored", "convicted")]


def test_suspected_users_are_hidden_from_others_boards_but_see_themselves(world: World) -> None:
    ctx: AppContext = world.client.app.state.ctx
    sam = world.user_id("sam")
    world.store.set_user_level(sam, "trust_level", "suspected", actor_id=None, reason="test")
    build_leaderboards(ctx)
    for board in BOARDS:
        theirs = get_leaderboard(world.store, board, page_size=100, viewer_id=world.user_id("bob"))
        own = get_leaderboard(world.store, board, page_size=100, viewer_id=sam)
        assert isinstance(theirs, LeaderboardPage) and isinstance(own, LeaderboardPage)
        assert "sam" not in {e.user.username for e in theirs.entries}
        assert "sam" in {e.user.username for e in own.entries} and own.total_entries == theirs.total_entries + 1
    # Through the APIs: the WakaTime leaders and the native board, each as its caller sees it.
    for path in ("/api/v1/leaders", "/api/hackatime/v1/leaderboard/weekly"):
        seen = {}
        for who in ("bob", "sam"):
            response = world.client.get(path, headers=basic_auth(world.accounts[who].key))
            assert response.status_code == 200, (path, response.text)
            seen[who] = "sam" in response.text
        assert seen == {"bob": False, "sam": True}, path
    # Never told: their own stats say unscored.
    stats = world.client.get("/api/v1/users/current/stats/last_7_days", headers=basic_auth(world.accounts["sam"].key))
    assert stats.status_code == 200 and stats.json()["trust_factor"]["trust_level"] == "default"
    world.store.set_user_level(sam, "trust_level", "unscored", actor_id=None)


def test_viewers_read_but_every_change_attempt_is_403_and_unrecorded(world: World) -> None:
    before = world.store.audit_log(limit=1000)
    users = world.api("GET", "/users", "vic")
    assert users.status_code == 200
    levels = {u["username"]: (u["admin_level"], u["trust_level"]) for u in users.json()["data"]}
    assert levels["sue"][0] == "superadmin" and levels["vic"][0] == "viewer" and levels["alice"][0] == "admin"
    for path, body in (("/users/bob/trust_level", {"level": "trusted"}),
                       ("/users/bob/admin_level", {"level": "viewer"})):
        response = world.api("POST", path, "vic", json=body)
        assert response.status_code == 403 and "error" in response.json()
    # Ordinary users may not even read; an admin may not change admin levels (superadmins only).
    assert world.api("GET", "/audit", "bob").status_code == 403
    assert world.api("POST", "/users/zed/trust_level", "bob", json={"level": "trusted"}).status_code == 403
    assert world.api("POST", "/users/bob/admin_level", "alice", json={"level": "viewer"}).status_code == 403
    # Nobody changes their own levels or those of someone at or above their own.
    assert world.api("POST", "/users/alice/trust_level", "alice", json={"level": "trusted"}).status_code == 403
    assert world.api("POST", "/users/sue/trust_level", "alice", json={"level": "trusted"}).status_code == 403
    assert world.store.audit_log(limit=1000) == before
    assert world.store.get_user(world.user_id("bob")).trust_level == "default"  # type: ignore[union-attr]


def test_bad_requests_are_4xx_json(world: World) -> None:
    assert world.api("POST", "/users/bob/trust_level", "alice", json={"level": "purple"}).status_code == 400
    assert world.api("POST", "/users/bob/trust_level", "alice", content=b"{not json").status_code == 400
    assert world.api("POST", "/users/nobody/trust_level", "alice", json={"level": "trusted"}).status_code == 404
    assert world.api("GET", "/audit?limit=0", "alice").status_code == 400
    assert world.client.get(ADMIN + "/audit").status_code == 401


def test_a_superadmin_sets_admin_levels_up_to_their_own(world: World) -> None:
    response = world.api("POST", "/users/zed/admin_level", "sue", json={"level": "admin", "reason": "helps"})
    assert response.status_code == 200 and response.json()["data"]["old_value"] == "none"
    zed = world.store.get_user(world.user_id("zed"))
    assert zed is not None and zed.is_admin  # the is_admin flag follows, so older admin checks agree
    again = world.api("POST", "/users/zed/admin_level", "sue", json={"level": "admin"})
    assert again.status_code == 200 and again.json()["data"] is None  # unchanged: nothing recorded
    back = world.api("POST", "/users/zed/admin_level", "sue", json={"level": "none"})
    assert back.status_code == 200 and not world.store.get_user(world.user_id("zed")).is_admin  # type: ignore[union-attr]
    entries = world.store.audit_log(user_id=world.user_id("zed"))
    assert [(e.actor_name, e.old_value, e.new_value) for e in entries] == [("sue", "admin", "none"),
                                                                          ("sue", "none", "admin")]


def test_cli_sets_levels_and_lists_the_audit(world: World, tmp_path: Path) -> None:
    base = ("--data-dir", world.settings.data_dir)
    env = {"HOME": str(tmp_path), "HACKATIME_API_KEY": ""}
    done = json.loads(run_cli(*base, "user", "trust", "bob", "suspected", "--reason", "odd hours", "--json",
                              env=env).stdout)
    assert (done["actor_name"], done["new_value"], done["reason"]) == ("cli", "suspected", "odd hours")
    assert world.store.get_user(world.user_id("bob")).trust_level == "suspected"  # type: ignore[union-attr]
    bad = run_cli(*base, "user", "admin-level", "bob", "emperor", env=env, check=False)
    assert bad.returncode == 1 and "admin level must be" in bad.stderr
    table = run_cli(*base, "user", "audit", "bob", env=env).stdout
    assert "suspected" in table and "odd hours" in table and "cli" in table
    world.store.set_user_level(world.user_id("bob"), "trust_level", "unscored", actor_id=None)


@pytest.mark.slow
def test_cli_admin_level(world: World, tmp_path: Path) -> None:
    base = ("--data-dir", world.settings.data_dir)
    env = {"HOME": str(tmp_path), "HACKATIME_API_KEY": ""}
    run_cli(*base, "user", "admin-level", "bob", "viewer", "--reason", "helps", env=env)
    assert world.store.admin_level(world.user_id("bob")) == "viewer"
    assert "viewer" in run_cli(*base, "user", "list", env=env).stdout
    bad = run_cli(*base, "user", "trust", "bob", "purple", env=env, check=False)
    assert bad.returncode == 1 and "trust level must be" in bad.stderr
    run_cli(*base, "user", "admin-level", "bob", "none", env=env)
    assert world.store.audit_log(user_id=world.user_id("bob"), limit=1)[0].new_value == "none"


def test_admin_pages_show_levels_and_audit_and_refuse_viewers(world: World) -> None:
    client = world.client
    login(client, "vic")
    page = client.get("/admin/audit")
    assert page.status_code == 200 and 'id="audit-table"' in page.text and "Set trust" not in page.text
    assert client.get("/admin").status_code == 403  # user management stays with admins
    refused = post_form(client, f"/admin/users/{world.user_id('zed')}/trust", {"level": "trusted"})
    assert refused.status_code == 403
    login(client, "alice")
    done = post_form(client, f"/admin/users/{world.user_id('zed')}/trust", {"level": "trusted", "reason": "known"})
    assert done.status_code == 303 and done.headers["location"].startswith("/admin/audit")
    page = client.get("/admin/audit")
    assert "unscored → trusted" in page.text and "known" in page.text
    assert world.store.audit_log(limit=1)[0].new_value == "trusted"
    bad = post_form(client, f"/admin/users/{world.user_id('zed')}/trust", {"level": "purple"})
    assert bad.status_code == 400
    client.cookies.clear()
