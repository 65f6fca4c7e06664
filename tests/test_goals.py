"""Goals (issue 14 item 1): the WakaTime goals API against the wakatime-cli fixtures' shapes, progress against
the analytics oracle, the dashboard's goals page and cards, and the CLI's `goal` and `report goals`.

One seeded user in America/Sao_Paulo (the fixture's zone) with a frozen clock: Wednesday 2025-06-18, 12:00
local. Expected seconds come from the oracle over the stored heartbeats, never from the code under test.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
from argon2 import PasswordHasher
from litestar.testing import TestClient

from hackatime_lite.analytics import oracle
from hackatime_lite.config import Settings
from hackatime_lite.ingest import IngestContext, ingest
from hackatime_lite.models import User
from hackatime_lite.store import Store, open_store
from hackatime_lite.store import rules as store_rules
from hackatime_lite.store.records import STORED_COLUMNS
from hackatime_lite.text.formatting import human_text
from tests.app_pool import pooled_app
from tests.conftest import (
    Account,
    assert_world_backend,
    basic_auth,
    load_fixture,
    make_account,
    run_cli,
    world_settings,
)
from tests.web_helpers import csrf_token, give_password, login

pytestmark = pytest.mark.xdist_group("goals")  # one worker builds the module's world

TZ = "America/Sao_Paulo"
ZONE = ZoneInfo(TZ)
NOW = dt.datetime(2025, 6, 18, 12, 0, tzinfo=ZONE).timestamp()
TODAY = dt.date(2025, 6, 18)  # a Wednesday
API = "/api/v1/users/current/goals"
UUID4 = re.compile(r"^[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89ab][a-f0-9]{3}-[a-f0-9]{12}$")  # wakatime-cli's check


def at(day: dt.date, hour: int, minute: int = 0) -> float:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE).timestamp()


def session(start: float, minutes: int, **fields: Any) -> list[dict[str, Any]]:
    return [{"entity": f"/src/{fields.get('language', 'x')}.txt", "type": "file", "category": "coding",
             "time": start + i * 60, **fields} for i in range(minutes + 1)]


def short(seconds: float) -> str:
    """The fixture's short form: `4h 38m`, `1h 1m`, `15m`."""
    hours, minutes = int(seconds) // 3600, int(seconds) % 3600 // 60
    return (f"{hours}h {minutes}m" if minutes else f"{hours}h") if hours else f"{minutes}m"


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


SESSIONS = [
    session(at(TODAY, 9), 39, language="Python", project="alpha"),
    session(at(TODAY, 10, 30), 19, language="Go", project="beta"),
    session(at(days_ago(1), 14), 120, language="Python", project="alpha"),
    session(at(days_ago(2), 8), 30, language="Python", project="beta"),
    # Sunday (3 days ago) has no coding at all.
    session(at(days_ago(4), 16), 50, language="Go", project="beta"),  # Saturday
    session(at(days_ago(5), 23, 30), 60, language="Python", project="alpha"),  # Friday 23:30 → Saturday 00:30
    session(at(days_ago(6), 9), 180, language="Python", project="alpha"),  # last week's Thursday
]


