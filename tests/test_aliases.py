"""Aliases, labels, language mappings and exclusions (issue 14 item 2): applied at read time, per user.

One seeded world for the module: alice (UTC, frozen clock) with rules added through the API in the fixture; carol
(no heartbeats) for CRUD and access. Expected figures come from the analytics oracle over the stored heartbeats,
with the rules applied to its output by this file's own literal tables (EXPECTED_*), never by the code under test.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher
from litestar.testing import TestClient

from hackatime_lite import reports
from hackatime_lite.aliases.rules import compile_rules
from hackatime_lite.analytics import oracle
from hackatime_lite.analytics.ranges import explicit_range
from hackatime_lite.config import Settings
from hackatime_lite.context import AppContext
from hackatime_lite.ingest import IngestContext, ingest
from hackatime_lite.jobs.registry import build_leaderboards
from hackatime_lite.models import User
from hackatime_lite.store import Store, open_store
from hackatime_lite.store import rules as store_rules
from hackatime_lite.store.records import STORED_COLUMNS, AliasRule, AliasRuleSpec
from tests.app_pool import pooled_app
from tests.conftest import (
    Account,
    assert_world_backend,
    basic_auth,
    make_account,
    run_cli,
    world_settings,
)
from tests.web_helpers import csrf_token, give_password, login

pytestmark = pytest.mark.xdist_group("aliases")  # one worker builds the module's world

TODAY = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.UTC).timestamp()
NATIVE = "/api/native/v1/users/current"


def at(day: dt.date, hour: int, minute: int = 0) -> float:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC).timestamp()


def session(start: float, minutes: int, **fields: Any) -> list[dict[str, Any]]:
    entity = fields.pop("entity", f"/src/{fields.get('project') or 'x'}/main.txt")
    return [{"entity": entity, "type": "file", "category": "coding", "time": start + i * 60, **fields}
            for i in range(minutes + 1)]


def ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


SESSIONS = [
    session(at(TODAY, 8), 30, project="api-server", language="py", editor="vim"),
    session(at(TODAY, 9), 20, project="api-client", language="python3", editor="VS Code"),
    session(at(TODAY, 10), 25, project="web", language="JavaScript", editor="vscode", entity="/w/App.vue"),
    session(at(TODAY, 11), 15, project="secret", language="Go", editor="vim"),
    session(at(TODAY, 12), 10, project="scratch", language="Python", editor="vim"),
    session(at(TODAY, 13), 12, language="Go", editor="vim"),  # no project
    session(at(ago(1), 23, 40), 40, project="api-server", language="Go", editor="vim"),  # over midnight
    session(at(ago(2), 14), 60, project="secret", language="Python", editor="vim"),
    session(at(ago(3), 9), 45, project="web", language="TypeScript", editor="vscode", entity="/w/a.vue"),
]
# The rules alice adds (through the API, in this order) and what this file expects of them.
RULES = [
    ("aliases", {"dimension": "project", "pattern": "api-*", "value": "API"}),
    ("aliases", {"dimension": "project", "pattern": "api-client", "value": "Client"}),  # exact beats the wildcard
    ("aliases", {"dimension": "project", "pattern": "web", "value": "Website"}),
    ("aliases", {"dimension": "editor", "pattern": "vscode", "value": "VS Code"}),  # merge two spellings
    ("labels", {"project": "API", "label": "work"}),  # by the shown name
    ("labels", {"project": "web", "label": "work"}),  # by the stored name
    ("labels", {"project": "web", "label": "frontend"}),
    ("language_mappings", {"extension": "vue", "language": "Vue.js"}),
    ("exclusions", {"project": "secret", "mode": "exclude"}),
    ("exclusions", {"project": "scratch", "mode": "hide"}),
]
EXPECTED_PROJECT = {"api-server": "API", "api-client": "Client", "web": "Website", "scratch": "scratch", None: None}
EXPECTED_EDITOR = {"vim": "vim", "VS Code": "VS Code", "vscode": "VS Code"}
EXPECTED_LANGUAGE = {"py": "Python", "python3": "Python", "Python": "Python", "Go": "Go",
                     "JavaScript": "JavaScript", "TypeScript": "TypeScript"}
EXPECTED_LABELS = {"work": {"api-server", "web"}, "frontend": {"web"}}  # "Client" is no longer shown as API
EXCLUDED = {"secret"}
HIDDEN = {"scratch"}


@dataclass
class World:
    store: Store
    settings: Settings
    client: TestClient
    alice: Account
    bob: Account
    carol: Account

    @property
    def ctx(self) -> AppContext:
        ctx: AppContext = self.client.app.state.ctx
        return ctx

    def user(self, account: Account | None = None) -> User:
        found = self.store.get_user((account or self.alice).user.id)
        assert found is not None
        return found

    def get(self, path: str, *, account: Account | None = None, **params: Any) -> Any:
        response = self.client.get(path, params=params, headers=basic_auth((account or self.alice).key))
        assert response.status_code == 200, response.text
        return response.json()

    def intervals(self) -> list[oracle.Interval]:
        user = self.user()
        position = {name: STORED_COLUMNS.index(name) for name in ("id", "time", "project", "language", "editor",
                                                                    "category", "entity", "type", "source")}
        beats = [oracle.Beat(id=row[position["id"]], user_id=user.id, time=row[position["time"]],
                             **{name: row[index] for name, index in position.items() if name not in ("id", "time")})
                 for row in self.store.heartbeat_rows(user.id, None, None)]
        rule = oracle.Rule(timeout=self.settings.default_timeout, mode=self.settings.default_mode)
        return oracle.intervals(beats, {user.id: rule})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[World]:
    settings = world_settings(tmp_path_factory.mktemp("aliases"), request)
    settings.paths.ensure()
    with pytest.MonkeyPatch.context() as patch, open_store(settings) as store:
        assert_world_backend(store, request)
        # Argon2 at its default cost takes ~0.4 s a hash; the login needs the behaviour, not the cost.
        patch.setattr(store_rules, "_password_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        alice, bob, carol = (make_account(store, name) for name in ("alice", "bob", "carol"))
        give_password(store, carol.user.id)
        give_password(store, alice.user.id)
        for beats in SESSIONS:
            assert all(r.error is None for r in ingest(store, beats, IngestContext(user=alice.user, now=NOW)))
        with pooled_app(settings, store=store, clock=lambda: NOW, start_scheduler=False) as app, \
                TestClient(app, raise_server_exceptions=False) as client:
            for collection, body in RULES:
                response = client.post(f"{NATIVE}/{collection}", json=body, headers=basic_auth(alice.key))
                assert response.status_code == 201, response.text
            yield World(store, settings, client, alice, bob, carol)


def expected_breakdown(world: World, start: float, end: float, dimension: str,
                       mapping: dict[Any, Any]) -> dict[Any, float]:
    """The oracle's breakdown of alice's time without excluded projects, under `mapping`'s display values."""
    ivs = world.intervals()
    result: dict[Any, float] = defaultdict(float)
    for iv in ivs:
        if iv.beat.project in EXCLUDED:
            continue
        seconds = oracle.clipped(iv, start, end)
        if seconds > 0:
            value = getattr(iv.beat, dimension)
            if dimension == "language" and (iv.beat.entity or "").endswith(".vue"):
                value = "Vue.js"  # the mapping by extension
            else:
                value = mapping[value]
            result[value] += seconds
    return dict(result)


