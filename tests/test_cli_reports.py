"""`hackatime-lite report …`: every output format, both modes (data dir in-process / running server), and
the numbers against the read API and the pure-Python oracle of the duration rule."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from hackatime_lite.analytics import oracle
from hackatime_lite.analytics.oracle import Beat, Rule
from hackatime_lite.cli.main import app
from hackatime_lite.store import Store
from tests.analytics_helpers import insert_beats
from tests.conftest import Account, ServerProcess, basic_auth, make_account, run_cli

DAY1, DAY2 = dt.date(2025, 5, 5), dt.date(2025, 5, 6)
RANGE = ["--from", DAY1.isoformat(), "--to", DAY2.isoformat()]
runner = CliRunner()


@dataclass
class World:
    data_dir: Path
    alice: Account
    bob: Account
    beats: list[Beat]

    @property
    def data(self) -> list[str]:
        return ["--data-dir", str(self.data_dir)]


def _at(day: dt.date, hour: int, minute: int) -> float:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC).timestamp()


def _session(user_id: int, start: float, count: int, step: float, **fields: str) -> list[Beat]:
    return [Beat(id=0, user_id=user_id, time=start + i * step, **fields) for i in range(count)]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    # No ~/.wakatime.cfg or key from the developer's machine may leak into these runs.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WAKATIME_HOME", raising=False)
    monkeypatch.delenv("HACKATIME_API_KEY", raising=False)
    monkeypatch.delenv("HACKATIME_DATA_DIR", raising=False)
    data_dir = tmp_path / "data"
    with Store(data_dir / "hackatime.sqlite3") as store:
        alice = make_account(store, "alice")  # admin, UTC
        bob = make_account(store, "bob", timezone="Europe/Berlin")
        a, b = alice.user.id, bob.user.id
        beats = [
            # Crosses midnight UTC: both days get their clipped part.
            *_session(a, _at(DAY1, 23, 30), 50, 60, project="acme", language="Python", branch="main"),
            *_session(a, _at(DAY2, 9, 0), 40, 45, project="beta", language="Go", branch="dev", editor="vim"),
            *_session(a, _at(DAY2, 11, 0), 20, 90, project="acme", language="Rust", branch="feat"),
            Beat(id=0, user_id=a, time=_at(DAY2, 12, 0), project="acme", source="test"),
            *_session(b, _at(DAY1, 8, 0), 30, 60, project="bobs", language="Python"),
        ]
        beats = insert_beats(store, beats)
    return World(data_dir, alice, bob, beats)


def _cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def _json(*args: str, env: dict[str, str] | None = None) -> dict:
    code, out, err = _cli(*args, "--json", env=env)
    assert code == 0, out + err
    return json.loads(out)


def _oracle_intervals(world: World) -> list[oracle.Interval]:
    default = Rule(120, "capped")  # the server default; neither user overrides it
    return oracle.intervals(world.beats, {world.alice.user.id: default, world.bob.user.id: default})


def _oracle_daily(world: World, user: Account, tz: str, **filters: list[str]) -> dict[dt.date, float]:
    return oracle.daily(_oracle_intervals(world), user.user.id, tz, DAY1, DAY2, filters or None)


def test_local_summary_matches_the_oracle_in_every_format(world: World) -> None:
    expected = _oracle_daily(world, world.alice, "UTC")
    by_day = _json("report", *RANGE, "--by", "day", "--user", "alice", *world.data)
    assert by_day["total_seconds"] == pytest.approx(sum(expected.values()))
    assert {r["name"]: r["total_seconds"] for r in by_day["rows"]} == pytest.approx(
        {d.isoformat(): s for d, s in expected.items()}
    )

    by_project = _json("report", *RANGE, "--by", "project", "--user", "alice", *world.data)
    acme = sum(_oracle_daily(world, world.alice, "UTC", project=["acme"]).values())
    assert by_project["rows"][0]["name"] == "acme"
    assert by_project["rows"][0]["total_seconds"] == pytest.approx(acme)
    assert sum(r["total_seconds"] for r in by_project["rows"]) == pytest.approx(by_project["total_seconds"])
    assert sum(r["percent"] for r in by_project["rows"]) == pytest.approx(100, abs=0.05)

    code, out, _ = _cli("report", *RANGE, "--by", "language", "--csv", "--user", "alice", *world.data)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and {r["name"] for r in rows} == {"Python", "Go", "Rust"}
    assert sum(float(r["total_seconds"]) for r in rows) == pytest.approx(
        by_project["total_seconds"], abs=0.01
    )

    code, out, _ = _cli("report", *RANGE, "--by", "editor", "--user", "alice", *world.data)
    assert code == 0 and "vim" in out and "█" in out and by_project["total_text"] in out


def test_filters_and_branches(world: World) -> None:
    report = _json("report", *RANGE, "--project", "acme", "--by", "branch", "--user", "alice", *world.data)
    expected = sum(_oracle_daily(world, world.alice, "UTC", project=["acme"]).values())
    assert {r["name"] for r in report["rows"]} == {"main", "feat"}
    assert report["total_seconds"] == pytest.approx(expected)
    assert _cli("report", *RANGE, "--by", "branch", "--user", "alice", *world.data)[0] == 2


def test_invoice_matrix_adds_up(world: World) -> None:
    report = _json(
        "report",
        "invoice",
        "--project",
        "acme",
        "--project",
        "beta",
        *RANGE,
        "--rate",
        "100",
        "--user",
        "alice",
        *world.data,
    )
    for project in ("acme", "beta"):
        expected = _oracle_daily(world, world.alice, "UTC", project=[project])
        for day in report["days"]:
            assert day["seconds"].get(project, 0.0) == pytest.approx(
                expected[dt.date.fromisoformat(day["date"])]
            )
    assert report["total_seconds"] == pytest.approx(sum(d["total_seconds"] for d in report["days"]))
    assert report["amount"] == pytest.approx(round(report["total_seconds"] / 36, 2))
    code, out, _ = _cli(
        "report",
        "invoice",
        "--project",
        "acme",
        "--project",
        "beta",
        *RANGE,
        "--csv",
        "--user",
        "alice",
        *world.data,
    )
    table = list(csv.reader(io.StringIO(out)))
    assert code == 0 and table[0] == ["date", "acme", "beta", "total"] and table[-1][0] == "total"
    assert float(table[-1][3]) == report["total_hours"]


def test_spans_streak_and_time_zones(world: World) -> None:
    spans = _json("report", "spans", "--date", DAY2.isoformat(), "--user", "alice", *world.data)
    start, end = oracle.day_bounds("UTC", DAY2)
    expected = oracle.merged_spans(_oracle_intervals(world), world.alice.user.id, start, end)
    found = [edge for s in spans["spans"] for edge in (s["start_time"], s["end_time"])]
    assert found == pytest.approx([edge for span in expected for edge in span])
    code, out, _ = _cli("report", "spans", "--date", DAY2.isoformat(), "--user", "alice", *world.data)
    assert code == 0 and f"{len(expected)} sessions" in out

    streak = _json("report", "streak", "--user", "bob", *world.data)
    assert {"current", "longest"} <= streak.keys()
    bob = _json("report", *RANGE, "--by", "day", "--user", "bob", *world.data)
    assert bob["range"]["timezone"] == "Europe/Berlin"
    assert bob["total_seconds"] == pytest.approx(
        sum(_oracle_daily(world, world.bob, "Europe/Berlin").values())
    )


def test_leaderboard_from_the_data_dir(world: World) -> None:
    import time

    code, _, err = _cli("report", "leaderboard", *world.data)
    assert code == 1 and "not built" in err  # only the scheduler builds boards
    with Store(world.data_dir / "hackatime.sqlite3") as store:
        recent = insert_beats(store, _session(world.bob.user.id, time.time() - 3600, 11, 60, language="Go"))
    assert _cli("jobs", "run", "leaderboards", *world.data)[0] == 0
    board = _json("report", "leaderboard", "--board", "last_24_hours", *world.data)
    assert [e["user"]["username"] for e in board["entries"]] == ["bob"]
    assert board["entries"][0]["total_seconds"] == pytest.approx(recent[-1].time - recent[0].time)
    code, out, _ = _cli("report", "leaderboard", "--board", "last_24_hours", "--csv", *world.data)
    assert code == 0 and out.splitlines()[1].startswith("1,bob,")
    code, out, _ = _cli("report", "leaderboard", "--board", "last_24_hours", *world.data)
    assert code == 0 and "bob" in out and "Go" in out and "10 mins" in out
    assert _cli("report", "leaderboard", "--board", "forever", *world.data)[0] == 2


def test_usage_and_user_errors(world: World) -> None:
    code, _, err = _cli("report", *RANGE, *world.data)
    assert code == 2 and "--user" in err  # two users and no key: which one?
    assert _cli("report", "--range", "fortnight", "--user", "alice", *world.data)[0] == 2
    assert _cli("report", "--json", "--csv", "--user", "alice", *world.data)[0] == 2
    assert _cli("report", "--range", "today", *RANGE, "--user", "alice", *world.data)[0] == 2
    code, _, err = _cli("report", "--user", "nobody", *world.data)
    assert code == 1 and "nobody" in err
    code, _, err = _cli("report", "--data-dir", str(world.data_dir.parent / "empty"))
    assert code == 1 and "no database" in err
    # The key picks the user in local mode too.
    assert (
        _json("report", *RANGE, "--key", world.bob.key, *world.data)["range"]["timezone"] == "Europe/Berlin"
    )


@pytest.mark.slow
def test_both_modes_print_the_api_numbers(world: World) -> None:
    """Local mode first (no server), then a real server on the same data dir: the API, the CLI finding the
    server through the data dir, and --server URL all give the same numbers."""
    queries = [
        ["report", *RANGE, "--by", "project"],
        ["report", *RANGE, "--by", "day", "--language", "Python"],
        ["report", "invoice", "--project", "acme", *RANGE],
        ["report", "spans", "--from", DAY1.isoformat(), "--to", DAY2.isoformat()],
        ["report", "today"],
        ["report", "week", "--by", "language"],
        ["report", "month"],
    ]
    local = [_json(*q, "--user", "alice", *world.data) for q in queries]

    server = ServerProcess(world.data_dir).start()
    try:
        summaries = httpx.get(
            f"{server.url}/api/v1/users/current/summaries",
            params={"start": DAY1.isoformat(), "end": DAY2.isoformat()},
            headers=basic_auth(world.alice.key),
        ).json()
        api_total = summaries["cumulative_total"]["seconds"]
        assert local[0]["total_seconds"] == pytest.approx(api_total)
        env = {"HACKATIME_API_KEY": world.alice.key}
        discovered = run_cli(*queries[0], "--json", "-v", *world.data, env=env)
        assert f"server {server.url}" in discovered.stderr
        assert json.loads(discovered.stdout) == local[0]
        for query, expected in zip(queries, local, strict=True):
            assert _json(*query, *world.data, env=env) == expected, query
        explicit = _json("report", *RANGE, "--server", server.url, "--key", world.alice.key, "--user", "bob")
        assert explicit["range"]["timezone"] == "Europe/Berlin"  # an admin reads bob's report

        code, _, err = _cli(
            "report", *RANGE, "--server", server.url, "--key", world.bob.key, "--user", "alice"
        )
        assert code == 1 and "admin" in err
        code, _, err = _cli("report", *RANGE, *world.data)
        assert code == 1 and "needs an API key" in err
    finally:
        assert server.stop() == 0
    code, _, err = _cli("report", "--server", "http://127.0.0.1:9", "--key", world.alice.key)
    assert code == 1 and "cannot reach" in err