@dataclass
class World:
    store: Store
    settings: Settings
    client: TestClient
    alice: Account
    bob: Account

    def user(self) -> User:
        found = self.store.get_user(self.alice.user.id)
        assert found is not None
        return found

    def api(self, method: str, path: str = "", *, who: str = "alice", read_only: bool = False,
            **kwargs: Any) -> Any:
        account = self.alice if who == "alice" else self.bob
        key = account.read_only_key if read_only else account.key
        return self.client.request(method, API + path, headers=basic_auth(key), **kwargs)

    def daily(self, filters: dict[str, list[str | None]] | None = None) -> dict[dt.date, float]:
        """The oracle's seconds per local day over the last three weeks."""
        user = self.user()
        position = {name: STORED_COLUMNS.index(name) for name in ("id", "time", "project", "language", "editor",
                                                                    "category", "entity", "type", "source")}
        beats = [oracle.Beat(id=row[position["id"]], user_id=user.id, time=row[position["time"]],
                             **{name: row[index] for name, index in position.items() if name not in ("id", "time")})
                 for row in self.store.heartbeat_rows(user.id, None, None)]
        rule = oracle.Rule(timeout=self.settings.default_timeout, mode=self.settings.default_mode)
        return oracle.daily(oracle.intervals(beats, {user.id: rule}), user.id, TZ, days_ago(20), TODAY, filters)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[World]:
    """One world for the module (each test makes its own goals and finds them by id): seeding and the replica's
    first sync are most of a test's cost."""
    settings = world_settings(tmp_path_factory.mktemp("goals"), request)
    settings.paths.ensure()
    with pytest.MonkeyPatch.context() as patch, open_store(settings) as store:
        assert_world_backend(store, request)
        # Argon2 at its default cost takes ~0.4 s a hash; the login needs the behaviour, not the cost.
        patch.setattr(store_rules, "_password_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        alice = make_account(store, "alice", timezone=TZ)
        bob = make_account(store, "bob")
        give_password(store, alice.user.id)
        for beats in SESSIONS:
            results = ingest(store, beats, IngestContext(user=alice.user, now=NOW))
            assert all(r.error is None for r in results)
        with pooled_app(settings, store=store, clock=lambda: NOW, start_scheduler=False) as app, \
                TestClient(app, raise_server_exceptions=False) as client:
            yield World(store, settings, client, alice, bob)


def create(world: World, body: dict[str, Any]) -> dict[str, Any]:
    response = world.api("POST", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]


# -- what wakatime-cli reads (pkg/goal/goal.go), as strictly as Go's encoding/json reads it -----------------------
class GoRange(msgspec.Struct):
    date: str
    end: str
    start: str
    text: str
    timezone: str


class GoChartData(msgspec.Struct):
    actual_seconds: float
    actual_seconds_text: str
    goal_seconds: int  # Go `int`: a JSON 3600.0 would not decode
    goal_seconds_text: str
    range: GoRange
    range_status: str
    range_status_reason: str
    range_status_reason_short: str


class GoOwner(msgspec.Struct):
    display_name: str
    email: str | None
    full_name: str
    id: str
    photo: str | None
    username: str


class GoData(msgspec.Struct):
    average_status: str
    chart_data: list[GoChartData]
    created_at: str
    cumulative_status: str
    custom_title: str | None
    delta: str
    editors: list[str]
    id: str
    ignore_days: list[str]
    ignore_zero_days: bool
    improve_by_percent: float | None
    is_current_user_owner: bool
    is_enabled: bool
    is_inverse: bool
    is_snoozed: bool
    is_tweeting: bool
    languages: list[str]
    modified_at: str | None
    owner: GoOwner
    projects: list[str]
    range_text: str
    seconds: int
    shared_with: list[str]
    snooze_until: str | None
    status: str
    status_percent_calculated: int
    subscribers: list[dict[str, Any]]
    title: str
    type: str


class GoGoal(msgspec.Struct):
    cached_at: str
    data: GoData


def render_today(body: bytes) -> str:
    """wakatime-cli's `--today-goal ID` (cmd/todaygoal → goal.RenderToday): the last chart item's text."""
    goal = msgspec.json.decode(body, type=GoGoal)
    assert goal.data.chart_data, "no chart data found for the current day"
    return goal.data.chart_data[-1].actual_seconds_text


def _types(value: dict[str, Any]) -> dict[str, str]:
    return {k: type(v).__name__ for k, v in value.items() if v is not None}


def test_goal_answers_have_the_fixture_shapes_and_wakatime_cli_reads_them(world: World) -> None:
    fixture = load_fixture("pkg_goal__goal.json")
    assert isinstance(fixture, dict)
    # The mirror of wakatime-cli's struct reads the real answer it was written for.
    msgspec.json.decode(json.dumps(fixture).encode(), type=GoGoal)

    created = create(world, {"delta": "day", "seconds": 3600, "editors": ["VS Code"], "ignore_zero_days": True})
    assert UUID4.match(created["id"]) and created["title"] == "Code 1 hr per day using VS Code"
    response = world.api("GET", f"/{created['id']}")
    assert response.status_code == 200
    body = response.json()
    mine, theirs = body["data"], fixture["data"]
    assert set(theirs) <= set(mine) and set(fixture) <= set(body)
    assert {k: t for k, t in _types(theirs).items() if k in _types(mine)} == \
        {k: t for k, t in _types(mine).items() if k in _types(theirs)}
    assert len(mine["chart_data"]) == 7
    for item in mine["chart_data"]:
        assert _types(item) == _types(theirs["chart_data"][0]) and _types(item["range"]) == _types(
            theirs["chart_data"][0]["range"])
    assert [c["range"]["date"] for c in mine["chart_data"]] == [days_ago(n).isoformat() for n in range(6, -1, -1)]
    assert mine["chart_data"][-1]["range"]["text"] == "Today" and mine["chart_data"][-2]["range"]["text"] == "Yesterday"
    # Sao Paulo is UTC-3 all year: the day runs 03:00Z to 02:59:59Z, as in the fixture.
    assert mine["chart_data"][-1]["range"]["start"] == "2025-06-18T03:00:00Z"
    assert mine["chart_data"][-1]["range"]["end"] == "2025-06-19T02:59:59Z"

    # `--today-goal ID` prints today's time; the minimal answer it needs (pkg_api__api_goals_id_response.json)
    # is a subset of ours.
    minimal = load_fixture("pkg_api__api_goals_id_response.json")
    assert isinstance(minimal, dict) and set(minimal["data"]["chart_data"][0]) <= set(mine["chart_data"][-1])
    status_bar = world.client.get("/api/v1/users/current/statusbar/today", headers=basic_auth(world.alice.key))
    # Nobody codes in "VS Code" here: the goal counts nothing, and says so.
    assert render_today(response.content) == human_text(0)
    everything = create(world, {"delta": "day", "seconds": 3600})
    today = world.api("GET", f"/{everything['id']}")
    assert render_today(today.content) == status_bar.json()["data"]["grand_total"]["text"]

    listed = world.api("GET").json()
    ids = [g["id"] for g in listed["data"]]
    assert listed["total"] == len(ids) >= 2 and listed["total_pages"] == 1
    assert ids.index(created["id"]) < ids.index(everything["id"])  # oldest first


def test_progress_equals_the_oracle_with_statuses_and_reasons(world: World) -> None:
    python = world.daily({"language": ["Python"]})
    total = world.daily()
    # At least 30 minutes of Python a day.
    at_least = create(world, {"delta": "day", "seconds": 1800, "languages": ["Python"]})
    items = at_least["chart_data"]
    for item in items:
        day = dt.date.fromisoformat(item["range"]["date"])
        assert item["actual_seconds"] == pytest.approx(python[day], abs=1e-6), day
        assert item["goal_seconds"] == 1800 and item["range"]["timezone"] == TZ
        expected = "success" if python[day] >= 1800 else ("pending" if day == TODAY else "fail")
        assert item["range_status"] == expected, (day, python[day])
    sunday = items[3]
    assert sunday["range"]["date"] == days_ago(3).isoformat() and sunday["range_status"] == "fail"
    assert sunday["range_status_reason"] == "coded 0 secs which is 30 mins less than your daily goal"
    yesterday = python[days_ago(1)]  # 2 h, plus the capped last heartbeat's 2 minutes
    assert items[-2]["range_status_reason_short"] == f"{short(yesterday)} ({short(yesterday - 1800)} more than goal)"
    assert items[-2]["range_status_reason"] == \
        f"coded {human_text(yesterday)} which is {human_text(yesterday - 1800)} more than your daily goal"
    assert at_least["status"] == items[-1]["range_status"] == "success"  # 39 minutes of Python today
    assert at_least["status_percent_calculated"] == 100

    # At most 45 minutes a day, Saturdays and days without coding ignored: today's 58 minutes already fail.
    limit = create(world, {"delta": "day", "seconds": 2700, "is_inverse": True, "ignore_days": ["Sat"],
                           "ignore_zero_days": True})
    assert limit["title"] == "Code at most 45 mins per day" and limit["ignore_days"] == ["saturday"]
    statuses = {dt.date.fromisoformat(i["range"]["date"]): i["range_status"] for i in limit["chart_data"]}
    assert total[TODAY] > 2700 and statuses[TODAY] == "fail"
    assert statuses[days_ago(4)] == "ignored"  # Saturday, though 80 minutes were coded
    assert statuses[days_ago(3)] == "ignored"  # Sunday: nothing coded
    assert statuses[days_ago(2)] == "success" and total[days_ago(2)] <= 2700
    assert statuses[days_ago(1)] == "fail" and limit["status"] == "fail"
    saturday = next(i for i in limit["chart_data"] if i["range"]["date"] == days_ago(4).isoformat())
    assert saturday["range_status_reason"] == "Saturday is an ignored day"
    assert limit["chart_data"][-1]["range_status_reason"].endswith("more than your daily limit")

    # Five hours a week: the weeks start on Monday and add up the oracle's days.
    weekly = create(world, {"delta": "week", "seconds": 5 * 3600})
    this_week, last_week = weekly["chart_data"][-1], weekly["chart_data"][-2]
    monday = TODAY - dt.timedelta(days=TODAY.weekday())
    assert this_week["range"]["date"] == monday.isoformat() and this_week["range"]["text"] == "This week"
    assert this_week["actual_seconds"] == pytest.approx(sum(total[monday + dt.timedelta(days=i)] for i in range(3)))
    assert last_week["actual_seconds"] == pytest.approx(sum(total[monday - dt.timedelta(days=i)] for i in range(1, 8)))
    assert this_week["range_status"] == "pending" and last_week["range_status"] == "fail"
    assert last_week["range"]["end"] == "2025-06-16T02:59:59Z"  # Sunday's last second, local
    # A weekly goal leaves its ignored weekdays' time out of the week.
    no_tuesdays = create(world, {"delta": "week", "seconds": 3600, "ignore_days": ["tuesday"]})["chart_data"][-1]
    assert no_tuesdays["actual_seconds"] == pytest.approx(total[monday] + total[TODAY])
    assert no_tuesdays["range_status"] == "success" and total[monday] + total[TODAY] >= 3600


def test_bad_input_access_and_changes(world: World) -> None:
    for body, message in (
        ({"seconds": 60}, "delta is required"),
        ({"delta": "month", "seconds": 60}, "delta must be"),
        ({"delta": "day"}, "seconds is required"),
        ({"delta": "day", "seconds": 90_000}, "between 1 and 86400"),
        ({"delta": "day", "seconds": "1h"}, "seconds must be a number"),
        ({"delta": "day", "seconds": 1.5}, "whole number"),
        ({"delta": "day", "seconds": 60, "languages": "Python"}, None),  # a comma string is read as a list
        ({"delta": "day", "seconds": 60, "languages": [1]}, "list of names"),
        ({"delta": "day", "seconds": 60, "ignore_days": ["funday"]}, "not a weekday"),
        ({"delta": "day", "seconds": 60, "is_inverse": "yes"}, "true or false"),
        ({"delta": "day", "seconds": 60, "improve_by_percent": 10}, "not supported"),
        ([1, 2], "JSON object"),
    ):
        response = world.api("POST", json=body)
        if message is None:
            assert response.status_code == 201 and response.json()["data"]["languages"] == ["Python"]
        else:
            assert response.status_code == 400 and message in response.json()["error"], (body, response.text)
    assert world.api("POST", content=b"{not json").status_code == 400
    assert world.api("POST", json={"delta": "day", "seconds": 60}, read_only=True).status_code == 403

    goal = create(world, {"delta": "day", "seconds": 600, "projects": ["alpha"], "title": "  Mine  "})
    assert goal["title"] == goal["custom_title"] == "Mine"
    path = f"/{goal['id']}"
    # Bob cannot see, change or delete Alice's goal: it does not exist for him.
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = world.api(method, path, who="bob", json={"delta": "day", "seconds": 60})
        assert response.status_code == 404 and response.json() == {"error": "no such goal"}
    assert world.api("GET", "/not-a-goal").status_code == 404
    assert world.client.get(f"/api/v1/users/bob/goals{path}", headers=basic_auth(world.alice.key)).status_code == 404

    patched = world.api("PATCH", path, json={"seconds": 1200, "is_enabled": False}).json()["data"]
    assert (patched["seconds"], patched["projects"], patched["is_enabled"]) == (1200, ["alpha"], False)
    assert patched["modified_at"] is not None and patched["created_at"] == goal["created_at"]
    assert world.api("PATCH", path, json={"seconds": -5}).status_code == 400
    replaced = world.api("PUT", path, json={"delta": "week", "seconds": 7200}).json()["data"]
    assert (replaced["delta"], replaced["projects"], replaced["custom_title"]) == ("week", [], None)
    assert world.api("DELETE", path).json() == {"data": {"id": goal["id"], "deleted": True}}
    assert world.api("GET", path).status_code == 404 and world.api("DELETE", path).status_code == 404


def test_a_goal_made_in_the_dashboard_shows_in_the_api_with_the_status_bar_seconds(world: World) -> None:
    client = world.client
    login(client, "alice")
    token = csrf_token(client, "/goals")

    def submit(path: str, data: dict[str, str]) -> Any:
        return client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)

    assert client.post("/goals", data={"delta": "day", "hours": "1"}, follow_redirects=False).status_code == 403
    before = {g["id"] for g in world.api("GET").json()["data"]}
    response = submit("/goals", {"delta": "day", "hours": "0", "minutes": "45", "is_enabled": "1"})
    assert response.status_code == 303, response.text[:500]
    (listed,) = [g for g in world.api("GET").json()["data"] if g["id"] not in before]
    goal = world.api("GET", f"/{listed['id']}").json()["data"]
    status_bar = client.get("/api/v1/users/current/statusbar/today", headers=basic_auth(world.alice.key)).json()
    today = goal["chart_data"][-1]
    assert today["range"]["date"] == TODAY.isoformat() and today["actual_seconds"] > 0
    assert today["actual_seconds"] == pytest.approx(status_bar["data"]["grand_total"]["total_seconds"], abs=1e-9)
    assert (goal["seconds"], goal["title"], today["range_status"]) == (2700, "Code 45 mins per day", "success")

    html = client.get("/").text  # the dashboard's card for it
    card = re.search(rf'data-goal-id="{goal["id"]}" data-status="(\w+)">.*?data-seconds="([^"]+)"', html, re.S)
    assert card and card.group(1) == "success" and float(card.group(2)) == pytest.approx(today["actual_seconds"])

    # A bad form says why (on the goals page, with its history); edits and deletes pass the API's checks.
    bad = submit("/goals", {"delta": "day", "hours": "30"})
    assert bad.status_code == 400 and "between 1 and 86400" in bad.text
    section = bad.text[bad.text.index(f'id="goal-{goal["id"]}"'):]
    assert section[:section.index("</section>")].count("<tr data-date=") == 28  # four weeks of days
    edited = submit(f"/goals/{goal['id']}", {"delta": "week", "hours": "10", "ignore_sunday": "1"})
    assert edited.status_code == 303
    again = world.api("GET", f"/{goal['id']}").json()["data"]
    assert (again["delta"], again["seconds"], again["ignore_days"], again["is_enabled"]) == \
        ("week", 36000, ["sunday"], False)
    other = world.client.post(API, json={"delta": "day", "seconds": 60}, headers=basic_auth(world.bob.key))
    assert submit(f"/goals/{other.json()['data']['id']}/delete", {}).status_code == 404
    assert submit(f"/goals/{goal['id']}/delete", {}).status_code == 303
    assert goal["id"] not in {g["id"] for g in world.api("GET").json()["data"]}
    client.cookies.clear()