def entries(data: dict[str, Any], key: str) -> dict[str, float]:
    return {e["name"]: e["total_seconds"] for e in data[key]}


# -- read API: display values, exclusions, hiding -------------------------------------------------------------
def test_status_bar_shows_display_values_against_the_oracle(world: World) -> None:
    start, end = at(TODAY, 0), at(TODAY + dt.timedelta(days=1), 0)
    data = world.get("/api/v1/users/current/statusbar/today")["data"]
    projects = expected_breakdown(world, start, end, "project", EXPECTED_PROJECT)
    total = sum(projects.values())
    assert data["grand_total"]["total_seconds"] == pytest.approx(total)
    shown = {("Unknown Project" if k is None else k): v for k, v in projects.items() if k not in HIDDEN}
    assert entries(data, "projects") == pytest.approx(shown)
    assert "secret" not in entries(data, "projects") and "scratch" not in entries(data, "projects")
    assert entries(data, "editors") == pytest.approx(expected_breakdown(world, start, end, "editor", EXPECTED_EDITOR))
    assert entries(data, "languages") == pytest.approx(
        expected_breakdown(world, start, end, "language", EXPECTED_LANGUAGE))
    shown_projects = expected_breakdown(world, start, end, "project", EXPECTED_PROJECT)
    assert entries(data, "labels") == pytest.approx({"work": shown_projects["API"] + shown_projects["Website"],
                                                     "frontend": shown_projects["Website"]})
    # Groups still add up to the total (hidden projects are only left out of the list).
    assert sum(entries(data, "languages").values()) == pytest.approx(total)
    assert sum(entries(data, "projects").values()) + projects["scratch"] == pytest.approx(total)


