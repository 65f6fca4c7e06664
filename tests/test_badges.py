"""README badges (api/native/badges.py): shields.io's endpoint JSON at Wakapi's path and the SVG badge.

The JSON validates against the endpoint-badge schema written from shields.io's documentation; the time in a
badge is the status bar's and the stats endpoint's for the same range and filter; sharing flags decide who
may see which badge; answers are cacheable; bad input is a 4xx `{"error": …}`."""

from __future__ import annotations

import html
import random
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from hackatime_lite.store import open_store
from hackatime_lite.text.formatting import human_text
from tests.app_pool import pooled_app
from tests.conftest import Account, assert_world_backend, make_account, world_settings
from tests.read_api_helpers import FIXED, post, session
from tests.web_helpers import cheap_passwords, give_password, login, post_form  # noqa: F401  (fixture)

# shields.io's endpoint badge (https://shields.io/badges/endpoint-badge): schemaVersion is always 1, label
# is required (may be empty), message is required and not empty; the rest optional; nothing else allowed.
SHIELDS_ENDPOINT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["schemaVersion", "label", "message"],
    "additionalProperties": False,
    "properties": {
        "schemaVersion": {"const": 1},
        "label": {"type": "string"},
        "message": {"type": "string", "minLength": 1},
        "color": {"type": "string", "minLength": 1},
        "labelColor": {"type": "string"},
        "isError": {"type": "boolean"},
        "namedLogo": {"type": "string"},
        "logoSvg": {"type": "string"},
        "logoColor": {"type": "string"},
        "logoWidth": {"type": "integer"},
        "logoSize": {"type": "string"},
        "style": {"type": "string"},
        "cacheSeconds": {"type": "integer", "minimum": 300},
    },
}
SHIELDS = "/api/compat/shields/v1"
pytestmark = pytest.mark.xdist_group("badges")  # one worker builds the module's world


class Badges:
    def __init__(self, client: TestClient, accounts: dict[str, Account]) -> None:
        self.client, self.accounts = client, accounts

    def get(self, path: str, as_user: str | None = None) -> Any:
        headers = self.accounts[as_user].headers if as_user else {}
        return self.client.get(path, headers=headers)


@pytest.fixture(scope="module")
def badges(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Badges]:
    """root (admin), sharer (shares coding time and projects, not languages), private (shares nothing);
    coding time today and on earlier days, a frozen clock."""
    root: Path = tmp_path_factory.mktemp("badges")
    settings = world_settings(root, request, api_read_per_minute=0)
    settings.paths.ensure()
    with open_store(settings) as store:
        assert_world_backend(store, request)
        accounts = {name: make_account(store, name) for name in ("root", "sharer", "private")}
        store.update_user(accounts["sharer"].user.id, share_stats=True, share_projects=True)
        rng = random.Random(7)
        for name in ("sharer", "private"):
            user = accounts[name].user
            for back, project in ((0, "alpha"), (0, "beta"), (3, "alpha"), (40, "beta")):
                start = FIXED - back * 86400 - rng.randint(3000, 7000)
                post(store, user, [b for b in session(rng, start, 25, project=project) if b["time"] <= FIXED])
        with pooled_app(settings, store=store, clock=lambda: FIXED, start_scheduler=False) as app, \
                TestClient(app, raise_server_exceptions=False) as client:
            yield Badges(client, accounts)


def stats_seconds(badges: Badges, range_name: str, project: str | None = None) -> float:
    """The oracle: the stats endpoint's total (every language) for the range, read by the owner."""
    query = f"?project={project}" if project else ""
    answer = badges.get(f"/api/v1/users/current/stats/{range_name}{query}", "sharer")
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["total_seconds_including_other_language"]


@pytest.mark.parametrize(("interval", "project"), [
    ("interval:last_7_days", "alpha"), ("all_time", None), ("interval:all_time", "beta"),
])
def test_shields_json_is_an_endpoint_badge_with_the_stats_seconds(badges: Badges, interval: str,
                                                                  project: str | None) -> None:
    path = f"{SHIELDS}/sharer/{interval}" + (f"/project:{project}" if project else "")
    answer = badges.get(path)  # no key: the sharing flags allow it
    assert answer.status_code == 200, answer.text
    body = answer.json()
    _validate(body)
    assert "max-age=300" in answer.headers["cache-control"]
    expected = stats_seconds(badges, interval.removeprefix("interval:"), project)
    assert expected > 0
    assert body["message"] == human_text(expected)


def test_today_badge_equals_the_status_bar(badges: Badges) -> None:
    bar = badges.get("/api/v1/users/current/statusbar/today", "sharer").json()["data"]["grand_total"]
    answer = badges.get(f"{SHIELDS}/sharer/interval:today")
    body = answer.json()
    _validate(body)
    assert "max-age=300" in answer.headers["cache-control"]
    assert bar["total_seconds"] > 0 and body["message"] == bar["text"] == human_text(bar["total_seconds"])


