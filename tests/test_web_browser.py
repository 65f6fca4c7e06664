"""The dashboard in headless Chromium against a real server process fed by the real legacy WakaTime client.

One browser session, several checks: log in, today's total, ranges, a click-to-filter, a key created and
revoked, a time-zone change moving the day split, a dump uploaded and its history shown, screenshots of the
main pages (under the test's temp dir), and no JS console errors. Needs Debian's `chromium` package and
`playwright` (Python, driving that Chromium; no browser download); skipped cleanly when either is absent.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from hackatime_lite.config import Settings
from hackatime_lite.store import Store
from tests.conftest import ServerProcess, basic_auth
from tests.support.legacy_client import legacy_client_available, offline_queue_count, run_legacy_client

CHROMIUM = os.environ.get("HACKATIME_CHROMIUM", "/usr/bin/chromium")
# This machine's network is closed: without these, Chromium keeps trying Google's services at start.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PASSWORD = "browser-pass-1"

try:
    _browser_mark = pytest.mark.browser
except pytest.fail.Exception:  # the marker is not registered (yet): still run, as a slow test
    _browser_mark = pytest.mark.slow

# playwright is imported when a browser test runs, not when this module is collected (every test process collects
# it, and the default suite never runs it; the import costs ~0.12 s of CPU).
if TYPE_CHECKING:
    from playwright.sync_api import Page


def _sync_playwright() -> Any:
    from playwright.sync_api import sync_playwright as start

    return start()


def expect(actual: Any, *args: Any, **kwargs: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(actual, *args, **kwargs)


# None when playwright (Python) is not installed: the tests then skip.
sync_playwright = _sync_playwright if importlib.util.find_spec("playwright") is not None else None

pytestmark = [
    _browser_mark,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason=f"Chromium not installed at {CHROMIUM}"),
    pytest.mark.skipif(sync_playwright is None, reason="playwright (Python) not installed"),
    pytest.mark.skipif(not legacy_client_available(), reason="wakatime==13.1.0 not installed"),
]


def _make_account(data_dir: Path) -> str:
    settings = Settings(data_dir=str(data_dir))
    settings.paths.ensure()
    with Store(settings.paths.database) as store:
        user = store.create_user("alice", password=PASSWORD, timezone="UTC")
        _, key = store.create_api_key(user.id, name="vim")
    return key


def _send(server: ServerProcess, key: str, tmp: Path, name: str, times: list[float], project: str) -> None:
    """One legacy-client run: the last time as the main heartbeat, the others as extra heartbeats."""
    source = tmp / "code" / project / name
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text("print('hello')\n" * 20)
    extras = [
        {
            "entity": str(source),
            "type": "file",
            "category": "coding",
            "time": t,
            "is_write": False,
            "project": project,
        }
        for t in times[:-1]
    ]
    home = tmp / f"home-{project}"
    proc = run_legacy_client(
        f"{server.url}/api/v1/users/current/heartbeats.bulk",
        key,
        str(source),
        home=home,
        project=project,
        time=times[-1],
        extra_heartbeats=extras,
        hostname="laptop",
    )
    assert proc.returncode == 0, proc.stderr
    assert offline_queue_count(home) == 0


def _dump(path: Path, day: dt.date) -> None:
    """A WakaTime data dump with one day of history (a 40-minute session)."""
    start = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC).timestamp()
    beats = [
        {
            "entity": "/legacy/old.rb",
            "type": "file",
            "category": "coding",
            "time": start + i * 60,
            "project": "legacy-app",
            "language": "Ruby",
            "is_write": False,
        }
        for i in range(41)
    ]
    path.write_text(
        json.dumps(
            {
                "user": {"username": "alice"},
                "range": {"start": 0, "end": 0},
                "days": [{"date": day.isoformat(), "heartbeats": beats}],
            }
        )
    )


def _api(server: ServerProcess, key: str, path: str, **params: str) -> dict:
    response = httpx.get(server.url + path, params=params, headers=basic_auth(key), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _wait_until_true(page: Page, expression: str, timeout: float = 15.0) -> None:
    """Poll a JavaScript expression with page.evaluate until it is truthy. page.wait_for_function polls with a
    function built from the string inside the page, which the dashboard's Content Security Policy (no
    'unsafe-eval') refuses whenever the first check is false; evaluate runs through the DevTools protocol."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(50)