def test_summaries_days_add_up_and_filters_resolve_through_aliases(world: World) -> None:
    start, end = at(ago(6), 0), at(TODAY + dt.timedelta(days=1), 0)
    params = {"start": ago(6).isoformat(), "end": TODAY.isoformat()}
    summary = world.get("/api/v1/users/current/summaries", **params)
    days_total = sum(d["grand_total"]["total_seconds"] for d in summary["data"])
    expected_total = sum(expected_breakdown(world, start, end, "project", EXPECTED_PROJECT).values())
    assert days_total == pytest.approx(expected_total)
    assert summary["cumulative_total"]["seconds"] == pytest.approx(expected_total)
    for day in summary["data"]:  # per day: languages (mapped by extension too) against the oracle, summing to the day
        date = dt.date.fromisoformat(day["range"]["date"])
        expected = expected_breakdown(world, at(date, 0), at(date + dt.timedelta(days=1), 0), "language",
                                      EXPECTED_LANGUAGE)
        assert entries(day, "languages") == pytest.approx({k: v for k, v in expected.items() if v > 0})
        assert sum(e["total_seconds"] for e in day["languages"]) == pytest.approx(day["grand_total"]["total_seconds"])
    # A filter on a display value selects every stored value shown as it; an excluded project is never counted.
    api = world.get("/api/v1/users/current/summaries", project="API", **params)
    assert api["cumulative_total"]["seconds"] == pytest.approx(
        expected_breakdown(world, start, end, "project", EXPECTED_PROJECT)["API"])
    secret = world.get("/api/v1/users/current/summaries", project="secret", **params)
    assert secret["cumulative_total"]["seconds"] == 0
    work = world.get("/api/v1/users/current/summaries", label="work", **params)
    shown = expected_breakdown(world, start, end, "project", EXPECTED_PROJECT)
    assert work["cumulative_total"]["seconds"] == pytest.approx(shown["API"] + shown["Website"])


def test_labels_are_a_breakdown_and_totals_stay_heartbeat_totals(world: World) -> None:
    rng = explicit_range(ago(6).isoformat(), TODAY.isoformat(), tz="UTC")
    report = reports.stats(world.ctx, world.user(), rng)
    labels = {e.name: e.total_seconds for e in report.breakdowns["labels"]}
    start, end = rng.window
    ivs = [iv for iv in world.intervals() if iv.beat.project not in EXCLUDED]
    for label, projects in EXPECTED_LABELS.items():
        assert labels[label] == pytest.approx(sum(oracle.clipped(iv, start, end) for iv in ivs
                                                  if iv.beat.project in projects))
    # "web" is in two labels and counts in both; the total is the heartbeats' total all the same.
    assert report.total_seconds_including_other_language == pytest.approx(
        sum(oracle.clipped(iv, start, end) for iv in ivs))


def test_exclusions_leave_the_leaderboards(world: World) -> None:
    build_leaderboards(world.ctx)
    found = reports.leaderboard(world.ctx, "last_7_days")
    assert not isinstance(found, type(None))
    rows = {e.user.id: e.total_seconds for e in found.entries}  # type: ignore[union-attr]  # built just now
    now = NOW
    ivs = [iv for iv in world.intervals() if iv.beat.project not in EXCLUDED]
    expected = sum(oracle.clipped(iv, now - 7 * 86400, now) for iv in ivs)
    assert rows[world.alice.user.id] == pytest.approx(expected, abs=1.0)


