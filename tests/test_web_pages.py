"""Dashboard pages in process, against a frozen clock: every number equals the API's, settings, keys,
admin, projects, import/export, and the committed static bundle."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from hackatime_lite import paths
from hackatime_lite.analytics.leaderboards import compute_boards
from tests.app_pool import pooled_app
from tests.conftest import REPO_ROOT, basic_auth
from tests.web_helpers import (  # noqa: F401
    chart_data,
    cheap_passwords,
    coding_session,
    csrf_token,
    give_password,
    login,
    post_form,
    seconds_of,
)

pytestmark = pytest.mark.usefixtures("cheap_passwords")
# Wednesday 2025-06-18 15:00 UTC.
NOW = dt.datetime(2025, 6, 18, 15, 0, tzinfo=dt.UTC).timestamp()
DAY = 86400.0
TODAY_0 = dt.datetime(2025, 6, 18, tzinfo=dt.UTC).timestamp()


class Web:
    def __init__(self, client: TestClient, key: str, user_id: int) -> None:
        self.client, self.key, self.user_id = client, key, user_id

    def api(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.client.get(path, params=params, headers=basic_auth(self.key))
        assert response.status_code == 200, (path, response.text[:300])
        return response.json()

    def page(self, path: str, **params: Any) -> str:
        response = self.client.get(path, params=params)
        assert response.status_code == 200, (path, params, response.text[:300])
        return response.text


def seed(client: TestClient, key: str) -> None:
    """Several days, projects and languages; one session crosses midnight UTC into today."""
    sessions = [
        coding_session(TODAY_0 + 9 * 3600, 60, project="alpha", language="Python", editor="vim"),
        coding_session(
            TODAY_0 + 13 * 3600, 30, step=45, project="beta", language="TypeScript", editor="VS Code"
        ),
        coding_session(TODAY_0 + 14 * 3600, 10, project="beta", language=None, entity="/src/beta/notes.zzq"),
        coding_session(TODAY_0 - 1.5 * 3600, 120, project="alpha", language="Python"),  # 22:30 → 00:30
        coding_session(TODAY_0 - 5 * DAY + 8 * 3600, 60, step=90, project="beta", language="Go"),
        coding_session(
            TODAY_0 - 20 * DAY + 10 * 3600, 30, project="gamma", language="Rust", category="debugging"
        ),
        coding_session(TODAY_0 - 200 * DAY + 10 * 3600, 45, project="alpha", language="Python"),
    ]
    for beats in sessions:
        for i in range(0, len(beats), 100):
            response = client.post(
                "/api/v1/users/current/heartbeats.bulk",
                json=beats[i : i + 100],
                headers={**basic_auth(key), "X-Machine-Name": "laptop"},
            )
            assert response.status_code == 201


@pytest.fixture
def web(settings, store) -> Iterator[Web]:
    user = store.create_user("alice", password=None)
    _, key = store.create_api_key(user.id)
    give_password(store, user.id)
    with pooled_app(settings, store=store, clock=lambda: NOW, start_scheduler=False) as app, \
            TestClient(app, raise_server_exceptions=False) as client:
        seed(client, key)
        login(client, "alice")
        yield Web(client, key, user.id)


def _entries(items: list[dict[str, Any]]) -> list[tuple[str, float]]:
    return [(item["name"], pytest.approx(item["total_seconds"], abs=1e-6)) for item in items]


def _chart_entries(items: list[dict[str, Any]]) -> list[tuple[str, float]]:
    return [(item["name"], item["seconds"]) for item in items]


RANGES: list[dict[str, str]] = [
    {"range": "today"},
    {"range": "yesterday"},
    {"range": "week"},
    {"range": "last_7_days"},
    {"range": "last_30_days"},
    {"range": "month"},
    {"range": "last_month"},
    {"range": "all_time"},
    {"start": "2025-06-10", "end": "2025-06-18"},
]


def test_every_dashboard_number_equals_the_api(web: Web) -> None:
    for rng in RANGES:
        html = web.page("/", **rng)
        data = chart_data(html)
        summaries = web.api("/api/v1/users/current/summaries", **rng)
        total = seconds_of(html, "total")
        assert total == pytest.approx(summaries["cumulative_total"]["seconds"], abs=1e-6), rng
        assert [d["v"] for d in data["daily"]] == pytest.approx(
            [day["grand_total"]["total_seconds"] for day in summaries["data"]], abs=1e-6
        ), rng
        if "range" in rng:
            stats = web.api(f"/api/v1/users/current/stats/{rng['range']}")["data"]
            assert total == pytest.approx(stats["total_seconds_including_other_language"], abs=1e-6)
            assert seconds_of(html, "daily-average") == pytest.approx(
                stats["daily_average_including_other_language"], abs=1e-6
            ), rng
            for key in ("projects", "languages", "editors", "operating_systems", "machines", "categories"):
                assert _chart_entries(data["breakdowns"][key]) == _entries(stats[key]), (rng, key)
            if stats["best_day"]:
                assert seconds_of(html, "best-day") == pytest.approx(stats["best_day"]["total_seconds"])
    # With a filter chosen by clicking a language, and by a project (the stats API filters projects).
    html = web.page("/", range="last_7_days", language="Python")
    summaries = web.api("/api/v1/users/current/summaries", range="last_7_days", language="Python")
    assert 0 < seconds_of(html, "total") == pytest.approx(summaries["cumulative_total"]["seconds"], abs=1e-6)
    html = web.page("/", range="last_30_days", project="beta")
    stats = web.api("/api/v1/users/current/stats/last_30_days", project="beta")["data"]
    assert seconds_of(html, "total") == pytest.approx(
        stats["total_seconds_including_other_language"], abs=1e-6
    )
    assert _chart_entries(chart_data(html)["breakdowns"]["languages"]) == _entries(stats["languages"])
    # "Other" (no language) is a clickable filter too, and matches the stored missing value.
    html = web.page("/", range="today", language="Other")
    assert 0 < seconds_of(html, "total") < seconds_of(web.page("/", range="today"), "total")
    # Streak and the live today total.
    streak = web.api("/api/hackatime/v1/users/current/streak")
    assert re.search(rf'id="streak" data-days="{streak["current"]}"', web.page("/"))
    live = web.client.get("/web/api/live").json()
    status = web.api("/api/v1/users/current/statusbar/today")
    assert live["today_seconds"] == pytest.approx(status["data"]["grand_total"]["total_seconds"], abs=1e-6)
    assert live["today_text"] == status["data"]["grand_total"]["text"]
    assert live["coding"] is False and live["last"]["project"] == "beta"  # 50 minutes ago
    web.client.post(
        "/api/v1/users/current/heartbeats.bulk",
        headers=basic_auth(web.key),
        json=[{"entity": "/src/live.py", "type": "file", "time": NOW - 30, "project": "live"}],
    )
    live = web.client.get("/web/api/live").json()
    assert live["coding"] is True and live["last"]["project"] == "live" and live["last"]["file"] == "live.py"


def test_panels_and_range_navigation(web: Web) -> None:
    html = web.page("/", range="last_7_days")
    panels_url = chart_data(html)["panelsUrl"]
    panels = web.client.get(panels_url).json()
    assert panels["day"] == "2025-06-18"
    spans = web.api(
        "/api/hackatime/v1/users/current/heartbeats/spans", start_date="2025-06-18", end_date="2025-06-18"
    )["spans"]
    assert [(b["from"], b["to"]) for b in panels["timeline"]] == [
        (
            pytest.approx((s["start_time"] - TODAY_0) / 3600, abs=1e-3),
            pytest.approx((s["end_time"] - TODAY_0) / 3600, abs=1e-3),
        )
        for s in spans
    ]
    year = web.client.get(chart_data(html)["yearUrl"]).json()["year"]
    assert year[-1]["d"] == "2025-06-18" and year[0]["d"] == "2024-06-17" and year[0]["x"] == 0
    year_total = sum(cell["v"] for cell in year)
    assert year_total == pytest.approx(
        web.api("/api/v1/users/current/summaries", start="2024-06-17", end="2025-06-18")["cumulative_total"][
            "seconds"
        ],
        abs=1,
    )
    hours_total = sum(map(sum, panels["hours"]))
    assert hours_total == pytest.approx(seconds_of(html, "total"), abs=1e-6)
    # Previous/next keep the range's shape.
    assert 'href="/?start=2025-06-05&amp;end=2025-06-11" id="range-prev"' in html
    assert 'id="range-next"' not in html  # the next 7 days would start tomorrow
    month = web.page("/", range="month")
    assert 'href="/?start=2025-05-01&amp;end=2025-05-31" id="range-prev"' in month
    assert 'id="range-prev"' not in web.page("/", range="all_time")
    # Bad input is a 400 page, never a 500.
    assert web.client.get("/", params={"range": "someday"}).status_code == 400
    assert web.client.get("/", params={"start": "2025-13-01", "end": "2025-13-02"}).status_code == 400
    assert web.client.get("/", params={"start": "2025-06-10", "end": "2025-06-01"}).status_code == 400
    assert web.client.get("/web/api/dashboard/panels", params={"day": "June"}).status_code == 400
    assert web.client.get("/web/api/preview", params={"timeout": "5"}).status_code == 400
    assert web.client.get("/leaderboard", params={"board": "forever"}).status_code == 400


def test_settings_preview_key_and_timezone(web: Web, store) -> None:
    # The preview computes today's total under a proposed rule; saving it gives the same figure in the API.
    preview = web.client.get(
        "/web/api/preview", params={"duration_mode": "keystroke", "timeout": "50"}
    ).json()
    before = web.api("/api/v1/users/current/statusbar/today")["data"]["grand_total"]["total_seconds"]
    assert preview["current_seconds"] == pytest.approx(before)
    assert preview["proposed_seconds"] < before  # 60 s gaps no longer count with a 50 s keystroke timeout
    saved = post_form(
        web.client, "/settings/profile", {"timezone": "UTC", "duration_mode": "keystroke", "timeout": "50"}
    )
    assert saved.status_code == 303
    after = web.api("/api/v1/users/current/statusbar/today")["data"]["grand_total"]["total_seconds"]
    assert after == pytest.approx(preview["proposed_seconds"])
    assert (
        post_form(
            web.client, "/settings/profile", {"timezone": "UTC", "duration_mode": "default", "timeout": ""}
        ).status_code
        == 303
    )
    # A new key is shown once, works for the API, and stops working when revoked.
    created = post_form(web.client, "/settings/keys", {"name": "desktop"})
    key = re.search(r'id="new-key-value">([0-9a-f-]{36})<', created.text).group(1)
    assert web.client.get("/api/v1/users/current/statusbar/today", headers=basic_auth(key)).status_code == 200
    assert key not in web.page("/settings")
    key_id = re.search(r'data-key-id="(\d+)"[^>]*>\s*<td>desktop</td>', web.page("/settings")).group(1)
    assert post_form(web.client, f"/settings/keys/{key_id}/revoke").status_code == 303
    assert web.client.get("/api/v1/users/current/statusbar/today", headers=basic_auth(key)).status_code == 401
    # Changing the time zone moves the midnight split of yesterday's late session.
    days = {"start": "2025-06-17", "end": "2025-06-18"}
    utc = chart_data(web.page("/", **days))["daily"]
    assert (
        post_form(
            web.client,
            "/settings/profile",
            {"timezone": "Asia/Tokyo", "duration_mode": "default", "timeout": ""},
        ).status_code
        == 303
    )
    tokyo = chart_data(web.page("/", **days))["daily"]
    assert [d["v"] for d in tokyo] != [d["v"] for d in utc]
    assert tokyo[1]["v"] > utc[1]["v"]  # 22:30–00:30 UTC is 07:30–09:30 on the 18th in Tokyo
    summaries = web.api("/api/v1/users/current/summaries", **days)
    assert [d["v"] for d in tokyo] == pytest.approx(
        [d["grand_total"]["total_seconds"] for d in summaries["data"]]
    )
    assert store.get_user_by_name("alice").timezone == "Asia/Tokyo"
    bad = post_form(web.client, "/settings/profile", {"timezone": "Mars/Olympus", "duration_mode": "default"})
    assert bad.status_code == 400 and "unknown time zone" in bad.text


def test_projects_pages_csv_and_leaderboard(web: Web, store, settings) -> None:
    listing = web.page("/projects", range="all_time")
    assert all(name in listing for name in ("alpha", "beta", "gamma"))
    html = web.page("/project", name="alpha", range="last_30_days")
    stats = web.api("/api/v1/users/current/stats/last_30_days", project="alpha")["data"]
    assert seconds_of(html, "total") == pytest.approx(
        stats["total_seconds_including_other_language"], abs=1e-6
    )
    assert "main.py" in html  # files
    rows = web.client.get(
        "/project/days.csv", params={"name": "alpha", "range": "last_30_days"}
    ).text.splitlines()
    assert rows[0] == "date,project,time,hours_decimal,seconds,branches"
    per_day = {r.split(",")[0]: float(r.split(",")[4]) for r in rows[1:-1]}
    summaries = web.api("/api/v1/users/current/summaries", range="last_30_days", project="alpha")
    for day in summaries["data"]:
        assert per_day[day["range"]["date"]] == round(day["grand_total"]["total_seconds"])
    matrix = web.client.get("/projects/matrix.csv", params={"range": "last_7_days"}).text.splitlines()
    assert matrix[0].startswith("project,2025-06-12,") and len(matrix) == 3  # alpha and beta
    # The leaderboard once the scheduler's job has built it, with the viewer highlighted.
    assert 'id="not-built"' in web.page("/leaderboard")
    ctx = web.client.app.state.ctx
    for built in compute_boards(ctx.replica, NOW, settings):
        store.replace_leaderboard(built, NOW)
    board = web.page("/leaderboard", board="last_7_days")
    assert re.search(r'<tr class="me" id="my-row">\s*<td class="num">1</td>', board)
    assert 'id="my-rank"' in web.page("/leaderboard", board="today", language="Python")


def test_admin_manages_users_and_invites(web: Web) -> None:
    created = post_form(
        web.client,
        "/admin/users",
        {"username": "erin", "password": "erin-pass-1", "timezone": "Europe/Berlin"},
    )
    assert created.status_code == 303
    admin = web.page("/admin")
    assert 'data-user="erin"' in admin
    duplicate = post_form(web.client, "/admin/users", {"username": "erin"})
    assert duplicate.status_code == 400 and "already exists" in duplicate.text
    invite = post_form(web.client, "/admin/invites", {"max_uses": "2", "valid_days": "3", "note": "team"})
    code = re.search(r'id="new-invite-code">([^<]+)<', invite.text).group(1)
    assert f"/signup?code={code}" in invite.text
    erin_id = re.search(r'action="/admin/users/(\d+)/password"', admin.split('data-user="erin"')[1]).group(1)
    assert post_form(web.client, f"/admin/users/{erin_id}/password", {"password": "short"}).status_code == 400
    assert (
        post_form(web.client, f"/admin/users/{erin_id}/password", {"password": "erin-new-pass"}).status_code
        == 303
    )
    login(web.client, "erin", "erin-new-pass")
    assert web.client.get("/admin").status_code == 403


def test_export_then_import_through_the_dashboard(web: Web) -> None:
    before = web.api("/api/v1/users/current/summaries", range="all_time")["cumulative_total"]["seconds"]
    exported = web.client.get("/settings/export", params={"format": "json"})
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    assert (
        post_form(
            web.client, "/settings/delete-heartbeats", {"start": "2024-01-01", "end": "2025-06-18"}
        ).status_code
        == 303
    )
    assert (
        web.api("/api/v1/users/current/summaries", start="2024-01-01", end="2025-06-18")["cumulative_total"][
            "seconds"
        ]
        == 0
    )
    headers = {"x-csrftoken": csrf_token(web.client, "/settings"), "content-type": "application/octet-stream"}
    started = web.client.post("/web/api/import", content=exported.content, headers=headers)
    assert started.status_code == 202, started.text
    job = started.json()
    deadline = time.monotonic() + 20
    while job["state"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.05)
        job = web.client.get(f"/web/api/import/{job['id']}").json()
    assert job["state"] == "done", job
    assert job["inserted"] > 0
    html = web.page("/", range="all_time")
    assert seconds_of(html, "total") == pytest.approx(before, abs=1e-6)
    # Without the CSRF header the upload is refused.
    refused = web.client.post(
        "/web/api/import", content=b"[]", headers={"content-type": "application/octet-stream"}
    )
    assert refused.status_code == 403


def test_static_bundle_is_built_from_the_sources(tmp_path: Path) -> None:
    """The package's static files are what `web/build.mjs` makes from `web/src/` (committed, so running and
    testing need no npm): the manifest the build writes matches both the built files and today's sources (the
    fresh build with node: test_static_bundle_rebuilds_byte_identical, slow)."""
    static, sources = paths.web_root() / "static", REPO_ROOT / "web"
    manifest = json.loads((static / "manifest.json").read_text())
    built = {p.relative_to(static).as_posix() for p in static.rglob("*") if p.is_file()} - {"manifest.json"}
    assert built == set(manifest["files"])
    for name, meta in manifest["files"].items():
        assert hashlib.sha256((static / name).read_bytes()).hexdigest() == meta["sha256"], name
    current = {p.relative_to(sources).as_posix() for p in (sources / "src").rglob("*") if p.is_file()}
    assert current | {"package-lock.json"} == set(manifest["sources"]), "rebuild: cd web && npm run build"
    for name, meta in manifest["sources"].items():
        digest = hashlib.sha256((sources / name).read_bytes()).hexdigest()
        assert digest == meta["sha256"], f"{name} changed since the last build: cd web && npm run build"
    lock = json.loads((sources / "package-lock.json").read_text())
    for library, version in manifest["libraries"].items():
        assert version == lock["packages"][f"node_modules/{library}"]["version"], library
    bundle = (static / "vendor" / "charts.min.js").read_text()
    assert f"Chart.js v{manifest['libraries']['chart.js']}" in bundle
    assert "cdn" not in (paths.web_root() / "templates" / "base.html").read_text().lower()


@pytest.mark.slow  # the node build process is the point (~1 s of CPU): test.sh's second step runs it
def test_static_bundle_rebuilds_byte_identical(tmp_path: Path) -> None:
    """Where node and `web/node_modules` are present, a fresh build of `web/src/` into a scratch folder is
    byte-identical to the package's static files (the manifest checks above run in the default suite)."""
    static, sources = paths.web_root() / "static", REPO_ROOT / "web"
    built = {p.relative_to(static).as_posix() for p in static.rglob("*") if p.is_file()} - {"manifest.json"}
    if not (shutil.which("node") and (sources / "node_modules" / "esbuild").is_dir()):
        pytest.skip("needs node and web/node_modules (cd web && npm ci)")
    subprocess.run(["node", "build.mjs", "--out", str(tmp_path)], cwd=sources, check=True, capture_output=True,
                   timeout=60)
    rebuilt = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert rebuilt == {name: (static / name).read_bytes() for name in rebuilt}
    assert set(rebuilt) == built | {"manifest.json"}


def test_static_files_are_served_with_long_caching(client: TestClient) -> None:
    response = client.get("/static/vendor/charts.min.js")
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    assert client.get("/static/../templates/base.html").status_code == 404
    assert Path(paths.web_root() / "templates" / "dashboard.html").is_file()