def test_svg_badge_parses_as_xml_with_the_message_label_and_color(badges: Badges) -> None:
    json_body = badges.get(f"{SHIELDS}/sharer/interval:all_time").json()
    answer = badges.get("/api/badge/sharer/interval:all_time?label=my%20time&color=blue")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("image/svg+xml")
    assert "max-age=300" in answer.headers["cache-control"]
    svg = ET.fromstring(answer.content)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert json_body["message"] in texts and "my time" in texts
    fills = {p.get("fill") for p in svg.iter("{http://www.w3.org/2000/svg}path")}
    assert "#007ec6" in fills  # shields.io's "blue"
    # The label is text, never markup.
    escaped = badges.get("/api/badge/sharer/interval:today?label=%3Cscript%3E")
    assert b"<script>" not in escaped.content and "<script>" in [t.text for t in ET.fromstring(
        escaped.content).iter("{http://www.w3.org/2000/svg}text")]


def test_sharing_flags_decide_who_sees_which_badge(badges: Badges) -> None:
    for path in (f"{SHIELDS}/private/interval:today", "/api/badge/private/interval:today",
                 f"{SHIELDS}/sharer/interval:today/language:Python", f"{SHIELDS}/sharer/today/category:coding"):
        answer = badges.get(path)
        assert answer.status_code == 403, (path, answer.text)
        assert set(answer.json()) == {"error"}
        assert "cache-control" not in answer.headers or "max-age=300" not in answer.headers["cache-control"]
    # The owner, with their key, sees every badge; another user's key is only the public view.
    assert badges.get(f"{SHIELDS}/private/interval:today", "private").status_code == 200
    assert badges.get(f"{SHIELDS}/sharer/interval:today/language:Python", "sharer").status_code == 200
    assert badges.get(f"{SHIELDS}/private/interval:today", "sharer").status_code == 403


@pytest.mark.parametrize(("path", "status"), [
    (f"{SHIELDS}/nobody/interval:today", 404),
    ("/api/badge/nobody/interval:today", 404),
    (f"{SHIELDS}/sharer/interval:fortnight", 400),
    ("/api/badge/sharer/interval:fortnight", 400),
    (f"{SHIELDS}/sharer/interval:today/flavour:vanilla", 400),
    (f"{SHIELDS}/sharer/interval:today/interval:week", 400),
    (f"{SHIELDS}/sharer/interval:today?color=not-a-colour", 400),
    (f"{SHIELDS}/current/interval:today", 401),
])
def test_bad_requests_are_4xx_json(badges: Badges, path: str, status: int) -> None:
    answer = badges.get(path)
    assert answer.status_code == status, answer.text
    assert set(answer.json()) == {"error"}


def test_share_max_days_limits_the_range(badges: Badges, tmp_path: Path) -> None:
    sharer = badges.accounts["sharer"].user
    store = badges.client.app.state.ctx.store
    store.update_user(sharer.id, share_max_days=7)
    try:
        assert badges.get(f"{SHIELDS}/sharer/interval:last_7_days").status_code == 200
        assert badges.get(f"{SHIELDS}/sharer/interval:last_30_days").status_code == 403
    finally:
        store.update_user(sharer.id, share_max_days=None)


def test_unfiltered_project_badge_names_no_time_for_an_unknown_project(badges: Badges) -> None:
    body = badges.get(f"{SHIELDS}/sharer/interval:all_time/project:no-such-project").json()
    _validate(body)
    assert body["message"] == human_text(0)


@pytest.mark.usefixtures("cheap_passwords")
def test_settings_page_shows_working_badge_markdown_and_the_weekly_opt_in(badges: Badges) -> None:
    store = badges.client.app.state.ctx.store
    sharer = badges.accounts["sharer"].user
    give_password(store, sharer.id)
    try:
        login(badges.client, "sharer")
        page = badges.client.get("/settings")
        assert page.status_code == 200 and 'id="badges"' in page.text and 'id="weekly_report"' in page.text
        found = re.findall(r'id="badge-md-\d+">([^<]+)</code>', page.text)
        assert len(found) >= 3
        urls = [re.search(r"\]\((http[^)]+)\)\]", html.unescape(md)).group(1) for md in found]  # type: ignore[union-attr]
        own = [u for u in urls if "/api/badge/sharer/" in u]
        assert any(u.endswith("/interval:last_7_days") for u in own)
        assert any("/project:alpha" in u for u in own)  # the project of the newest heartbeat
        # The opt-in needs an address; with one it is stored, and the box shows checked.
        refused = post_form(badges.client, "/settings/weekly-report", {"weekly_report": "1", "email": ""})
        assert refused.status_code == 400 and "e-mail address" in refused.text
        saved = post_form(badges.client, "/settings/weekly-report",
                          {"weekly_report": "1", "email": "sharer@example.org"})
        assert saved.status_code == 303 and store.weekly_report_opt_in(sharer.id)
        assert re.search(r'id="weekly_report" value="1" checked', badges.client.get("/settings").text)
        post_form(badges.client, "/settings/weekly-report", {"email": "sharer@example.org"})
        assert not store.weekly_report_opt_in(sharer.id)
        badges.client.cookies.clear()
        for url in own:  # the page's own links answer without a login (the sharer shares time and projects)
            assert badges.get("/" + url.split("://", 1)[1].split("/", 1)[1]).status_code == 200, url
    finally:
        badges.client.cookies.clear()


def _validate(body: object) -> None:
    # jsonschema is imported here, not at the top: every test process collects this module, and few run these.
    import jsonschema

    jsonschema.validate(body, SHIELDS_ENDPOINT_SCHEMA)