def _seconds(page: Page, selector: str) -> float:
    return float(page.locator(selector).get_attribute("data-seconds") or "nan")


def _chart_daily(page: Page) -> list[float]:
    return page.evaluate("JSON.parse(document.getElementById('chart-data').textContent).daily.map(d => d.v)")


def test_dashboard_in_a_real_browser(tmp_path: Path) -> None:
    started = time.monotonic()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    key = _make_account(tmp_path / "data")
    server = ServerProcess(tmp_path / "data").start()
    try:
        now = time.time()
        _send(server, key, tmp_path, "shop.py", [now - 60 * i for i in range(20, 0, -1)], "webshop")
        today = dt.datetime.fromtimestamp(now, dt.UTC).date()
        split_day = today - dt.timedelta(days=2)
        midnight = dt.datetime.combine(split_day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC).timestamp()
        _send(server, key, tmp_path, "night.go", [midnight - 1800 + 120 * i for i in range(31)], "nightly")

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1360, "height": 1000})
            page.set_default_timeout(10_000)
            errors: list[str] = []
            page.on(
                "console",
                lambda message: (
                    errors.append(f"{message.text} ({message.location.get('url')})")
                    if message.type == "error"
                    else None
                ),
            )
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("dialog", lambda dialog: dialog.accept())
            base = server.url

            # Log in; the top bar shows today's total as the status bar API does.
            page.goto(base + "/")
            assert "/login" in page.url
            page.screenshot(path=str(shots / "login.png"))
            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", PASSWORD)
            page.click("#login-form button[type=submit]")
            page.wait_for_url(base + "/")
            status = _api(server, key, "/api/v1/users/current/statusbar/today")["data"]["grand_total"]
            expect(page.locator("#live-today")).to_have_text(f"today {status['text']}")
            expect(page.locator("#live")).to_have_class(re.compile("coding"))

            # Ranges: today, then the 7 days; the totals are the API's.
            page.click('#range-picker a[data-range="today"]')
            page.wait_for_url(re.compile(r"range=today"))
            assert _seconds(page, "#total") == pytest.approx(status["total_seconds"], abs=1e-6)
            page.click('#range-picker a[data-range="last_7_days"]')
            page.wait_for_url(re.compile(r"range=last_7_days"))
            expect(page.locator("#range-title")).to_have_text("Last 7 Days")
            week = _api(server, key, "/api/v1/users/current/summaries", range="last_7_days")
            assert _seconds(page, "#total") == pytest.approx(week["cumulative_total"]["seconds"], abs=1e-6)
            _wait_until_true(page, "document.body.dataset.panels === 'loaded'")
            page.screenshot(path=str(shots / "dashboard.png"), full_page=True)

            # Click a language to filter.
            page.click('#list-languages a[data-value="Go"]')
            page.wait_for_url(re.compile(r"language=Go"))
            expect(page.locator("#active-filters")).to_contain_text("Go")
            go = _api(server, key, "/api/v1/users/current/summaries", range="last_7_days", language="Go")
            assert 0 < _seconds(page, "#total") == pytest.approx(go["cumulative_total"]["seconds"], abs=1e-6)
            assert _seconds(page, "#total") < week["cumulative_total"]["seconds"]

            # Create a key (shown once, it works), then revoke it (it stops working).
            page.goto(base + "/settings")
            page.fill("#create-key-form input[name=name]", "browser-key")
            page.click("#create-key-form button[type=submit]")
            new_key = page.locator("#new-key-value").inner_text().strip()
            assert (
                httpx.get(
                    base + "/api/v1/users/current/statusbar/today", headers=basic_auth(new_key)
                ).status_code
                == 200
            )
            page.screenshot(path=str(shots / "settings.png"), full_page=True)
            page.locator("tr", has_text="browser-key").locator("button.revoke-key").click()
            expect(page.locator(".notice")).to_contain_text("revoked")
            assert (
                httpx.get(
                    base + "/api/v1/users/current/statusbar/today", headers=basic_auth(new_key)
                ).status_code
                == 401
            )

            # The preview of today's total under another rule, then a time-zone change moving the day split.
            page.select_option("#duration_mode", "keystroke")
            page.fill("#timeout", "45")
            expect(page.locator("#preview-proposed")).not_to_have_text("…")
            page.select_option("#duration_mode", "default")
            page.fill("#timeout", "")
            split_range = f"/?start={split_day}&end={split_day + dt.timedelta(days=1)}"
            page.goto(base + split_range)
            utc_days = _chart_daily(page)
            assert utc_days[0] > 0 and utc_days[1] > 0  # 23:30–00:30 UTC: half on each day
            page.goto(base + "/settings")
            page.select_option("#timezone", "Asia/Tokyo")
            page.click("#save-profile")
            expect(page.locator(".notice")).to_contain_text("saved")
            page.goto(base + split_range)
            tokyo_days = _chart_daily(page)
            assert tokyo_days[0] == 0 and tokyo_days[1] == pytest.approx(utc_days[0] + utc_days[1], abs=1e-6)

            # Upload a WakaTime dump and see its history.
            dump_day = today - dt.timedelta(days=40)
            dump = tmp_path / "wakatime-dump.json"
            _dump(dump, dump_day)
            page.goto(base + "/settings#data")
            page.set_input_files("#import-file", str(dump))
            page.click("#import-button")
            expect(page.locator("#import-status")).to_have_attribute("data-state", "done", timeout=20_000)
            expect(page.locator("#import-status")).to_contain_text("41 heartbeats imported")
            page.goto(base + f"/?start={dump_day}&end={dump_day}")
            expect(page.locator("#list-projects")).to_contain_text("legacy-app")
            history = _api(
                server, key, "/api/v1/users/current/summaries", start=str(dump_day), end=str(dump_day)
            )
            assert history["cumulative_total"]["seconds"] > 0
            assert _seconds(page, "#total") == pytest.approx(history["cumulative_total"]["seconds"], abs=1e-6)

            for name, path in (
                ("setup", "/setup"),
                ("projects", "/projects?range=all_time"),
                ("project", "/project?name=nightly&range=last_7_days"),
                ("leaderboard", "/leaderboard"),
                ("admin", "/admin"),
            ):
                page.goto(base + path)
                assert page.locator("h1").count() == 1, path
                page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            expect(page.locator("#users-table")).to_contain_text("alice")
            browser.close()
        assert errors == [], errors
    finally:
        server.stop()
    assert sorted(p.name for p in shots.iterdir()) == [
        "admin.png",
        "dashboard.png",
        "leaderboard.png",
        "login.png",
        "project.png",
        "projects.png",
        "settings.png",
        "setup.png",
    ]
    if os.environ.get("HACKATIME_SCREENSHOTS"):  # keep them for a human to look at
        shutil.copytree(shots, os.environ["HACKATIME_SCREENSHOTS"], dirs_exist_ok=True)
    assert time.monotonic() - started < 60