def test_rollups_and_raw_rows_give_the_same_answers(world: World) -> None:
    """The rules map the (value, seconds) pairs a query returns, so they compose with either read path."""
    replica = world.ctx.require_replica()
    rng = explicit_range(ago(6).isoformat(), TODAY.isoformat(), tz="UTC")
    with_rollups = reports.stats(world.ctx, world.user(), rng)
    replica.use_rollups = False
    try:
        raw = reports.stats(world.ctx, world.user(), rng)
    finally:
        replica.use_rollups = True
    assert raw.total_seconds_including_other_language == pytest.approx(
        with_rollups.total_seconds_including_other_language)
    for key, listed in with_rollups.breakdowns.items():
        assert {e.name: e.total_seconds for e in raw.breakdowns[key]} == pytest.approx(
            {e.name: e.total_seconds for e in listed})


def test_projects_list_merges_aliases_and_leaves_out_excluded_and_hidden(world: World) -> None:
    names = [p.name for p in reports.projects(world.ctx, world.user())]
    assert sorted(names) == ["API", "Client", "Website"]


def test_a_rule_change_shows_in_the_next_read(world: World) -> None:
    headers = basic_auth(world.alice.key)
    before = entries(world.get("/api/v1/users/current/statusbar/today")["data"], "projects")
    added = world.client.post(f"{NATIVE}/aliases", json={"pattern": "Client", "value": "nothing"}, headers=headers)
    assert added.status_code == 201  # a rule on a shown name does nothing: rules match stored values
    response = world.client.post(f"{NATIVE}/aliases", json={"pattern": "api-client", "value": "API"},
                                 headers=headers)
    assert response.status_code == 201
    try:
        after = entries(world.get("/api/v1/users/current/statusbar/today")["data"], "projects")
        # The earlier exact rule for api-client still wins (first match), so nothing moved...
        assert after == pytest.approx(before)
    finally:
        for rule in (added.json()["data"], response.json()["data"]):
            world.client.delete(f"{NATIVE}/aliases/{rule['id']}", headers=headers)
    # ...and deleting the exact rule moves Client into API at once.
    exact = next(r for r in world.get(f"{NATIVE}/aliases")["data"] if r["pattern"] == "api-client")
    assert world.client.delete(f"{NATIVE}/aliases/{exact['id']}", headers=headers).status_code == 200
    try:
        merged = entries(world.get("/api/v1/users/current/statusbar/today")["data"], "projects")
        assert merged["API"] == pytest.approx(before["API"] + before["Client"]) and "Client" not in merged
    finally:
        world.client.post(f"{NATIVE}/aliases", json={"pattern": "api-client", "value": "Client"}, headers=headers)


def test_badge_follows_the_rules(world: World) -> None:
    """Badges read through reports.py: an excluded project has no time there, a display value has its time."""
    base = "/api/compat/shields/v1/alice/interval:last_7_days"

    def message(suffix: str) -> str:
        return str(world.get(base + suffix)["message"])

    assert message("/project:secret") == message("/project:no-such-project")
    assert message("/project:Website") != message("/project:no-such-project")
    assert message("/project:web") == message("/project:no-such-project")  # a renamed stored name is shown no more
    user = world.user()
    rng = explicit_range(ago(6).isoformat(), TODAY.isoformat(), tz="UTC")
    assert reports.total_seconds(world.ctx, user, rng, filters={"project": ["web"]}) == 0
    assert reports.total_seconds(world.ctx, user, rng, filters={"project": ["secret"]}) == 0


# -- rules as data: precedence ---------------------------------------------------------------------------------------
def _rule(i: int, kind: str, pattern: str, value: str = "", dimension: str = "project") -> AliasRule:
    return AliasRule(id=i, user_id=1, created_at=0.0,
                     spec=AliasRuleSpec(kind=kind, dimension=dimension, pattern=pattern, value=value))


