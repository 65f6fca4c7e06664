"""Contract tests of the WakaTime-compatible reads: status, documented fields, types, ordering, and values
against the analytics oracle on a seeded multi-zone data set (tests/read_api_helpers.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hackatime_lite.analytics.ranges import named_range
from hackatime_lite.api.wakatime import BASE_PATHS
from tests.conftest import load_fixture
from tests.read_api_helpers import FIXED, World, assert_entries_match, build_world, close, midnight_between

STATUS_BAR_DIMENSIONS = {"categories": "category", "projects": "project", "languages": "language",
                         "editors": "editor", "operating_systems": "operating_system", "machines": "machine",
                         "dependencies": "dependency"}
# WakaTime's documented stats fields (wakatime.com/developers#stats) that clients read.
STATS_FIELDS = {
    "total_seconds", "total_seconds_including_other_language", "human_readable_total",
    "human_readable_total_including_other_language", "daily_average", "daily_average_including_other_language",
    "human_readable_daily_average", "human_readable_daily_average_including_other_language", "categories",
    "projects", "languages", "editors", "operating_systems", "dependencies", "machines", "best_day", "range",
    "human_readable_range", "holidays", "days_including_holidays", "days_minus_holidays", "status",
    "percent_calculated", "is_already_updating", "is_coding_activity_visible", "is_other_usage_visible",
    "is_stuck", "is_including_today", "is_up_to_date", "start", "end", "timezone", "timeout", "writes_only",
    "user_id", "username", "created_at", "modified_at",
}


# Its tests share a module-scoped world: one worker builds it once (`--dist loadgroup`, pyproject).
pytestmark = pytest.mark.xdist_group("read-api-contract")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from build_world(Path(tmp_path_factory.mktemp("read-api")))


def key_shape(value: Any) -> Any:
    """Keys at every level; a list's shape is the union of its items' shapes."""
    if isinstance(value, dict):
        return {k: key_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        merged: dict[str, Any] = {}
        for item in value:
            shape = key_shape(item)
            if isinstance(shape, dict):
                merged.update(shape)
        return [merged] if merged else []
    return None


# -- status bar -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/users/current/statusbar/today", "/users/current/status_bar/today"])
def test_status_bar_has_the_fixture_key_set_at_every_level(world: World, path: str) -> None:
    fixture = load_fixture("pkg_api__api_statusbar_today_response.json")
    for base in BASE_PATHS:
        response = world.get(base + path, "alice")
        assert response.status_code == 200
        assert key_shape(response.json()) == key_shape(fixture)


@pytest.mark.parametrize("name", ["alice", "bob", "carol"])
def test_status_bar_values_match_the_oracle(world: World, name: str) -> None:
    user = world.user(name)
    body = world.get("/api/v1/users/current/statusbar/today", name).json()
    data = body["data"]
    start, end = world.day(user, world.today(user))
    total = world.total(user, start, end)
    assert total > 0
    grand = data["grand_total"]
    assert close(grand["total_seconds"], total, 1e-3)
    assert type(grand["hours"]) is int and type(grand["minutes"]) is int
    assert grand["hours"] * 3600 + grand["minutes"] * 60 <= total < grand["hours"] * 3600 + (grand["minutes"] + 1) * 60
    assert grand["digital"] == f"{grand['hours']}:{grand['minutes']:02d}"
    for key, dimension in STATUS_BAR_DIMENSIONS.items():
        assert_entries_match(data[key], world.breakdown(user, start, end, dimension))
    assert data["range"]["date"] == world.today(user).isoformat()
    assert data["range"]["timezone"] == user.timezone
    assert dt.datetime.fromisoformat(data["range"]["start"]).timestamp() == start
    assert dt.datetime.fromisoformat(data["range"]["end"]).timestamp() == end - 1
    assert body["cached_at"] == dt.datetime.fromtimestamp(FIXED, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- summaries --------------------------------------------------------------------------------------------
def test_summaries_per_day_values_match_the_oracle(world: World) -> None:
    carol = world.user("carol")  # Los Angeles, keystroke mode with a 5-minute timeout
    today = world.today(carol)
    start_day = today - dt.timedelta(days=9)
    response = world.get(f"/api/v1/users/current/summaries?start={start_day}&end={today}", "carol")
    assert response.status_code == 200
    body = response.json()
    assert len(body["data"]) == 10
    cumulative = 0.0
    for offset, day in enumerate(body["data"]):
        date = start_day + dt.timedelta(days=offset)
        start, end = world.day(carol, date)
        expected = world.total(carol, start, end)
        cumulative += expected
        assert day["range"]["date"] == date.isoformat()
        assert close(day["grand_total"]["total_seconds"], expected, 1e-3)
        assert_entries_match(day["projects"], world.breakdown(carol, start, end, "project"))
        assert_entries_match(day["languages"], world.breakdown(carol, start, end, "language"))
        assert set(STATUS_BAR_DIMENSIONS) <= set(day)
    assert close(body["cumulative_total"]["seconds"], cumulative, 1e-3)
    assert set(body["cumulative_total"]) == {"seconds", "text", "decimal", "digital"}
    average = body["daily_average"]
    active = [d for d in body["data"] if d["grand_total"]["total_seconds"] > 0]
    assert average["days_including_holidays"] == 10
    assert average["days_minus_holidays"] == len(active)
    assert average["holidays"] == 10 - len(active)
    assert close(average["seconds_including_other_language"], cumulative / len(active), 1e-3)
    assert {"start", "end"} <= set(body)


def test_summaries_yesterday_in_berlin_splits_the_session_across_local_midnight(world: World) -> None:
    bob = world.user("bob")
    today = world.today(bob)
    yesterday = today - dt.timedelta(days=1)
    body = world.get("/api/v1/users/current/summaries?range=Yesterday", "bob").json()
    (day,) = body["data"]
    assert day["range"]["date"] == yesterday.isoformat()
    start, end = world.day(bob, yesterday)
    assert end == midnight_between(bob, 0)
    assert close(day["grand_total"]["total_seconds"], world.total(bob, start, end), 1e-3)
    # The night session runs 23:50-00:10 with 60 s heartbeats (capped mode, 2 min timeout): ten whole intervals
    # before midnight; after it ten more plus the last heartbeat's capped 2 minutes (its successor is hours away).
    night = {"project": ["night"]}
    assert world.total(bob, end - 3600, end, night) == 600
    assert world.total(bob, end, end + 3600, night) == 600 + 120
    projects = {e["name"]: e["total_seconds"] for e in day["projects"]}
    assert projects["night"] == world.total(bob, start, end, night)
    today_body = world.get("/api/v1/users/current/summaries?range=today", "bob").json()
    today_projects = {e["name"]: e["total_seconds"] for e in today_body["data"][0]["projects"]}
    assert today_projects["night"] == 720
    today_start, today_end = world.day(bob, today)
    assert today_start == end
    both = day["grand_total"]["total_seconds"] + today_body["data"][0]["grand_total"]["total_seconds"]
    assert close(both, world.total(bob, start, today_end), 1e-3)


def test_summaries_with_project_filter_have_branches_and_entities(world: World) -> None:
    alice = world.user("alice")
    today = world.today(alice)
    response = world.get(f"/api/v1/users/current/summaries?start={today}&end={today}&project=alpha&branches=",
                         "alice")
    assert response.status_code == 200
    (day,) = response.json()["data"]
    start, end = world.day(alice, today)
    only_alpha = {"project": ["alpha"]}
    assert close(day["grand_total"]["total_seconds"], world.total(alice, start, end, only_alpha), 1e-3)
    assert_entries_match(day["branches"], world.breakdown(alice, start, end, "branch", only_alpha))
    assert_entries_match(day["entities"], world.breakdown(alice, start, end, "entity", only_alpha))


def test_summaries_human_ranges_and_timezone_parameter(world: World) -> None:
    alice = world.user("alice")
    for name, days in (("Last 7 Days", 7), ("Last 7 Days from Yesterday", 7), ("Last 14 Days", 14),
                       ("Last 30 Days", 30), ("This Week", None), ("Last Week", 7), ("This Month", None),
                       ("Last Month", 29)):
        body = world.get("/api/v1/users/current/summaries", "alice", params={"range": name}).json()
        rng = named_range(name, today=world.today(alice), tz="UTC")
        assert next(d["range"]["date"] for d in body["data"]) == rng.start.isoformat()
        if days is not None:
            assert len(body["data"]) == days
    tokyo = world.get("/api/v1/users/current/summaries?range=today&timezone=Asia/Tokyo", "alice").json()
    day = dt.datetime.fromtimestamp(FIXED, dt.timezone(dt.timedelta(hours=9))).date()
    start, end = world.day(alice, day, "Asia/Tokyo")
    assert tokyo["data"][0]["range"]["timezone"] == "Asia/Tokyo"
    assert close(tokyo["data"][0]["grand_total"]["total_seconds"], world.total(alice, start, end), 1e-3)


# -- stats ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["alice", "bob", "carol"])
def test_stats_last_7_days_fields_and_values(world: World, name: str) -> None:
    user = world.user(name)
    response = world.get("/api/v1/users/current/stats/last_7_days", name)
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) >= STATS_FIELDS
    today = world.today(user)
    first = today - dt.timedelta(days=6)
    start, _ = world.day(user, first)
    _, end = world.day(user, today)
    total = world.total(user, start, end)
    other = world.breakdown(user, start, end, "language").get("Other", 0.0)
    assert close(data["total_seconds_including_other_language"], total, 1e-3)
    assert close(data["total_seconds"], total - other, 1e-3)
    for key in ("languages", "projects", "editors", "operating_systems", "machines", "categories"):
        assert_entries_match(data[key], world.breakdown(user, start, end, STATUS_BAR_DIMENSIONS[key]))
    daily = {first + dt.timedelta(days=i): world.total(user, *world.day(user, first + dt.timedelta(days=i)))
             for i in range(7)}
    best = max(daily.items(), key=lambda kv: (kv[1], -kv[0].toordinal()))
    assert data["best_day"]["date"] == best[0].isoformat()
    assert close(data["best_day"]["total_seconds"], best[1], 1e-3)
    active = [s for s in daily.values() if s > 0]
    assert data["days_minus_holidays"] == len(active) and data["days_including_holidays"] == 7
    assert close(data["daily_average_including_other_language"], total / len(active), 1e-3)
    assert data["status"] == "ok" and data["range"] == "last_7_days" and data["is_up_to_date"] is True
    assert data["timezone"] == user.timezone and data["percent_calculated"] == 100
    assert type(data["timeout"]) is int and data["username"] == name
    assert data["is_coding_activity_visible"] is True and data["is_other_usage_visible"] is True


def test_alice_has_a_holiday_in_her_last_7_days(world: World) -> None:
    data = world.get("/api/v1/users/current/stats/last_7_days", "alice").json()["data"]
    assert data["holidays"] == 1 and data["days_minus_holidays"] == 6


@pytest.mark.parametrize("range_name", ["last_30_days", "last_6_months", "last_year", "all_time", "2024", "2024-03",
                                        "today", "yesterday", "week", "month"])
def test_stats_ranges_answer_200_with_oracle_totals(world: World, range_name: str) -> None:
    bob = world.user("bob")
    response = world.get(f"/api/v1/users/bob/stats/{range_name}", "bob")
    assert response.status_code == 200
    data = response.json()["data"]
    first_time = world.rows(bob)[0]["time"]
    first_day = dt.datetime.fromtimestamp(first_time, ZoneInfo(bob.timezone)).date()
    rng = named_range(range_name, today=world.today(bob), tz=bob.timezone, first_day=first_day)
    start, end = rng.window
    assert close(data["total_seconds_including_other_language"], world.total(bob, start, end), 1e-3)
    assert data["start"] == dt.datetime.fromtimestamp(start, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_stats_without_range_is_the_last_7_days_and_never_202(world: World) -> None:
    response = world.get("/api/v1/users/current/stats?is_including_today=true", "bob")
    assert response.status_code == 200
    assert response.json()["data"]["range"] == "last_7_days"


# -- durations, all time, heartbeats ------------------------------------------------------------------------
@pytest.mark.parametrize("slice_by", ["project", "language", "entity"])
def test_durations_add_up_to_the_day_total(world: World, slice_by: str) -> None:
    bob = world.user("bob")
    day = world.today(bob) - dt.timedelta(days=2)
    body = world.get(f"/api/v1/users/current/durations?date={day}&slice_by={slice_by}", "bob").json()
    start, end = world.day(bob, day)
    assert close(sum(d["duration"] for d in body["data"]), world.total(bob, start, end), 1e-3)
    times = [d["time"] for d in body["data"]]
    assert times == sorted(times) and all(start <= t < end for t in times)
    assert all(set(d) == {slice_by, "time", "duration", "color"} for d in body["data"])
    assert body["timezone"] == "Europe/Berlin"
    per_value: dict[str, float] = {}
    for d in body["data"]:
        per_value[d[slice_by]] = per_value.get(d[slice_by], 0.0) + d["duration"]
    expected = world.breakdown(bob, start, end, slice_by)
    assert set(per_value) == set(expected)
    assert all(close(per_value[k], expected[k], 1e-3) for k in expected)


def test_all_time_since_today(world: World) -> None:
    carol = world.user("carol")
    data = world.get("/api/v1/users/current/all_time_since_today", "carol").json()["data"]
    total = world.total(carol, None, None)
    assert close(data["total_seconds"], total, 1e-3)
    assert data["is_up_to_date"] is True and data["percent_calculated"] == 100
    assert {"start", "start_date", "start_text", "end", "end_date", "end_text", "timezone"} == set(data["range"])
    assert data["range"]["end_date"] == world.today(carol).isoformat()
    alpha = world.get("/api/v1/users/current/all_time_since_today?project=alpha", "carol").json()["data"]
    assert close(alpha["total_seconds"], world.total(carol, None, None, {"project": ["alpha"]}), 1e-3)


def test_heartbeats_for_a_date_are_that_local_day_in_the_users_zone(world: World) -> None:
    bob = world.user("bob")
    yesterday = world.today(bob) - dt.timedelta(days=1)
    body = world.get(f"/api/v1/users/current/heartbeats?date={yesterday}", "bob").json()
    start, end = world.day(bob, yesterday)
    expected = [r["id"] for r in world.rows(bob) if start <= r["time"] < end]
    assert [int(h["id"]) for h in body["data"]] == expected
    night = [h for h in body["data"] if h["project"] == "night"]
    # 00:00-00:10 of yesterday (11 beats from 00:00) and 23:50-23:59 (10 beats): never today's 00:00.
    assert len(night) == 21
    assert all(start <= h["time"] < end for h in body["data"])
    first = body["data"][0]
    assert {"id", "entity", "type", "category", "time", "project", "branch", "language", "dependencies",
            "is_write", "user_agent_id", "machine_name_id", "created_at", "user_id"} <= set(first)
    assert body["timezone"] == "Europe/Berlin"


def test_deleting_heartbeats_reaches_the_replica(world: World) -> None:
    erin = world.user("erin")
    today = world.today(erin)
    before = world.get("/api/v1/users/current/stats/today", "erin").json()["data"]
    rows = [r for r in world.rows(erin) if world.day(erin, today)[0] <= r["time"]]
    doomed = [str(r["id"]) for r in rows[: len(rows) // 2]]
    response = world.client.request("DELETE", "/api/v1/users/current/heartbeats.bulk",
                                    json={"date": today.isoformat(), "ids": doomed}, headers=world.headers("erin"))
    assert response.status_code == 200 and response.json()["data"]["deleted"] == len(doomed)
    after = world.get("/api/v1/users/current/stats/today", "erin").json()["data"]
    start, end = world.day(erin, today)
    assert close(after["total_seconds_including_other_language"], world.total(erin, start, end), 1e-3)
    assert after["total_seconds_including_other_language"] < before["total_seconds_including_other_language"]
    remaining = world.get(f"/api/v1/users/current/heartbeats?date={today}", "erin").json()["data"]
    assert not {h["id"] for h in remaining} & set(doomed)


# -- projects, machines, user agents, user, misc ---------------------------------------------------------------
def test_projects_with_search(world: World) -> None:
    alice = world.user("alice")
    body = world.get("/api/v1/users/current/projects", "alice").json()
    names = {r["project"] for r in world.rows(alice) if r["project"]}
    assert {p["name"] for p in body["data"]} == names == set(body["projects"])
    last = [p["last_heartbeat_at"] for p in body["data"]]
    assert last == sorted(last, reverse=True)
    for project in body["data"]:
        assert {"id", "name", "urlencoded_name", "last_heartbeat_at", "human_readable_last_heartbeat_at",
                "first_heartbeat_at", "created_at", "badge", "color", "repository", "has_public_url"} <= set(project)
    found = world.get("/api/v1/users/current/projects?q=ALP", "alice").json()
    assert [p["name"] for p in found["data"]] == ["alpha"]


def test_user_agents_and_machine_names(world: World) -> None:
    alice = world.user("alice")
    agents = world.get("/api/v1/users/current/user_agents", "alice").json()["data"]
    assert {a["value"] for a in agents} == {r["user_agent"] for r in world.rows(alice)}
    assert {a["editor"] for a in agents} == {"VS Code", "Vim"}
    assert all({"id", "value", "editor", "os", "version", "last_seen_at", "created_at"} <= set(a) for a in agents)
    machines = world.get("/api/v1/users/current/machine_names", "alice").json()["data"]
    assert {m["name"] for m in machines} == {"laptop", "desktop"}
    statusbar = world.get("/api/v1/users/current/statusbar/today", "alice").json()["data"]
    ids = {m["name"]: m["id"] for m in machines}
    assert all(m["machine_name_id"] == ids[m["name"]] for m in statusbar["machines"])


def test_user_object_and_static_endpoints(world: World) -> None:
    bob = world.user("bob")
    data = world.get("/api/v1/users/current", "bob").json()["data"]
    assert data["id"] == bob.public_id and data["username"] == "bob" and data["timezone"] == "Europe/Berlin"
    newest = world.rows(bob)[-1]
    assert data["last_project"] == newest["project"] and data["last_plugin_name"] == newest["editor"]
    assert world.get("/api/v1/users/current/goals", "bob").json() == {"data": [], "total": 0, "total_pages": 0}
    experts = world.client.post("/api/v1/users/current/file_experts", json={"entity": "x.py"},
                                headers=world.headers("bob"))
    assert experts.status_code == 200 and experts.json() == {"data": []}
    assert world.get("/api/v1/meta").status_code == 200