def test_live_dashboard_updates_without_reload(tmp_path: Path) -> None:
    """Server-sent events: heartbeats posted while the dashboard is open move the top bar's today total, the
    Total card and today's bar to the status bar's figures, with no reload and no console errors."""
    key = _make_account(tmp_path / "data")
    server = ServerProcess(tmp_path / "data").start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1360, "height": 1000})
            page.set_default_timeout(10_000)
            errors: list[str] = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            base = server.url
            page.goto(base + "/login?next=%2F%3Frange%3Dtoday")
            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", PASSWORD)
            page.click("#login-form button[type=submit]")
            page.wait_for_url(re.compile(r"range=today"))
            expect(page.locator("#live")).to_have_attribute("data-connected", "yes")
            assert page.locator("#live").get_attribute("data-mode") == "events"
            expect(page.locator("#live-today")).to_have_text("today 0 secs")
            page.evaluate("window.__sameDocument = true")  # gone if the page reloads

            now = time.time()
            batch = [{"entity": "/code/live.py", "type": "file", "time": now - 600 + 30 * i, "project": "live",
                      "language": "Python"} for i in range(21)]
            answer = httpx.post(server.url + "/api/v1/users/current/heartbeats.bulk", json=batch,
                                headers=basic_auth(key), timeout=10)
            assert answer.status_code == 201
            status = _api(server, key, "/api/v1/users/current/statusbar/today")["data"]["grand_total"]
            assert status["total_seconds"] == pytest.approx(600.0)
            expect(page.locator("#live-today")).to_have_text(f"today {status['text']}")
            expect(page.locator("#live")).to_have_class(re.compile("coding"))
            expect(page.locator("#total")).to_have_text(status["text"])
            assert _seconds(page, "#total") == pytest.approx(status["total_seconds"], abs=1e-6)
            drawn = page.evaluate("Chart.getChart(document.getElementById('chart-daily')).data.datasets[0].data")
            assert max(drawn) * 3600 == pytest.approx(status["total_seconds"], abs=1e-6)  # today's bar, in hours
            assert page.evaluate("window.__sameDocument") is True
            browser.close()
        assert errors == [], errors
    finally:
        server.stop()