def test_wildcard_precedence_exact_first_then_first_match() -> None:
    rules = compile_rules([_rule(1, "alias", "a*", "A"), _rule(2, "alias", "ab?", "AB"),
                           _rule(3, "alias", "abc", "exact"), _rule(4, "alias", "abc", "later exact"),
                           _rule(5, "alias", "[x]", "brackets")])
    assert rules.display("project", "abc") == "exact"  # exact first, the first exact rule
    assert rules.display("project", "abd") == "A"  # then wildcards in the order added
    assert rules.display("project", "b") == "b"
    assert rules.display("project", "[x]") == "brackets" and rules.display("project", "x") == "x"  # no sets
    assert rules.display("project", None) is None  # a missing value stays "Unknown"
    assert rules.display("language", "python3") == "Python"  # the server-wide canonical names
    assert rules.map_pairs("project", [("abc", 1.0), ("abd", 2.0), ("a", 3.0)]) == [("A", 5.0), ("exact", 1.0)]


# -- CRUD and access -----------------------------------------------------------------------------------------------
def test_crud_and_access(world: World) -> None:
    carol, bob = world.carol, world.bob
    path = f"{NATIVE}/aliases"
    created = world.client.post(path, json={"dimension": "editor", "pattern": "vi?", "value": "Vim"},
                                headers=basic_auth(carol.key))
    assert created.status_code == 201
    rule = created.json()["data"]
    assert (rule["kind"], rule["dimension"], rule["pattern"], rule["value"]) == ("alias", "editor", "vi?", "Vim")
    again = world.client.post(path, json={"dimension": "editor", "pattern": "vi?", "value": "Vim"},
                              headers=basic_auth(carol.key))
    assert again.json()["data"]["id"] == rule["id"]  # the same rule: the stored one
    assert [r["id"] for r in world.get(path, account=carol)["data"]] == [rule["id"]]
    # Another user's rule is not found; a read-only key may read but not change; other users' lists are theirs.
    assert world.client.delete(f"{path}/{rule['id']}", headers=basic_auth(bob.key)).status_code == 404
    assert world.client.post(path, json={"pattern": "x", "value": "y"},
                             headers=basic_auth(carol.read_only_key)).status_code == 403
    assert world.client.get(path, headers=basic_auth(carol.read_only_key)).status_code == 200
    assert world.client.get("/api/native/v1/users/carol/aliases", headers=basic_auth(bob.key)).status_code == 403
    for bad in ({"pattern": "", "value": "x"}, {"pattern": "*", "value": "x"}, {"pattern": "a", "value": ""},
                {"dimension": "branch", "pattern": "a", "value": "b"}, {"pattern": "a\x01", "value": "b"},
                {"pattern": ["a"], "value": "b"}):
        answer = world.client.post(path, json=bad, headers=basic_auth(carol.key))
        assert answer.status_code == 400 and "error" in answer.json(), bad
    assert world.client.post(f"{NATIVE}/language_mappings", json={"extension": "a b", "language": "X"},
                             headers=basic_auth(carol.key)).status_code == 400
    assert world.client.post(f"{NATIVE}/exclusions", json={"project": "x", "mode": "maybe"},
                             headers=basic_auth(carol.key)).status_code == 400
    assert world.client.post(path, content=b"[1]", headers=basic_auth(carol.key)).status_code == 400
    # A rule id of another collection is not found there.
    assert world.client.delete(f"{NATIVE}/labels/{rule['id']}", headers=basic_auth(carol.key)).status_code == 404
    assert world.client.delete(f"{NATIVE}/labels/abc", headers=basic_auth(carol.key)).status_code == 404
    assert world.client.delete(f"{path}/{rule['id']}", headers=basic_auth(carol.key)).status_code == 200
    assert world.client.delete(f"{path}/{rule['id']}", headers=basic_auth(carol.key)).status_code == 404
    hidden = world.client.post(f"{NATIVE}/exclusions", json={"hide_unknown": True}, headers=basic_auth(carol.key))
    assert hidden.status_code == 201 and hidden.json()["data"]["kind"] == "hide"
    world.client.delete(f"{NATIVE}/exclusions/{hidden.json()['data']['id']}", headers=basic_auth(carol.key))




