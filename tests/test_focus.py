"""Focus (insights.focus): deep-work sessions through the native API, the CLI and the weekly report, against the
oracle's spans (analytics.oracle.merged_spans over the stored rows), with per-day clipping at midnight, the
owner check and bad input."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from hackatime_lite.analytics import oracle
from hackatime_lite.context import AppContext
from hackatime_lite.insights.focus import focus_sessions
from hackatime_lite.notify.weekly import focus_of
from tests.conftest import run_cli
from tests.insights_helpers import FIXED, MON, TUE, World, build_world

FOCUS = "/api/native/v1/users/{user}/focus"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[World]:
    yield from build_world(tmp_path_factory.mktemp("focus"), request)


def oracle_focus(world: World, name: str, first: dt.date, last: dt.date, min_minutes: int,
                 filters: dict[str, list[str | None]] | None = None) -> dict[str, Any]:
    user = world.user(name)
    start, end = world.window(user, first, last)
    ivs = [iv for iv in world.intervals(user) if oracle.matches(iv.beat, filters)]
    sessions = [(a, b) for a, b in oracle.merged_spans(ivs, user.id, start, end) if b - a >= min_minutes * 60]
    days = {}
    for day, total in oracle.daily(world.intervals(user), user.id, user.timezone, first, last, filters).items():
        lo, hi = oracle.day_bounds(user.timezone, day)
        days[day.isoformat()] = (total, sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in sessions))
    return {"sessions": sessions, "days": days, "total": sum(t for t, _ in days.values())}


def flat(sessions: list[dict[str, Any]]) -> list[float]:
    return [t for s in sessions for t in (s["start_time"], s["end_time"])]


def test_focus_per_day_and_over_the_range_equals_the_oracle(world: World) -> None:
    body = world.get(FOCUS.format(user="ana"), "ana", start=MON.isoformat(), end=TUE.isoformat()).json()
    want = oracle_focus(world, "ana", MON, TUE, 25)
    assert body["min_minutes"] == 25 and body["timeout"] == world.settings.default_timeout
    assert flat(body["sessions"]) == pytest.approx([t for pair in want["sessions"] for t in pair])
    assert body["session_count"] == len(want["sessions"]) == 3  # 40, 30 (over midnight) and 26 minutes
    focused = sum(b - a for a, b in want["sessions"])
    assert body["focus_seconds"] == pytest.approx(focused)
    assert body["total_seconds"] == pytest.approx(want["total"])
    assert body["share"] == pytest.approx(round(focused / want["total"], 4))
    assert body["longest_seconds"] == pytest.approx(max(b - a for a, b in want["sessions"]))
    assert [d["date"] for d in body["days"]] == list(want["days"])
    for day in body["days"]:
        total, focus = want["days"][day["date"]]
        assert day["total_seconds"] == pytest.approx(total) and day["focus_seconds"] == pytest.approx(focus)
        assert day["share"] == pytest.approx(round(focus / total, 4) if total else 0.0)
    # Days add up to the range (the midnight session is split, not lost or counted twice).
    assert sum(d["focus_seconds"] for d in body["days"]) == pytest.approx(body["focus_seconds"])
    assert sum(d["sessions"] for d in body["days"]) == body["session_count"]


def test_min_minutes_and_filters(world: World) -> None:
    longer = world.get(FOCUS.format(user="ana"), "ana", start=MON.isoformat(), end=TUE.isoformat(),
                       min_minutes="35").json()
    assert longer["session_count"] == len(oracle_focus(world, "ana", MON, TUE, 35)["sessions"]) == 1
    beta = world.get(FOCUS.format(user="ana"), "ana", start=MON.isoformat(), end=TUE.isoformat(),
                     project="beta").json()
    want = oracle_focus(world, "ana", MON, TUE, 25, {"project": ["beta"]})
    assert flat(beta["sessions"]) == pytest.approx([t for pair in want["sessions"] for t in pair])
    assert beta["total_seconds"] == pytest.approx(want["total"])
    for value in ("0", "abc", str(24 * 60 + 1)):
        bad = world.get(FOCUS.format(user="ana"), "ana", min_minutes=value)
        assert bad.status_code == 400 and "min_minutes" in bad.json()["error"]


def test_empty_and_access(world: World) -> None:
    cai = world.get(FOCUS.format(user="cai"), "cai", start=TUE.isoformat(), end=TUE.isoformat()).json()
    assert cai["session_count"] == 0 and cai["focus_seconds"] == 0 and cai["share"] == 0.0
    assert world.get(FOCUS.format(user="ana"), "ben").status_code == 403
    assert world.client.get(FOCUS.format(user="ana")).status_code == 401
    assert world.get(FOCUS.format(user="ana"), "dan", start=MON.isoformat()).status_code == 200


def test_weekly_report_uses_the_same_definition(world: World) -> None:
    user = world.user("ana")
    start, end = world.window(user, MON, TUE)
    ctx = AppContext(settings=world.settings, store=world.store, replica=world.client.app.state.ctx.replica,
                     clock=lambda: FIXED)
    weekly = focus_of(ctx, user, start, end, total=1.0)
    sessions = focus_sessions(ctx, user, start, end)
    assert weekly.sessions == len(sessions) == 3
    assert weekly.total_seconds == pytest.approx(sum(s.duration for s in sessions))
    assert weekly.longest_seconds == pytest.approx(max(s.duration for s in sessions))


@pytest.mark.slow  # a CLI run opens its own replica (≈ 0.3-0.5 s of CPU): test.sh's slow step
def test_cli_report_focus(world: World) -> None:
    done = run_cli("report", "focus", "--from", MON.isoformat(), "--to", TUE.isoformat(), "--min-minutes", "25",
                   "--json", *world.cli("ana"))
    body = json.loads(done.stdout)
    want = oracle_focus(world, "ana", MON, TUE, 25)
    assert body["session_count"] == len(want["sessions"])
    assert body["focus_seconds"] == pytest.approx(sum(b - a for a, b in want["sessions"]))


@pytest.mark.slow  # more CLI runs (≈ 0.3 s of CPU each): test.sh's slow step
def test_cli_report_focus_text_csv_and_bad_input(world: World) -> None:
    text = run_cli("report", "focus", "--from", MON.isoformat(), "--to", TUE.isoformat(), *world.cli("ana")).stdout
    assert "3 session(s) of 25+ min" in text
    rows = run_cli("report", "focus", "--from", MON.isoformat(), "--to", TUE.isoformat(), "--csv",
                   *world.cli("ana")).stdout.splitlines()
    assert rows[0].startswith("date,total_seconds,focus_seconds") and len(rows) == 3
    bad = run_cli("report", "focus", "--min-minutes", "0", *world.cli("ana"), check=False)
    assert bad.returncode == 2 and "min_minutes" in bad.stderr