def _noon_zone(now: float) -> str:
    """A fixed-offset zone where `now` is between 12:00 and 13:00 local: the last half hour is all "today", and
    the day does not turn while the test runs (Etc/GMT-N is UTC+N)."""
    offset = 12 - dt.datetime.fromtimestamp(now, dt.UTC).hour  # -11 … +12, all of them Etc zones
    return "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}" if offset < 0 else "")


def test_goal_and_alias_change_the_dashboard(tmp_path: Path) -> None:
    """Issue 14's acceptance: a goal created on the goals page, then an alias merging two projects added on
    /settings/aliases; the dashboard follows. The goal card shows the status bar's seconds; the projects list
    and chart show the merged name with the two originals' summed seconds (from the duration rule's oracle over
    the heartbeats sent) and neither original; a goal on the merged name counts both; no console errors."""
    from hackatime_lite.analytics import oracle

    now = time.time()
    zone = _noon_zone(now)
    settings = Settings(data_dir=str(tmp_path / "data"))
    settings.paths.ensure()
    with Store(settings.paths.database) as store:
        user = store.create_user("alice", password=PASSWORD, timezone=zone)
        _, key = store.create_api_key(user.id, name="vim")
    # 25 minutes: api-server and api-client alternating every 2.5 minutes, then 5 minutes of docs.
    projects = [("api-server", "api-client")[(i // 5) % 2] for i in range(50)] + ["docs"] * 10
    beats = [{"entity": f"/code/{p}/main.py", "type": "file", "category": "coding", "time": now - 1800 + 30 * i,
              "project": p, "language": "Python"} for i, p in enumerate(projects)]
    rule = oracle.Rule(timeout=settings.default_timeout, mode=settings.default_mode)
    stream = [oracle.Beat(id=i + 1, user_id=1, time=b["time"], project=b["project"], language="Python",
                          entity=b["entity"]) for i, b in enumerate(beats)]
    expected = oracle.breakdown(oracle.intervals(stream, {1: rule}), 1, None, None, "project")
    assert expected["api-server"] > 0 and expected["api-client"] > 0 and expected["docs"] > 0
    merged = expected["api-server"] + expected["api-client"]

    server = ServerProcess(tmp_path / "data").start()
    try:
        answer = httpx.post(server.url + "/api/v1/users/current/heartbeats.bulk", json=beats,
                            headers=basic_auth(key), timeout=30)
        assert answer.status_code == 201 and all(r[1] == 201 for r in answer.json()["responses"]), answer.text
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1360, "height": 1000})
            page.set_default_timeout(30_000)  # generous: a loaded machine is slow, not failing
            errors: list[str] = []
            page.on(
                "console",
                lambda message: (
                    errors.append(f"{message.text} ({message.location.get('url')})")
                    if message.type == "error"
                    else None
                ),
            )
            page.on("pageerror", lambda error: errors.append(str(error)))
            base = server.url

            def status_bar() -> dict:
                data = _api(server, key, "/api/v1/users/current/statusbar/today")["data"]
                return {"total": data["grand_total"]["total_seconds"],
                        "projects": {e["name"]: e["total_seconds"] for e in data["projects"]}}

            def listed_projects() -> dict[str, float]:
                names = page.locator("#list-projects a.name").all_inner_texts()
                times = page.locator("#list-projects span.time").evaluate_all(
                    "spans => spans.map(s => Number(s.dataset.seconds))")
                return dict(zip(names, times, strict=True))

            def charted_projects() -> dict[str, float]:
                _wait_until_true(page, "!!(window.Chart && Chart.getChart(document.getElementById('chart-projects')))")
                chart = page.evaluate("(() => { const c = Chart.getChart(document.getElementById('chart-projects'));"
                                      " return [c.data.labels, c.data.datasets[0].data]; })()")
                return dict(zip(chart[0], chart[1], strict=True))

            def goal_card(goal_id: str) -> float:
                return _seconds(page, f'#goal-cards [data-goal-id="{goal_id}"] .value')

            page.goto(base + "/login?next=%2Fgoals")
            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", PASSWORD)
            page.click("#login-form button[type=submit]")
            page.wait_for_url(base + "/goals")
            expect(page.locator("#no-goals")).to_be_visible()

            # Two goals through the form: 10 minutes a day of anything, 5 minutes a day on "API".
            for minutes, only in (("10", ""), ("5", "API")):
                page.select_option('#goal-form select[name="delta"]', "day")
                page.fill('#goal-form input[name="hours"]', "0")
                page.fill('#goal-form input[name="minutes"]', minutes)
                page.fill('#goal-form input[name="projects"]', only)
                expect(page.locator('#goal-form input[name="is_enabled"]')).to_be_checked()
                with page.expect_navigation():
                    page.click("#goal-save")
                expect(page.locator(".notice")).to_be_visible()
            expect(page.locator("section.goal")).to_have_count(2)
            goals = {tuple(g["projects"]): g for g in _api(server, key, "/api/v1/users/current/goals")["data"]}
            anything, on_api = goals[()]["id"], goals[("API",)]["id"]
            assert (goals[()]["seconds"], goals[("API",)]["seconds"]) == (600, 300)

            # Before the alias: both originals listed and charted, the goal on "API" has nothing yet.
            before = status_bar()
            assert before["total"] == pytest.approx(sum(expected.values()), abs=1e-6)
            assert before["projects"] == pytest.approx(expected, abs=1e-6)
            page.goto(base + "/?range=today")
            expect(page.locator(f'#goal-cards [data-goal-id="{anything}"]')).to_have_attribute("data-status", "success")
            assert goal_card(anything) == pytest.approx(before["total"], abs=1e-6)
            assert goal_card(on_api) == 0
            expect(page.locator(f'#goal-cards [data-goal-id="{on_api}"]')).to_have_attribute("data-status", "pending")
            assert listed_projects() == pytest.approx(expected, abs=1e-6)
            assert charted_projects() == pytest.approx(expected, abs=1e-6)

            # The alias, on the rules page: api-* is shown as API.
            page.goto(base + "/settings/aliases")
            form = page.locator("#add-alias")
            form.locator('select[name="dimension"]').select_option("project")
            form.locator('input[name="pattern"]').fill("api-*")
            form.locator('input[name="value"]').fill("API")
            with page.expect_navigation():
                form.locator('button[type="submit"]').click()
            expect(page.locator("#rules-alias tr[data-rule-id]")).to_contain_text("API")

            # After: one merged "API" with the summed seconds, no originals; the goals follow.
            after = status_bar()
            shown = {"API": merged, "docs": expected["docs"]}
            assert after["total"] == pytest.approx(before["total"], abs=1e-6)  # a merge moves time, adds none
            assert after["projects"] == pytest.approx(shown, abs=1e-6)
            page.goto(base + "/?range=today")
            expect(page.locator("#list-projects")).to_contain_text("API")
            assert listed_projects() == pytest.approx(shown, abs=1e-6)
            assert charted_projects() == pytest.approx(shown, abs=1e-6)
            assert page.locator('#list-projects a[data-value^="api-"]').count() == 0
            assert goal_card(anything) == pytest.approx(after["total"], abs=1e-6)
            assert goal_card(on_api) == pytest.approx(merged, abs=1e-6)
            expect(page.locator(f'#goal-cards [data-goal-id="{on_api}"]')).to_have_attribute("data-status", "success")
            _wait_until_true(page, "document.body.dataset.panels === 'loaded'")  # the later panels load cleanly too
            browser.close()
        assert errors == [], errors
    finally:
        server.stop()