def test_cli_goal_add_list_rm(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Without a server the commands use the data dir's store (no analytics replica for definitions)."""
    settings = world_settings(tmp_path / "cli", request)
    with open_store(settings) as store:
        user = store.create_user("carol")
    env = {"HOME": str(tmp_path), "HACKATIME_API_KEY": ""}
    base = ("--data-dir", settings.data_dir)
    added = json.loads(run_cli(*base, "goal", "add", "--per", "day", "--minutes", "5", "--language", "Python",
                               "--ignore-day", "sun", "--json", env=env).stdout)
    assert UUID4.match(added["id"]) and added["title"] == "Code 5 mins per day in Python"
    bad = run_cli(*base, "goal", "add", "--per", "month", "--hours", "1", env=env, check=False)
    assert bad.returncode == 1 and "delta must be" in bad.stderr
    table = run_cli(*base, "goal", "list", env=env).stdout
    assert added["id"] in table and "5 mins" in table
    with open_store(settings) as store:
        (stored,) = store.list_goals(user.id)
        assert (stored.id, stored.spec.seconds, stored.spec.languages, stored.spec.ignore_days) == \
            (added["id"], 300, ("Python",), ("sunday",))

    removed = run_cli(*base, "goal", "rm", added["id"][:8], env=env)  # a unique start of the id will do
    assert "deleted goal" in removed.stdout
    with open_store(settings) as store:
        assert store.list_goals(user.id) == []


@pytest.mark.slow
def test_report_goals_with_and_without_a_server(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """`report goals` and `goal` in this process on the data dir, then through the server that holds it."""
    from tests.conftest import ServerProcess

    settings = world_settings(tmp_path / "served", request)  # the server reads the data dir's config.toml too
    server = ServerProcess(Path(settings.data_dir))
    data = ("--data-dir", str(server.data_dir))
    env = {"HOME": str(tmp_path), "HACKATIME_API_KEY": ""}
    run_cli(*data, "user", "create", "dora", env=env)
    api_key = json.loads(run_cli(*data, "key", "create", "dora", "--json", env=env).stdout)["api_key"]
    with open_store(settings) as store:
        dora = store.get_user_by_name("dora")
        assert dora is not None
        # Ending a minute ago, within today unless the test starts in the first 10 minutes after midnight UTC.
        now = dt.datetime.now(dt.UTC).timestamp()
        start = max(now - 540, dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0).timestamp())
        ingest(store, session(start, 8, language="Python"), IngestContext(user=dora, now=now))
    added = json.loads(run_cli(*data, "goal", "add", "--per", "day", "--minutes", "5", "--json", env=env).stdout)
    (local,) = json.loads(run_cli(*data, "report", "goals", "--json", env=env).stdout)
    assert local["id"] == added["id"] and len(local["periods"]) == 7
    # Nine heartbeats a minute apart: eight whole minutes (the last one covers nothing) under the one rule.
    assert local["periods"][-1]["actual_seconds"] == pytest.approx(8 * 60)
    assert local["periods"][-1]["status"] == "success"  # 8 minutes ≥ 5

    server.start()
    try:
        key = ("--key", api_key)  # the server on the data dir is found by itself; it needs the key
        (served,) = json.loads(run_cli(*data, "report", "goals", *key, "--json", env=env).stdout)
        assert served == local
        # On PostgreSQL neither the CLI nor the server made a SQLite file: both read the data dir's database_url.
        assert not settings.database_url or not settings.paths.database.exists()
        weekly = json.loads(run_cli(*data, "goal", "add", "--per", "week", "--hours", "3", "--at-most", *key,
                                    "--json", env=env).stdout)
        remote = ("--server", server.url, *key)
        report = json.loads(run_cli("report", "goals", *remote, "--json", env=env).stdout)
        assert [g["id"] for g in report] == [added["id"], weekly["id"]]
        assert report[1]["title"] == "Code at most 3 hrs per week" and report[1]["periods"][-1]["status"] == "pending"
        run_cli("goal", "rm", weekly["id"], *remote, env=env)
        run_cli("goal", "rm", added["id"], *remote, env=env)
        assert run_cli("goal", "rm", added["id"], *remote, env=env, check=False).returncode == 1
        assert json.loads(run_cli("goal", "list", *remote, "--json", env=env).stdout) == []
    finally:
        server.stop()


def test_goals_count_display_values_and_leave_excluded_projects_out(world: World) -> None:
    """A goal on a merged project counts every original merged into it; excluded projects count nowhere (the
    user's read-time rules, as on every other read). Dave has a world of his own: alice's rules stay untouched."""
    dave = make_account(world.store, "dave-goals", timezone=TZ)
    beats = [
        session(at(TODAY, 8), 30, language="Python", project="api-server"),
        session(at(TODAY, 9), 20, language="Python", project="api-client"),
        session(at(TODAY, 10), 25, language="Go", project="secret"),
        session(at(TODAY, 11), 15, language="Go", project="web"),
        session(at(days_ago(1), 14), 40, language="Python", project="api-client"),
        session(at(days_ago(1), 14, 41), 10, language="Go", project="secret"),  # right after: no gap
        session(at(days_ago(2), 23, 30), 60, language="Python", project="api-server"),  # over midnight
    ]
    for batch in beats:
        assert all(r.error is None for r in ingest(world.store, batch, IngestContext(user=dave.user, now=NOW)))
    for collection, body in (("aliases", {"dimension": "project", "pattern": "api-*", "value": "API"}),
                             ("exclusions", {"project": "secret", "mode": "exclude"})):
        response = world.client.post(f"/api/native/v1/users/current/{collection}", json=body,
                                     headers=basic_auth(dave.key))
        assert response.status_code == 201, response.text

    # The oracle over dave's stored heartbeats, filtered on stored values this test names itself.
    position = {name: STORED_COLUMNS.index(name) for name in ("id", "time", "project", "language", "editor",
                                                                "category", "entity", "type", "source")}
    stored = [oracle.Beat(id=row[position["id"]], user_id=dave.user.id, time=row[position["time"]],
                          **{name: row[index] for name, index in position.items() if name not in ("id", "time")})
              for row in world.store.heartbeat_rows(dave.user.id, None, None)]
    rule = oracle.Rule(timeout=world.settings.default_timeout, mode=world.settings.default_mode)
    ivs = oracle.intervals(stored, {dave.user.id: rule})

    def expected(projects: list[str | None]) -> dict[dt.date, float]:
        return oracle.daily(ivs, dave.user.id, TZ, days_ago(6), TODAY, {"project": projects})

    merged, counted = expected(["api-server", "api-client"]), expected(["api-server", "api-client", "web"])
    assert expected(["api-server"])[TODAY] > 0 and expected(["api-client"])[TODAY] > 0  # both originals count today
    assert expected(["secret"])[TODAY] > 0 and expected(["secret"])[days_ago(1)] > 0

    def actual(body: dict[str, Any]) -> dict[dt.date, float]:
        response = world.client.post(API, json=body, headers=basic_auth(dave.key))
        assert response.status_code == 201, response.text
        return {dt.date.fromisoformat(item["range"]["date"]): item["actual_seconds"]
                for item in response.json()["data"]["chart_data"]}

    assert actual({"delta": "day", "seconds": 3600, "projects": ["API"]}) == pytest.approx(merged)
    assert actual({"delta": "day", "seconds": 3600}) == pytest.approx(counted)
    assert set(actual({"delta": "day", "seconds": 60, "projects": ["secret"]}).values()) == {0.0}
    status_bar = world.client.get("/api/v1/users/current/statusbar/today", headers=basic_auth(dave.key)).json()
    assert status_bar["data"]["grand_total"]["total_seconds"] == pytest.approx(counted[TODAY])
