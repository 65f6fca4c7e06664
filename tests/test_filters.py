"""Filters complete: `entity`, `operating_system` and `branches` on every read that takes filters (summaries,
stats, durations, all time, spans, focus; the CLI's --entity/--os/--branch), categories in any case, and
`durations?project=X` sliced by file as WakaTime does. Values against the oracle over the stored rows, and
additivity: a filtered total equals the sum of the matching breakdown rows, and the filtered totals over every
value of a dimension add up to the unfiltered total."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from hackatime_lite import reports
from hackatime_lite.analytics import oracle
from tests.conftest import run_cli
from tests.insights_helpers import MON, TUE, World, build_world

BASE = "/api/v1/users/current"
RANGE = {"start": MON.isoformat(), "end": TUE.isoformat()}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[World]:
    yield from build_world(tmp_path_factory.mktemp("filters"), request)


def values(world: World, column: str) -> list[str]:
    """The distinct stored values of one column among ana's heartbeats (what ingest made of the posts)."""
    return sorted({r[column] for r in world.rows(world.user("ana")) if r[column]})


def want(world: World, filters: dict[str, list[str | None]] | None = None) -> float:
    user = world.user("ana")
    return world.total(user, *world.window(user, MON, TUE), filters)


# One filter per dimension this issue adds, as (query parameter, value, the oracle's filter).
def cases(world: World) -> list[tuple[str, str, dict[str, list[str | None]]]]:
    os_name = values(world, "operating_system")[0]
    return [("entity", "/src/alpha/a.py", {"entity": ["/src/alpha/a.py"]}),
            ("operating_system", os_name, {"operating_system": [os_name]}),
            ("branches", "main", {"branch": ["main"]}),
            ("category", "Debugging", {"category": ["debugging"]})]


def test_every_read_applies_entity_os_branch_and_category(world: World) -> None:
    assert len(values(world, "operating_system")) == 2  # Linux and macOS user agents
    for param, value, filters in cases(world):
        expected = want(world, filters)
        assert 0 < expected < want(world), param
        summaries = world.get(f"{BASE}/summaries", "ana", **RANGE, **{param: value}).json()
        assert summaries["cumulative_total"]["seconds"] == pytest.approx(expected), param
        stats = world.get(f"{BASE}/stats", "ana", start_date=MON.isoformat(), end_date=TUE.isoformat(),
                          **{param: value}).json()["data"]
        assert stats["total_seconds_including_other_language"] == pytest.approx(expected), param
        # All of ana's time is on these two days, so all time equals the range.
        all_time = world.get(f"{BASE}/all_time_since_today", "ana", **{param: value}).json()["data"]
        assert all_time["total_seconds"] == pytest.approx(expected), param
        spans = world.get("/api/hackatime/v1/users/current/heartbeats/spans", "ana", start_date=MON.isoformat(),
                          end_date=TUE.isoformat(), **{param: value}).json()["spans"]
        assert sum(s["duration"] for s in spans) == pytest.approx(expected), param
        durations = 0.0
        for day in (MON, TUE):
            answer = world.get(f"{BASE}/durations", "ana", date=day.isoformat(), **{param: value}).json()
            durations += sum(d["duration"] for d in answer["data"])
        assert durations == pytest.approx(expected), param


def test_filtered_totals_add_up(world: World) -> None:
    """Per OS value: the filtered total is that value's row of the unfiltered breakdown, and the filtered totals
    add up to the whole; per project, the files (entities) of a project add up to its total."""
    whole = world.get(f"{BASE}/stats", "ana", start_date=MON.isoformat(), end_date=TUE.isoformat()).json()["data"]
    rows = {e["name"]: e["total_seconds"] for e in whole["operating_systems"]}
    parts = 0.0
    for os_name in values(world, "operating_system"):
        data = world.get(f"{BASE}/stats", "ana", start_date=MON.isoformat(), end_date=TUE.isoformat(),
                         operating_system=os_name).json()["data"]
        assert data["total_seconds_including_other_language"] == pytest.approx(rows[os_name])
        assert [e["name"] for e in data["operating_systems"]] == [os_name]
        parts += data["total_seconds_including_other_language"]
    assert parts == pytest.approx(whole["total_seconds_including_other_language"])
    body = world.get(f"{BASE}/summaries", "ana", **RANGE, project="alpha").json()
    for day in body["data"]:
        assert sum(e["total_seconds"] for e in day["entities"]) == pytest.approx(day["grand_total"]["total_seconds"])
    entity_total = sum(want(world, {"project": ["alpha"], "entity": [e]}) for e in ("/src/alpha/a.py",
                                                                                    "/src/alpha/c.py"))
    assert entity_total == pytest.approx(want(world, {"project": ["alpha"]}))


