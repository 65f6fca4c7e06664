"""Who may read what: the authorization matrix over every read endpoint, public sharing, CORS, and bad input
(always a 400 JSON error, never a 500)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from hackatime_lite.analytics import leaderboards
from tests._fast_requests import Call, send_all
from tests.conftest import basic_auth
from tests.read_api_helpers import FIXED, World, assert_entries_match, build_world, close

DAY = "2024-03-18"
# (method, path with {u} for the user whose data is read, JSON body)
USER_ENDPOINTS = [
    ("GET", "/api/v1/users/{u}/statusbar/today", None),
    ("GET", "/api/compat/wakatime/v1/users/{u}/status_bar/today", None),
    ("GET", "/api/v1/users/{u}/summaries?range=today", None),
    ("GET", "/api/v1/users/{u}/stats/last_7_days", None),
    ("GET", "/api/hackatime/v1/users/{u}/stats", None),
    ("GET", f"/api/v1/users/{{u}}/durations?date={DAY}", None),
    ("GET", "/api/v1/users/{u}/all_time_since_today", None),
    ("GET", f"/api/v1/users/{{u}}/heartbeats?date={DAY}", None),
    ("DELETE", "/api/v1/users/{u}/heartbeats.bulk", {"ids": []}),
    ("GET", "/api/v1/users/{u}/projects?q=a", None),
    ("GET", "/api/v1/users/{u}/user_agents", None),
    ("GET", "/api/v1/users/{u}/machine_names", None),
    ("GET", "/api/v1/users/{u}", None),
    ("GET", "/api/v1/users/{u}/goals", None),
    ("POST", "/api/v1/users/{u}/file_experts", {"entity": "a.py"}),
    ("GET", "/api/hackatime/v1/users/{u}/heartbeats/spans", None),
    ("GET", "/api/v1/users/{u}/projects/details", None),
    ("GET", "/api/v1/users/{u}/project/alpha", None),
    ("GET", "/api/v1/users/{u}/streak", None),
]
CALLER_ENDPOINTS = [
    ("GET", "/api/v1/leaders", None),
    ("GET", "/api/v1/leaderboard", None),
    ("GET", "/api/v1/leaderboard/daily", None),
    ("GET", "/api/hackatime/v1/leaderboard/weekly", None),
    ("GET", "/api/v1/my/heartbeats", None),
    ("GET", "/api/v1/my/heartbeats/most_recent", None),
    ("GET", "/api/native/v1/settings", None),
    ("PATCH", "/api/native/v1/settings", {}),
]
WRITES = {"DELETE", "PATCH"}


# Its tests share a module-scoped world: one worker builds it once (`--dist loadgroup`, pyproject).
pytestmark = pytest.mark.xdist_group("read-api-access")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    for built in build_world(Path(tmp_path_factory.mktemp("read-access"))):
        boards = leaderboards.compute_boards(built.replica, FIXED, built.settings)
        for board in boards:
            built.store.replace_leaderboard(board, FIXED)
        yield built


def call(world: World, method: str, path: str, body: object, headers: dict[str, str]) -> object:
    return world.client.request(method, path, json=body, headers=headers)


def caller_headers(world: World, caller: str) -> dict[str, str]:
    return {
        "none": {},
        "other": world.headers("dave"),
        "read_only": world.headers("bob", read_only=True),
        "own": world.headers("bob"),
        "admin": world.headers("alice"),
    }[caller]


@pytest.mark.parametrize("caller", ["none", "other", "read_only", "own", "admin"])
def test_authorization_matrix_for_a_users_data(world: World, caller: str) -> None:
    bob = world.user("bob")
    headers = caller_headers(world, caller)
    cases = [(method, template, body, ref) for method, template, body in USER_ENDPOINTS
             for ref in ("bob", bob.public_id)]
    # In order, as one batch (tests/_fast_requests.py: the same requests, a third of the client's overhead).
    answers = send_all(world.client, [Call.with_json(m, t.format(u=ref), body, headers) for m, t, body, ref in cases])
    for (method, template, _, _), response in zip(cases, answers, strict=True):
        if caller == "none":
            # bob shares nothing: his stats are 403 (not shared), everything else needs a key
            expected = 403 if "/stats" in template else 401
        elif caller == "other":
            expected = 403
        elif caller == "read_only":
            expected = 403 if method in WRITES else 200
        else:
            expected = 200
        assert response.status_code == expected, (caller, method, template, response.text)
        if expected != 200:
            assert set(response.json()) == {"error"}
            assert "bob" not in response.text.lower()


@pytest.mark.parametrize("caller", ["none", "read_only", "own"])
def test_authorization_matrix_for_caller_endpoints(world: World, caller: str) -> None:
    headers = caller_headers(world, caller)
    for method, path, body in CALLER_ENDPOINTS:
        response = call(world, method, path, body, headers)
        if caller == "none":
            expected = 401
        elif caller == "read_only" and method in WRITES:
            expected = 403
        else:
            expected = 200
        assert response.status_code == expected, (caller, method, path, response.text)


def test_current_means_the_caller_never_someone_else(world: World) -> None:
    """dave has no heartbeats: with his key, `current` shows nothing of bob's."""
    data = world.get("/api/v1/users/current/statusbar/today", "dave").json()["data"]
    assert data["grand_total"]["total_seconds"] == 0 and data["projects"] == []
    assert world.get("/api/v1/my/heartbeats", "dave").json()["heartbeats"] == []
    assert world.get("/api/v1/users/current/projects", "dave").json()["data"] == []
    bob = world.user("bob")
    admin_view = world.get(f"/api/v1/users/{bob.username}/stats/last_7_days", "alice").json()["data"]
    assert admin_view["username"] == "bob"
    assert world.get("/api/v1/users/nobody-here/stats", "alice").status_code == 404