def test_cli_alias_add_list_rm(world: World, request: pytest.FixtureRequest) -> None:
    """Each in-process CLI call builds Typer's whole command tree (~1 s of CPU): the default suite makes three."""
    where = ("--data-dir", world.settings.data_dir, "--user", "carol")
    added = run_cli("alias", "add", "proj-*", "Proj", "--json", *where)
    assert '"pattern": "proj-*"' in added.stdout
    rule = world.store.list_alias_rules(world.carol.user.id)[-1]
    assert (rule.spec.kind, rule.spec.pattern, rule.spec.value) == ("alias", "proj-*", "Proj")
    assert "'proj-*' shown as 'Proj'" in run_cli("alias", "list", *where).stdout
    run_cli("alias", "rm", str(rule.id), *where)
    assert world.store.list_alias_rules(world.carol.user.id) == []


@pytest.mark.slow
def test_cli_label_mapping_exclude(world: World, request: pytest.FixtureRequest) -> None:
    where = ("--data-dir", world.settings.data_dir, "--user", "carol")
    run_cli("label", "add", "work", "alpha", "beta", *where)
    run_cli("exclude", "add", "private", *where)
    run_cli("exclude", "add", "", "--hide", *where)
    run_cli("mapping", "add", ".vue", "Vue.js", *where)
    assert "labelled 'work'" in run_cli("label", "list", *where).stdout
    excluded = run_cli("exclude", "list", *where).stdout
    assert "'private' excluded" in excluded and "the unknown project hidden" in excluded
    assert "*.vue counted as 'Vue.js'" in run_cli("mapping", "list", *where).stdout
    rules = world.store.list_alias_rules(world.carol.user.id)
    assert sorted(r.spec.kind for r in rules) == ["exclude", "hide", "label", "label", "language"]
    bad = run_cli("alias", "add", "x", "y", "--dimension", "branch", *where, check=False)
    assert bad.returncode != 0 and "unknown dimension" in bad.stderr
    missing = run_cli("label", "rm", "999999", *where, check=False)
    assert missing.returncode != 0 and "no such rule" in missing.stderr
    for rule in rules:
        collection = {"label": "label", "exclude": "exclude", "hide": "exclude", "language": "mapping"}[rule.spec.kind]
        run_cli(collection, "rm", str(rule.id), *where)
    assert world.store.list_alias_rules(world.carol.user.id) == []


def test_dashboard_rules_page_adds_and_deletes_with_csrf(world: World) -> None:
    client = world.client
    login(client, "carol")
    try:
        page = client.get("/settings/aliases")
        assert page.status_code == 200 and 'id="add-alias"' in page.text
        form = {"kind": "alias", "dimension": "project", "pattern": "old-*", "value": "Old"}
        assert client.post("/settings/aliases", data=form, follow_redirects=False).status_code == 403  # no token
        token = csrf_token(client, "/settings/aliases")
        added = client.post("/settings/aliases", data={**form, "_csrf_token": token}, follow_redirects=False)
        assert added.status_code == 303
        rule = world.store.list_alias_rules(world.carol.user.id)[-1]
        assert (rule.spec.pattern, rule.spec.value) == ("old-*", "Old")
        listed = client.get("/settings/aliases").text
        assert f'data-rule-id="{rule.id}"' in listed and "old-*" in listed
        bad = client.post("/settings/aliases", data={**form, "pattern": "", "_csrf_token": token})
        assert bad.status_code == 400 and "must not be empty" in bad.text
        gone = client.post(f"/settings/aliases/{rule.id}/delete", data={"_csrf_token": token}, follow_redirects=False)
        assert gone.status_code == 303 and world.store.list_alias_rules(world.carol.user.id) == []
    finally:
        client.cookies.clear()


def test_dashboard_shows_display_values(world: World) -> None:
    client = world.client
    login(client, "alice")
    try:
        home = client.get("/")
        assert home.status_code == 200 and "Website" in home.text
        assert client.get("/project", params={"name": "API"}).status_code == 200  # a merged, shown name
        assert client.get("/project", params={"name": "api-server"}).status_code == 404  # shown as API now
    finally:
        client.cookies.clear()
