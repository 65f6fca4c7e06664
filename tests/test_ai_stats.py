"""AI-coding stats (insights.ai) through the native API, the dashboard and the CLI: every figure against sums
computed here from the posted heartbeats, the owner check, the empty state, and the store method on its own."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.insights_helpers import AI_FIELDS, MON, TUE, World, ana_items, build_world
from tests.web_helpers import give_password, login

AI = "/api/native/v1/users/{user}/ai"
# The native names of the summed counters (tokens keep their ai_ prefix).
COUNTERS = AI_FIELDS


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[World]:
    yield from build_world(tmp_path_factory.mktemp("ai"), request)


def expected(items: list[dict[str, Any]], name: str | None = None) -> dict[str, Any]:
    """The oracle: plain sums over the posted heartbeats that carry AI fields."""
    carrying = [i for i in items if any(k in i for k in (*COUNTERS, "ai_session", "ai_model"))]
    want: dict[str, Any] = {c: sum(i.get(c, 0) for i in carrying) for c in COUNTERS}
    want["heartbeats"] = len(carrying)
    want["sessions"] = len({i["ai_session"] for i in carrying if i.get("ai_session")})
    changed = want["ai_line_changes"] + want["human_line_changes"]
    want["ai_share"] = round(want["ai_line_changes"] / changed, 4) if changed else None
    want["name"] = name
    return want


def ana_posted() -> list[dict[str, Any]]:
    return [item for _, batch in ana_items() for item in batch]


def test_ai_totals_and_breakdowns_equal_the_posted_sums(world: World) -> None:
    answer = world.get(AI.format(user="ana"), "ana", start=MON.isoformat(), end=TUE.isoformat())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    posted = ana_posted()
    assert body["has_data"] is True and body["timezone"] == "UTC"
    assert body["total"] == expected(posted)
    by_project = {p: [i for i in posted if i.get("project") == p and "ai_session" in i] for p in ("alpha", "beta")}
    assert {g["name"]: g for g in body["projects"]} == {p: expected(i, p) for p, i in by_project.items()}
    by_model = {m: [i for i in posted if i.get("ai_model") == m] for m in ("gpt-5", "claude-4")}
    assert {g["name"]: g for g in body["models"]} == {m: expected(i, m) for m, i in by_model.items()}
    # Days are the user's local days: the session across midnight counts on both by heartbeat time.
    by_day: dict[str, list[dict[str, Any]]] = {}
    for item in posted:
        if "ai_session" in item:
            day = dt.datetime.fromtimestamp(item["time"], dt.UTC).date()
            by_day.setdefault(day.isoformat(), []).append(item)
    assert [g["name"] for g in body["days"]] == sorted(by_day) == [MON.isoformat(), TUE.isoformat()]
    assert body["days"] == [expected(by_day[d], d) for d in sorted(by_day)]
    # Additive counters: groups add up to the total (sessions are distinct per group, so they may not).
    for key in ("projects", "models", "days"):
        for counter in (*COUNTERS, "heartbeats"):
            assert sum(g[counter] for g in body[key]) == body["total"][counter]


def test_project_filter_model_names_and_zone(world: World) -> None:
    only_beta = world.get(AI.format(user="ana"), "ana", start=MON.isoformat(), end=TUE.isoformat(),
                          project="BETA").json()  # display names match in any case
    beta = [i for i in ana_posted() if i.get("project") == "beta" and "ai_session" in i]
    assert only_beta["total"] == expected(beta)
    assert [g["name"] for g in only_beta["projects"]] == ["beta"]
    ben = world.get(AI.format(user="ben"), "ben", start=MON.isoformat(), end=TUE.isoformat()).json()
    assert [g["name"] for g in ben["models"]] == ["Unknown"]  # no ai_model sent
    assert [g["name"] for g in ben["days"]] == [MON.isoformat()]  # 22:00-22:30 in Berlin
    assert ben["total"]["ai_line_changes"] == 7 * 31 and ben["total"]["sessions"] == 1


def test_empty_when_no_client_sends_ai_fields(world: World) -> None:
    body = world.get(AI.format(user="cai"), "cai", start=MON.isoformat(), end=TUE.isoformat()).json()
    assert body["has_data"] is False
    assert body["projects"] == body["days"] == body["models"] == []
    assert body["total"]["heartbeats"] == 0 and body["total"]["ai_share"] is None
    # The default range (the last 7 days by the app clock) holds ana's data.
    assert world.get(AI.format(user="ana"), "ana").json()["has_data"] is True


def test_only_the_owner_reads_ai_stats(world: World) -> None:
    assert world.get(AI.format(user="ana"), "ben").status_code == 403
    assert world.client.get(AI.format(user="ana")).status_code == 401
    admin = world.get(AI.format(user="ana"), "dan", start=MON.isoformat(), end=TUE.isoformat())
    assert admin.status_code == 200 and admin.json()["total"] == expected(ana_posted())
    bad = world.get(AI.format(user="ana"), "ana", range="not-a-range")
    assert bad.status_code == 400 and "error" in bad.json()


def test_store_returns_only_rows_with_ai_fields(world: World) -> None:
    ana = world.user("ana")
    rows = world.store.ai_rows(ana.id, None, None)
    assert len(rows) == expected(ana_posted())["heartbeats"]
    assert world.store.ai_rows(world.user("cai").id, None, None) == []


@pytest.mark.slow  # a CLI run opens its own replica (≈ 0.3-0.5 s of CPU): test.sh's slow step
def test_cli_report_by_ai_model(world: World) -> None:
    done = run_cli("report", "--by", "ai_model", "--from", MON.isoformat(), "--to", TUE.isoformat(), "--json",
                   *world.cli("ana"))
    body = json.loads(done.stdout)
    posted = ana_posted()
    assert body["by"] == "model" and body["total"] == expected(posted)
    assert {r["name"]: r["ai_line_changes"] for r in body["rows"]} == {
        m: sum(i["ai_line_changes"] for i in posted if i.get("ai_model") == m) for m in ("gpt-5", "claude-4")}


@pytest.mark.slow  # three more CLI runs (≈ 0.3 s of CPU each): test.sh's slow step
def test_cli_report_ai_text_empty_and_bad_filter(world: World) -> None:
    text = run_cli("report", "ai", "--by", "project", "--from", MON.isoformat(), "--to", TUE.isoformat(),
                   *world.cli("ana")).stdout
    assert "alpha" in text and "beta" in text and "AI coding" in text
    empty = run_cli("report", "ai", "--from", MON.isoformat(), "--to", TUE.isoformat(), *world.cli("cai")).stdout
    assert "no AI-coding data" in empty
    wrong = run_cli("report", "--by", "ai_model", "--os", "Linux", *world.cli("ana"), check=False)
    assert wrong.returncode == 2 and "--project only" in wrong.stderr


def _dashboard(world: World, name: str) -> str:
    give_password(world.store, world.accounts[name].user.id)
    world.client.cookies.clear()
    try:
        login(world.client, name)
        page = world.client.get("/", params={"start": MON.isoformat(), "end": TUE.isoformat()})
        assert page.status_code == 200
        return page.text
    finally:
        world.client.cookies.clear()


def test_dashboard_shows_the_ai_panel_with_data(world: World) -> None:
    html = _dashboard(world, "ana")
    assert 'id="card-ai"' in html and 'id="card-focus"' in html
    total = expected(ana_posted())
    assert f"{total['ai_line_changes']} AI vs {total['human_line_changes']} human line changes" in html


@pytest.mark.slow  # a second login and dashboard render
def test_dashboard_hides_the_ai_panel_without_data(world: World) -> None:
    html = _dashboard(world, "cai")
    assert 'id="card-ai"' not in html and 'id="card-focus"' in html