def test_deleting_someone_elses_heartbeat_ids_deletes_nothing(world: World) -> None:
    bob = world.user("bob")
    before = len(world.rows(bob))
    ids = [r["id"] for r in world.rows(bob)[:5]]
    response = world.client.request("DELETE", "/api/v1/users/current/heartbeats.bulk", json={"ids": ids},
                                    headers=world.headers("dave"))
    assert response.status_code == 200 and response.json() == {"data": {"deleted": 0}}
    assert len(world.rows(bob)) == before


def test_revoked_and_malformed_keys_are_401(world: World) -> None:
    for headers in ({"Authorization": "Basic bm90LWEta2V5"}, {"Authorization": "Bearer nope"},
                    basic_auth("00000000-0000-4000-8000-000000000000")):
        response = world.client.get("/api/v1/users/current/statusbar/today", headers=headers)
        assert response.status_code == 401 and response.json() == {"error": "Unauthorized"}


# -- public sharing ------------------------------------------------------------------------------------------
def test_shared_stats_answer_unauthenticated_like_github_readme_stats_expects(world: World) -> None:
    frank = world.user("frank")
    response = world.client.get("/api/v1/users/frank/stats?is_including_today=true",
                                headers={"Origin": "https://github-readme-stats.vercel.app"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    data = response.json()["data"]
    assert data["range"] == "last_7_days"
    assert data["is_coding_activity_visible"] is True and data["is_other_usage_visible"] is False
    today = dt.datetime.fromtimestamp(FIXED, dt.UTC).date()
    start, _ = world.day(frank, today - dt.timedelta(days=6))
    _, end = world.day(frank, today)
    assert_entries_match(data["languages"], world.breakdown(frank, start, end, "language"))
    for language in data["languages"]:
        assert {"name", "percent", "text", "hours", "minutes"} <= set(language)
    assert data["projects"] == [] and data["editors"] == [] and data["machines"] == []
    assert close(data["total_seconds_including_other_language"], world.total(frank, start, end), 1e-3)
    # another user's key sees the same public view, not more
    as_dave = world.get("/api/v1/users/frank/stats", "dave").json()["data"]
    assert as_dave["projects"] == [] and as_dave["languages"] == data["languages"]
    # the owner sees everything
    assert world.get("/api/v1/users/frank/stats", "frank").json()["data"]["projects"]


def test_sharing_limits_and_refusals(world: World) -> None:
    assert world.get("/api/v1/users/frank/stats/last_30_days").status_code == 200
    too_far = world.get("/api/v1/users/frank/stats/last_year")
    assert too_far.status_code == 403 and "30 days" in too_far.json()["error"]
    assert world.get("/api/v1/users/bob/stats").status_code == 403
    assert world.get("/api/v1/users/no-such-user/stats").status_code == 404
    assert world.get("/api/v1/users/current/stats").status_code == 401
    bad_key = world.client.get("/api/v1/users/frank/stats", headers=basic_auth("00000000-0000-4000-8000-0000000000ff"))
    assert bad_key.status_code == 401
    # sharing covers stats only: frank's summaries still need his key
    assert world.get("/api/v1/users/frank/summaries?range=today").status_code == 401


def test_cors_preflight_allows_authorization_on_reads(world: World) -> None:
    response = world.client.options("/api/v1/users/current/stats", headers={
        "Origin": "https://example.com", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert response.status_code in (200, 204)
    assert response.headers["access-control-allow-origin"] == "*"
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert "GET" in response.headers["access-control-allow-methods"]


# -- bad input -----------------------------------------------------------------------------------------------
BAD_REQUESTS = [
    ("GET", "/api/v1/users/current/summaries?start=2024-02-30&end=2024-03-01", None),
    ("GET", "/api/v1/users/current/summaries?start=2024-03-10&end=2024-03-01", None),
    ("GET", "/api/v1/users/current/summaries?start=2010-01-01&end=2024-03-01", None),
    ("GET", "/api/v1/users/current/summaries?start=0001-01-01&end=0001-01-02", None),
    ("GET", "/api/v1/users/current/summaries?range=fortnight", None),
    ("GET", "/api/v1/users/current/summaries?range=today&timezone=Mars/Olympus", None),
    ("GET", "/api/v1/users/current/summaries", None),
    ("GET", "/api/v1/users/current/stats/last_17_days", None),
    ("GET", "/api/v1/users/current/stats/9999", None),
    ("GET", "/api/v1/users/current/stats/2024-13", None),
    ("GET", "/api/v1/users/current/stats?start_date=garbage", None),
    ("GET", "/api/v1/users/current/stats?start_date=2024-03-10&end_date=2024-03-01", None),
    ("GET", "/api/v1/users/current/stats?features=colors", None),
    ("GET", "/api/v1/users/current/stats?limit=-1", None),
    ("GET", "/api/v1/users/current/durations?date=2024-13-01", None),
    ("GET", "/api/v1/users/current/durations?date=2024-03-01&slice_by=colour", None),
    ("GET", "/api/v1/users/current/durations?date=2024-03-01&timezone=Nowhere", None),
    ("GET", "/api/v1/users/current/heartbeats?date=yesterday", None),
    ("GET", "/api/v1/leaders?page=0", None),
    ("GET", "/api/v1/leaders?page=abc", None),
    ("GET", "/api/v1/leaderboard?page=0", None),
    ("GET", "/api/v1/leaderboard?board=forever", None),
    ("GET", "/api/v1/users/current/heartbeats/spans?start_date=notadate", None),
    ("GET", "/api/v1/users/current/heartbeats/spans?start_date=2024-03-10&end_date=2024-03-01", None),
    ("GET", "/api/v1/my/heartbeats?start_time=x", None),
    ("GET", "/api/v1/my/heartbeats?limit=0", None),
    ("DELETE", "/api/v1/users/current/heartbeats.bulk", {"ids": ["x"]}),
    ("DELETE", "/api/v1/users/current/heartbeats.bulk", {"date": "2024-02-31", "ids": [1]}),
    ("DELETE", "/api/v1/users/current/heartbeats.bulk", {"nothing": True}),
    ("PATCH", "/api/native/v1/settings", {"timezone": "Mars/Olympus"}),
    ("PATCH", "/api/native/v1/settings", {"timeout": 5}),
    ("PATCH", "/api/native/v1/settings", {"duration_mode": "fastest"}),
    ("PATCH", "/api/native/v1/settings", {"share_max_days": 0}),
    ("PATCH", "/api/native/v1/settings", {"is_admin": True}),
    ("PATCH", "/api/native/v1/settings", {"share_stats": "maybe"}),
]


@pytest.mark.parametrize(("method", "path", "body"), BAD_REQUESTS)
def test_bad_input_is_a_400_json_error(world: World, method: str, path: str, body: object) -> None:
    response = call(world, method, path, body, world.headers("gina"))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert isinstance(error, str) and error


def test_unparsable_bodies_are_400(world: World) -> None:
    for method, path in (("DELETE", "/api/v1/users/current/heartbeats.bulk"), ("PATCH", "/api/native/v1/settings")):
        response = world.client.request(method, path, content=b"{not json", headers=world.headers("gina"))
        assert response.status_code == 400 and "error" in response.json()
