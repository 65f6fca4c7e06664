"""Hackatime's own routes (spans, stats features, projects, my heartbeats, leaderboards, streaks), WakaTime's
leaders, and the settings API — values against the analytics oracle on the seeded world."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from hackatime_lite.analytics import leaderboards, oracle, streaks
from tests.read_api_helpers import FIXED, World, assert_entries_match, build_world, close

NATIVE_BASES = ("/api/v1", "/api/hackatime/v1")


# Its tests share a module-scoped world: one worker builds it once (`--dist loadgroup`, pyproject).
pytestmark = pytest.mark.xdist_group("native-read-api")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from build_world(Path(tmp_path_factory.mktemp("native-api")))


def build_boards(world: World) -> None:
    for board in leaderboards.compute_boards(world.replica, FIXED, world.settings):
        world.store.replace_leaderboard(board, FIXED)


@pytest.mark.parametrize("base", NATIVE_BASES)
def test_spans_match_the_oracle(world: World, base: str) -> None:
    bob = world.user("bob")
    today = world.today(bob)
    first = today - dt.timedelta(days=3)
    body = world.get(f"{base}/users/bob/heartbeats/spans?start_date={first}&end_date={today}", "bob").json()
    start, _ = world.day(bob, first)
    _, end = world.day(bob, today)
    expected = oracle.merged_spans(world.intervals(bob), bob.id, start, end)
    got = [(s["start_time"], s["end_time"]) for s in body["spans"]]
    assert len(got) == len(expected)
    assert all(close(a, c) and close(b, d) for (a, b), (c, d) in zip(got, expected, strict=True))
    assert all(close(s["duration"], s["end_time"] - s["start_time"]) for s in body["spans"])
    alpha = world.get(f"{base}/users/current/heartbeats/spans?filter_by_project=alpha", "bob").json()["spans"]
    assert close(sum(s["duration"] for s in alpha), world.total(bob, None, None, {"project": ["alpha"]}), 1e-3)


def test_hackatime_stats_features_dates_and_project_filter(world: World) -> None:
    carol = world.user("carol")
    today = world.today(carol)
    first = today - dt.timedelta(days=4)
    query = f"start_date={first}&end_date={today}&features=languages,projects&filter_by_project=alpha,beta"
    body = world.get(f"/api/v1/users/carol/stats?{query}", "carol").json()
    data = body["data"]
    start, _ = world.day(carol, first)
    _, end = world.day(carol, today)
    chosen = {"project": ["alpha", "beta"]}
    assert_entries_match(data["languages"], world.breakdown(carol, start, end, "language", chosen))
    assert_entries_match(data["projects"], world.breakdown(carol, start, end, "project", chosen))
    assert data["editors"] == [] and data["operating_systems"] == []
    assert data["range"] == "custom" and "streak" not in data  # only from the scheduler's streak cache
    assert body["trust_factor"]["trust_level"] == "default"
    cached = streaks.compute_streak_details(world.replica, FIXED, world.settings)
    world.store.replace_streaks(cached, FIXED)
    again = world.get(f"/api/v1/users/carol/stats?{query}", "carol").json()["data"]
    assert again["streak"] == cached[carol.id].current
    total = world.get(f"/api/v1/users/carol/stats?{query}&total_seconds=true", "carol").json()
    assert set(total) == {"total_seconds"}
    assert close(total["total_seconds"], world.total(carol, start, end, chosen), 1e-3)
    limited = world.get(f"/api/v1/users/carol/stats?{query}&limit=1", "carol").json()["data"]
    assert len(limited["projects"]) == 1


def test_projects_names_and_details(world: World) -> None:
    alice = world.user("alice")
    rows = [r for r in world.rows(alice) if r["project"]]
    names = world.get("/api/v1/users/alice/projects", "alice").json()["projects"]
    assert set(names) == {r["project"] for r in rows}
    details = world.get("/api/v1/users/alice/projects/details", "alice").json()["projects"]
    totals = [d["total_seconds"] for d in details]
    assert totals == sorted(totals, reverse=True)
    expected = world.breakdown(alice, None, None, "project")
    for detail in details:
        mine = [r for r in rows if r["project"] == detail["name"]]
        assert close(detail["total_seconds"], expected[detail["name"]], 1e-3)
        assert detail["total_heartbeats"] == len(mine)
        assert detail["languages"] == sorted({r["language"] for r in mine if r["language"]})
        assert detail["first_heartbeat"] == dt.datetime.fromtimestamp(int(mine[0]["time"]), dt.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
    one = world.get("/api/hackatime/v1/users/alice/project/alpha", "alice").json()
    assert one == next(d for d in details if d["name"] == "alpha")
    only_beta = world.get("/api/v1/users/alice/projects/details?projects=beta", "alice").json()["projects"]
    assert [d["name"] for d in only_beta] == ["beta"]
    assert world.get("/api/v1/users/alice/project/nope", "alice").status_code == 404


def test_my_heartbeats_and_most_recent(world: World) -> None:
    bob = world.user("bob")
    start, end = world.day(bob, world.today(bob))
    body = world.get("/api/v1/my/heartbeats", "bob").json()
    expected = [r for r in world.rows(bob) if start <= r["time"] < end]
    assert [h["id"] for h in body["heartbeats"]] == [r["id"] for r in expected]
    assert close(body["total_seconds"], world.total(bob, start, end), 1e-3)
    assert all(h["source_type"] == "direct" and "source" not in h for h in body["heartbeats"])
    newest = world.rows(bob)[-1]
    recent = world.get("/api/hackatime/v1/my/heartbeats/most_recent", "bob").json()
    assert recent["has_heartbeat"] is True and recent["heartbeat"]["id"] == newest["id"]
    assert recent["editor"] == newest["editor"] and recent["time_ago"].endswith("ago")
    vim = world.get("/api/v1/my/heartbeats/most_recent?editor=VIM", "bob").json()
    assert vim["editor"] == "Vim"
    none = world.get("/api/v1/my/heartbeats/most_recent", "dave").json()
    assert none == {"has_heartbeat": False, "heartbeat": None, "editor": None, "time_ago": None}


def test_leaderboards_say_not_built_then_serve_the_built_board(world: World) -> None:
    for path in ("/api/v1/leaderboard", "/api/v1/leaderboard/weekly", "/api/v1/leaders"):
        response = world.get(path, "bob")
        assert response.status_code == 503 and "not built" in response.json()["error"]
        assert response.headers["retry-after"]
    build_boards(world)
    weekly = world.get("/api/v1/leaderboard/weekly", "bob").json()
    assert weekly["period"] == "last_7_days"
    coding = {"category": world.settings.leaderboard_categories}
    for entry in weekly["entries"]:
        user = world.user(entry["user"]["username"])
        today = world.today(user)
        start, _ = world.day(user, today - dt.timedelta(days=6))
        _, end = world.day(user, today)
        assert close(entry["total_seconds"], world.total(user, start, end, coding), 1e-3)
    seconds = [int(e["total_seconds"]) for e in weekly["entries"]]
    assert seconds == sorted(seconds, reverse=True)
    assert next(e["rank"] for e in weekly["entries"]) == 1
    leaders = world.get("/api/v1/leaders", "bob").json()
    assert [d["user"]["username"] for d in leaders["data"]] == [e["user"]["username"] for e in weekly["entries"]]
    assert leaders["current_user"]["user"]["username"] == "bob" and leaders["page"] == 1
    assert {"total_seconds", "human_readable_total", "daily_average", "human_readable_daily_average",
            "languages"} <= set(leaders["data"][0]["running_total"])
    assert leaders["range"]["name"] == "last_7_days"
    python = world.get("/api/v1/leaders?language=Python", "bob").json()
    assert python["language"] == "Python" and python["data"]
    empty_page = world.get("/api/v1/leaders?page=5", "bob").json()
    assert empty_page["data"] == [] and empty_page["page"] == 5
    daily = world.get("/api/hackatime/v1/leaderboard/daily", "bob").json()
    assert daily["period"] == "today"


def test_streak_counts_qualifying_days_in_the_users_zone(world: World) -> None:
    bob = world.user("bob")
    today = world.today(bob)
    coding = {"category": world.settings.leaderboard_categories}
    threshold = world.settings.streak_min_minutes * 60
    day = today if world.total(bob, *world.day(bob, today), coding) >= threshold else today - dt.timedelta(days=1)
    expected = 0
    while world.total(bob, *world.day(bob, day), coding) >= threshold:
        expected += 1
        day -= dt.timedelta(days=1)
    body = world.get("/api/v1/users/bob/streak", "bob").json()
    assert body["streak_days"] == body["current"] == expected
    assert body["longest"] >= expected


# -- settings ----------------------------------------------------------------------------------------------
def test_settings_read_and_change(world: World) -> None:
    data = world.get("/api/native/v1/settings", "gina").json()["data"]
    assert data["timezone"] == "UTC" and data["timeout"] is None
    assert data["effective_timeout"] == world.settings.default_timeout
    assert data["effective_duration_mode"] == world.settings.default_mode
    change = {"timezone": "Asia/Tokyo", "timeout": 300, "duration_mode": "keystroke", "share_stats": True,
              "share_languages": True, "share_max_days": 14, "leaderboard_opt_out": True}
    response = world.client.patch("/api/native/v1/settings", json=change, headers=world.headers("gina"))
    assert response.status_code == 200
    updated = response.json()["data"]
    assert {k: updated[k] for k in change} == change
    assert updated["effective_timeout"] == 300 and updated["effective_duration_mode"] == "keystroke"
    bar = world.get("/api/v1/users/current/statusbar/today", "gina").json()["data"]
    assert bar["range"]["timezone"] == "Asia/Tokyo"
    assert world.get("/api/v1/users/gina/stats").status_code == 200  # now shared publicly
    reset = world.client.patch("/api/native/v1/settings", json={"timeout": None, "share_stats": False,
                                                                 "share_languages": False},
                               headers=world.headers("gina"))
    assert reset.json()["data"]["timeout"] is None
    assert world.get("/api/v1/users/gina/stats").status_code == 403
    read_only = world.client.patch("/api/native/v1/settings", json={"timezone": "UTC"},
                                   headers=world.headers("gina", read_only=True))
    assert read_only.status_code == 403