def test_category_matches_in_any_case(world: World) -> None:
    coding = want(world, {"category": ["coding"]})
    for spelled in ("coding", "Coding", "CODING"):
        body = world.get(f"{BASE}/summaries", "ana", **RANGE, category=spelled).json()
        assert body["cumulative_total"]["seconds"] == pytest.approx(coding), spelled


def test_durations_with_a_project_are_per_file(world: World) -> None:
    user = world.user("ana")
    for day in (MON, TUE):
        body = world.get(f"{BASE}/durations", "ana", date=day.isoformat(), project="alpha").json()
        assert body["data"] and all("entity" in d and "project" not in d for d in body["data"])
        got: dict[str, float] = {}
        for d in body["data"]:
            got[d["entity"]] = got.get(d["entity"], 0.0) + d["duration"]
        lo, hi = oracle.day_bounds(user.timezone, day)
        expected = oracle.breakdown(world.intervals(user), user.id, lo, hi, "entity", {"project": ["alpha"]})
        assert got == pytest.approx({str(k): v for k, v in expected.items()})
        # An explicit slice_by still wins.
        by_language = world.get(f"{BASE}/durations", "ana", date=day.isoformat(), project="alpha",
                                slice_by="language").json()
        assert {d["language"] for d in by_language["data"]} == {"Python"}


def test_public_stats_take_only_project_and_category(world: World) -> None:
    """A public viewer cannot probe file names with a filter: it is not applied for them."""
    ben = world.user("ben")
    world.store.update_user(ben.id, share_stats=True)
    try:
        path = "/api/v1/users/ben/stats"
        plain = world.client.get(path, params={"start_date": MON.isoformat(), "end_date": TUE.isoformat()})
        probed = world.client.get(path, params={"start_date": MON.isoformat(), "end_date": TUE.isoformat(),
                                                "entity": "/nothing/here.py"})
        assert plain.status_code == probed.status_code == 200
        assert probed.json()["data"]["total_seconds_including_other_language"] == \
            plain.json()["data"]["total_seconds_including_other_language"] > 0
        owner = world.get(path, "ben", start_date=MON.isoformat(), end_date=TUE.isoformat(),
                          entity="/nothing/here.py").json()["data"]
        assert owner["total_seconds_including_other_language"] == 0
    finally:
        world.store.update_user(ben.id, share_stats=False)


@pytest.mark.slow  # a CLI run opens its own replica (≈ 0.3-0.5 s of CPU): test.sh's slow step
def test_cli_filters(world: World) -> None:
    os_name = values(world, "operating_system")[0]
    filters: dict[str, list[str | None]] = {"operating_system": [os_name], "branch": ["main"],
                                            "entity": ["/src/alpha/a.py", "/src/beta/b.go"]}
    done = run_cli("report", "--from", MON.isoformat(), "--to", TUE.isoformat(), "--by", "project", "--json",
                   "--os", os_name, "--branch", "main", "--entity", "/src/alpha/a.py", "--entity", "/src/beta/b.go",
                   *world.cli("ana"))
    body: dict[str, Any] = json.loads(done.stdout)
    assert body["total_seconds"] == pytest.approx(want(world, filters)) and body["total_seconds"] > 0
    assert sum(r["total_seconds"] for r in body["rows"]) == pytest.approx(body["total_seconds"])
    user = world.user("ana")
    per_project = oracle.breakdown(world.intervals(user), user.id, *world.window(user, MON, TUE), "project", filters)
    assert {r["name"]: r["total_seconds"] for r in body["rows"]} == pytest.approx(
        {reports.display_name("project", str(k)): v for k, v in per_project.items()})


@pytest.mark.slow  # a second CLI run
def test_cli_by_entity_needs_a_project_and_adds_up(world: World) -> None:
    done = run_cli("report", "--from", MON.isoformat(), "--to", TUE.isoformat(), "--by", "entity", "--project",
                   "alpha", "--json", *world.cli("ana"))
    body = json.loads(done.stdout)
    assert body["total_seconds"] == pytest.approx(want(world, {"project": ["alpha"]}))
    assert {r["name"] for r in body["rows"]} == {"/src/alpha/a.py", "/src/alpha/c.py"}
