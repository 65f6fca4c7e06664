"""Data moves out and back unchanged (issue 11, item 8): `doctor`'s test heartbeats stay uncounted through
an export and import, WakaTime dumps without heartbeats are refused with a reason, dump heartbeats resolve
their user agent and machine ids through the dump's lookup lists, and `export --format wakatime` writes
WakaTime's data-dump layout that our importer reads back exactly."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from hackatime_lite.cli.main import app as cli_app
from hackatime_lite.data import wakatime_export
from hackatime_lite.data.exporters import export_heartbeats, export_stream
from hackatime_lite.data.importers import ImportFailed, detect_format, import_file
from hackatime_lite.store import Store
from tests.conftest import Account, ServerProcess, basic_auth

DAY = 1_710_028_800.0  # 2024-03-10 00:00 UTC
UA_LINUX = "wakatime/v1.98.3 (linux-6.8.0-45-generic-x86_64) go1.22.5 vscode/1.93.1 vscode-wakatime/24.6.2"
UA_MAC = "wakatime/v1.102.1 (darwin-23.6.0-arm64) go1.22.5 Xcode/16.0 xcode-wakatime/1.2"
ROW_FIELDS = ("time", "entity", "type", "category", "project", "branch", "language", "dependencies", "lines",
              "lineno", "cursorpos", "is_write", "project_root_count", "line_additions", "line_deletions",
              "ai_line_changes", "human_line_changes", "ai_session", "ai_model", "ai_input_tokens",
              "ai_output_tokens", "ai_prompt_length", "user_agent", "editor", "operating_system", "machine")
RANGE = {"start": "2024-03-09", "end": "2024-03-14"}
BREAKDOWNS = ("projects", "languages", "editors", "operating_systems", "machines", "categories", "dependencies")


def _items(day: int, count: int, *, project: str = "api", offset: float = 0.0) -> list[dict[str, Any]]:
    """A working session on day `day` after DAY: heartbeats 47 s apart from 09:00 UTC, varied fields."""
    return [{"entity": f"/home/dev/{project}/src/mod_{i % 5}.{'py' if i % 2 else 'ts'}", "type": "file",
             "time": DAY + day * 86400 + 9 * 3600 + offset + i * 47.000123456 + 1 / 3, "project": project,
             "branch": "main" if i % 4 else None, "dependencies": ["httpx"] if i % 5 == 0 else None,
             "lines": 100 + i, "lineno": i, "cursorpos": 3 * i, "is_write": [True, False, None][i % 3],
             **({"category": "ai coding", "ai_line_changes": 4, "ai_model": "m-1"} if i % 6 == 0 else {})}
            for i in range(count)]


def _post(client: TestClient, account: Account, items: list[dict[str, Any]], *, ua: str, machine: str,
          test: bool = False) -> None:
    headers = {**account.headers, "User-Agent": ua, "X-Machine-Name": machine}
    if test:
        headers["X-Hackatime-Test"] = "1"  # what `hackatime-lite doctor` sends with its probe heartbeat
    response = client.post("/api/v1/users/current/heartbeats.bulk", json=items, headers=headers)
    assert response.status_code in (201, 202), response.text
    assert all(status == 201 for _, status in response.json()["responses"]), response.text


def _seed(client: TestClient, account: Account) -> float:
    """Three days from two machines and editors, plus a doctor-style test heartbeat that would add time if
    it were counted (90 s after the last heartbeat of the first day). Returns the test heartbeat's time."""
    _post(client, account, _items(0, 30), ua=UA_LINUX, machine="tower")
    _post(client, account, _items(1, 25, project="web"), ua=UA_MAC, machine="laptop")
    _post(client, account, _items(3, 20) + _items(3, 5, project="web", offset=7200), ua=UA_LINUX, machine="tower")
    probe_time = _items(0, 30)[-1]["time"] + 90
    _post(client, account, [{"entity": "/tmp/hackatime-doctor-probe.txt", "type": "file", "time": probe_time,
                             "project": "doctor-probe"}], ua=UA_LINUX, machine="tower", test=True)
    return probe_time


def _stats(client: TestClient, account: Account) -> dict[str, Any]:
    body = client.get("/api/v1/users/current/summaries", params=RANGE, headers=account.headers)
    assert body.status_code == 200, body.text
    return {day["range"]["date"]: {"total": day["grand_total"]["total_seconds"],
                                   **{k: sorted((e["name"], e["total_seconds"]) for e in day[k]) for k in BREAKDOWNS}}
            for day in body.json()["data"]}


def _rows(store: Store, user_id: int, *, counted_only: bool = False) -> list[tuple[Any, ...]]:
    where = " AND source != 'test'" if counted_only else ""
    return [tuple(r) for r in store.reader().execute(
        f"SELECT {', '.join(ROW_FIELDS)} FROM heartbeats WHERE user_id = ?{where} ORDER BY time, entity",
        (user_id,))]


# -- doctor's test heartbeats through json / csv exports ----------------------------------------
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_doctor_test_heartbeat_stays_uncounted_after_export_and_import(client, store, alice, tmp_path,
                                                                       other_instance, fmt):
    other_store, other_client, carol = other_instance
    probe_time = _seed(client, alice)
    original = _stats(client, alice)
    assert original["2024-03-10"]["total"] > 0
    assert ("doctor-probe", pytest.approx(90)) not in original["2024-03-10"]["projects"]
    path = tmp_path / f"export.{fmt}"
    path.write_bytes(b"".join(export_heartbeats(store, alice.user, fmt)))

    stats = import_file(other_store, carol.user, path)
    assert (stats.inserted, stats.rejected) == (81, 0)
    # The same figures, the probe in none of them: it is carried, and stays a test heartbeat.
    moved = _stats(other_client, carol)
    assert moved == original
    assert all(name != "doctor-probe" for day in moved.values() for name, _ in day["projects"])
    probes = other_store.reader().execute("SELECT time FROM heartbeats WHERE source = 'test'").fetchall()
    assert [tuple(r) for r in probes] == [(probe_time,)]
    again = import_file(other_store, carol.user, path)
    assert (again.inserted, again.duplicates) == (0, 81)


# -- WakaTime dumps: summaries only, lookup lists ----------------------------------------------------
def _summaries_only_dump(path: Path) -> None:
    """WakaTime's export without heartbeats: days with their summaries and nothing else."""
    entry = {"name": "api", "total_seconds": 5400.0, "percent": 100.0, "digital": "1:30", "text": "1 hr 30 mins",
             "hours": 1, "minutes": 30}
    days = [{"date": f"2024-03-{d:02d}", "grand_total": {"total_seconds": 5400.0, "text": "1 hr 30 mins",
                                                        "digital": "1:30", "hours": 1, "minutes": 30},
             "projects": [entry], "languages": [{**entry, "name": "Python"}],
             "editors": [{**entry, "name": "VS Code"}], "operating_systems": [{**entry, "name": "Linux"}],
             "categories": [{**entry, "name": "Coding"}]} for d in (10, 11, 12)]
    path.write_text(json.dumps({"user": {"username": "dumped"}, "range": {"start": DAY, "end": DAY + 3 * 86400},
                                "days": days}))


def test_wakatime_dump_with_summaries_but_no_heartbeats_is_refused(store, alice, tmp_path):
    dump = tmp_path / "daily.json"
    _summaries_only_dump(dump)
    with pytest.raises(ImportFailed, match=r"daily summaries \(3 days\) but no heartbeats.*type heartbeats"):
        import_file(store, alice.user, dump, "wakatime-dump")
    assert store.reader().execute("SELECT COUNT(*) FROM heartbeats").fetchone()[0] == 0
    # A heartbeats dump of days without activity is not that: it imports nothing, successfully.
    empty = tmp_path / "quiet.json"
    empty.write_text(json.dumps({"days": [{"date": "2024-03-10", "heartbeats": []}]}))
    assert import_file(store, alice.user, empty).read == 0


def test_cli_import_of_a_summaries_only_dump_exits_1_and_says_why(tmp_path):
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "cli-data")]
    assert runner.invoke(cli_app, ["user", "create", "dana", *data]).exit_code == 0
    dump = tmp_path / "daily.json"
    _summaries_only_dump(dump)
    result = runner.invoke(cli_app, ["import", "wakatime-dump", str(dump), "--user", "dana", *data])
    assert result.exit_code == 1, result.output
    assert "no heartbeats" in result.output and "heartbeats" in result.output.split("no heartbeats")[1]


@pytest.mark.parametrize("lists_first", [True, False])
@pytest.mark.parametrize("machine_key", ["machines", "machine_names"])
def test_dump_heartbeats_resolve_user_agent_and_machine_ids(store, alice, tmp_path, lists_first, machine_key):
    vscode, xcode, odd = (str(uuid.uuid4()) for _ in range(3))
    laptop, tower = str(uuid.uuid4()), str(uuid.uuid4())
    lists = {
        "user_agents": [
            {"id": vscode, "value": UA_LINUX, "editor": "VS Code", "os": "Linux", "is_browser_extension": False},
            {"id": xcode, "value": UA_MAC, "editor": "Xcode", "os": "Mac"},
            # A user agent our parser cannot read: the dump's own reading fills editor and OS.
            {"id": odd, "value": "acme-ide/7 (plan9)", "editor": "Acme", "os": "Plan 9"},
        ],
        machine_key: [{"id": laptop, "name": "Work laptop", "value": "lap-1234"},
                      {"id": tower, "name": "tower"}],
    }
    beats = [{"entity": f"/src/{n}.py", "type": "file", "time": DAY + 3600 + 60 * n, "project": "p",
              "user_agent_id": agent, "machine_name_id": machine}
             for n, (agent, machine) in enumerate([(vscode, laptop), (xcode, tower), (odd, laptop),
                                                   (str(uuid.uuid4()), str(uuid.uuid4()))])]
    days = {"days": [{"date": "2024-03-10", "grand_total": {"total_seconds": 180}, "heartbeats": beats}]}
    document = {**lists, **days} if lists_first else {**days, **lists}
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps({"user": {"username": "dumped"}, **document}))
    assert import_file(store, alice.user, dump).inserted == 4
    rows = store.reader().execute(
        "SELECT user_agent, editor, operating_system, machine FROM heartbeats ORDER BY time").fetchall()
    assert [tuple(r) for r in rows] == [
        (UA_LINUX, "VS Code", "Linux", "lap-1234"),
        (UA_MAC, "Xcode", "Mac", "tower"),
        ("acme-ide/7 (plan9)", "Acme", "Plan 9", "lap-1234"),
        # Ids the lists do not name stay unknown (not a UUID shown as a name).
        (None, "Unknown", "Unknown", None),
    ]


# -- export --format wakatime ------------------------------------------------------------------------
def _wakatime_export(ctx: Any, account: Account, path: Path) -> dict[str, Any]:
    path.write_bytes(b"".join(export_stream(ctx, account.user, "wakatime")))
    return json.loads(path.read_bytes())


def test_wakatime_export_has_the_dump_layout_and_our_figures(client, alice):
    probe_time = _seed(client, alice)
    ctx = client.app.state.ctx
    dump = json.loads(b"".join(export_stream(ctx, alice.user, "wakatime")))
    assert dump["user"]["username"] == "alice" and dump["user"]["timezone"] == "UTC"
    assert dump["range"]["start_date"] == "2024-03-10" and dump["range"]["end_date"] == "2024-03-13"
    assert dump["range"]["start"] == DAY
    # Days with heartbeats or time only; each with WakaTime's keys.
    assert [d["date"] for d in dump["days"]] == ["2024-03-10", "2024-03-11", "2024-03-13"]
    stats = _stats(client, alice)
    for day in dump["days"]:
        assert {"date", "grand_total", "projects", "languages", "editors", "operating_systems", "categories",
                "machines", "dependencies", "entities", "heartbeats"} <= set(day)
        assert {"total_seconds", "text", "digital", "hours", "minutes"} <= set(day["grand_total"])
        assert day["grand_total"]["total_seconds"] == stats[day["date"]]["total"] > 0
        for key in BREAKDOWNS:
            assert sorted((e["name"], e["total_seconds"]) for e in day[key]) == stats[day["date"]][key]
            assert all({"name", "total_seconds", "text", "digital", "percent"} <= set(e) for e in day[key])
        # What wakadump (WakaTime's own dump reader) reads: name and seconds of these lists.
        for key in ("projects", "entities", "languages", "editors", "operating_systems"):
            assert sum(e["total_seconds"] for e in day[key]) == pytest.approx(day["grand_total"]["total_seconds"])
    heartbeats = [hb for day in dump["days"] for hb in day["heartbeats"]]
    assert len(heartbeats) == 80 and probe_time not in {hb["time"] for hb in heartbeats}
    first = heartbeats[0]
    assert {"id", "entity", "type", "category", "time", "project", "branch", "language", "dependencies",
            "is_write", "lines", "lineno", "cursorpos", "user_agent_id", "machine_name_id", "created_at",
            "user_id"} <= set(first)
    assert not {"user_agent", "editor", "operating_system", "machine"} & set(first)
    agents = {a["id"]: a for a in dump["user_agents"]}
    machines = {m["id"]: m for m in dump["machines"]}
    assert agents[first["user_agent_id"]] == {"id": first["user_agent_id"], "value": UA_LINUX,
                                               "editor": "VS Code", "os": "Linux"}
    assert machines[first["machine_name_id"]]["name"] == "tower"
    assert {m["name"] for m in machines.values()} == {"tower", "laptop"}
    # The ids are the heartbeats API's, so a tool can join the two.
    api_agents = client.get("/api/v1/users/current/user_agents", headers=alice.headers).json()["data"]
    assert {a["id"] for a in api_agents} == set(agents)


def test_wakatime_export_reimports_with_no_new_rows_and_identical_figures_elsewhere(
        client, store, alice, tmp_path, other_instance):
    other_store, other_client, carol = other_instance
    _seed(client, alice)
    dump = tmp_path / "wakatime.json"
    _wakatime_export(client.app.state.ctx, alice, dump)
    same = import_file(store, alice.user, dump)
    assert (same.read, same.inserted, same.duplicates, same.rejected) == (80, 0, 80, 0)

    moved = import_file(other_store, carol.user, dump)  # format detected: a WakaTime dump
    assert (moved.inserted, moved.rejected) == (80, 0)
    # Every column comes back, editor / OS / machine through the dump's lookup lists.
    assert _rows(other_store, carol.user.id) == _rows(store, alice.user.id, counted_only=True)
    assert _stats(other_client, carol) == _stats(client, alice)


def test_wakatime_export_streams_in_pieces(client, alice, monkeypatch):
    _seed(client, alice)
    monkeypatch.setattr(wakatime_export, "CHUNK_ROWS", 7)
    monkeypatch.setattr(wakatime_export, "BLOCK_DAYS", 2)
    pieces = list(export_stream(client.app.state.ctx, alice.user, "wakatime"))
    whole = b"".join(pieces)
    assert len(json.loads(whole)["days"]) == 3
    # Heartbeats are written a few at a time, never the export as one buffer.
    assert len(pieces) >= 80 // 7 and max(len(p) for p in pieces) < len(whole) / 5


def test_wakatime_export_api_route(client, alice, bob):
    _seed(client, alice)
    response = client.get("/api/native/v1/export", params={"format": "wakatime", "from": "2024-03-11",
                                                           "to": "2024-03-11"}, headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert 'filename="hackatime-lite-alice-wakatime.json"' in response.headers["content-disposition"]
    body = response.json()
    assert [d["date"] for d in body["days"]] == ["2024-03-11"] and len(body["days"][0]["heartbeats"]) == 25
    assert body["days"][0]["grand_total"]["total_seconds"] == _stats(client, alice)["2024-03-11"]["total"]
    nothing = client.get("/api/native/v1/export", params={"format": "wakatime"}, headers=bob.headers).json()
    assert nothing["days"] == [] and nothing["user"]["username"] == "bob"
    bad = client.get("/api/native/v1/export", params={"format": "wakatime-ish"}, headers=alice.headers)
    assert bad.status_code == 400 and "wakatime" in bad.json()["error"]


def test_cli_export_format_wakatime_round_trips(tmp_path):
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "cli-data")]

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli_app, [*args, *data])
        assert result.exit_code == code, result.output
        return result.output

    run("user", "create", "dana")
    source = tmp_path / "rows.json"
    source.write_text(json.dumps(_items(0, 30) + _items(1, 10, project="web")))
    assert "40 new" in run("import", "file", str(source), "--user", "dana")
    exported = tmp_path / "dana-wakatime.json"
    run("export", "--format", "wakatime", "--output", str(exported))
    dump = json.loads(exported.read_text())
    assert [d["date"] for d in dump["days"]] == ["2024-03-10", "2024-03-11"]
    assert "0 new, 40 already stored" in run("import", "wakatime-dump", str(exported))
    assert "format must be one of json, csv, wakatime" in run("export", "--format", "xml", code=1)


@pytest.mark.slow
def test_cli_export_format_wakatime_while_a_server_holds_the_replica(tmp_path):
    """The server process keeps the DuckDB replica open (one process per file): the CLI builds a temporary
    one from the database instead of failing, and its figures are the server's."""
    server = ServerProcess(tmp_path / "served").start()
    try:
        server.cli("user", "create", "erin")
        key = json.loads(server.cli("key", "create", "erin", "--json").stdout)["api_key"]
        headers = {**basic_auth(key), "User-Agent": UA_LINUX, "X-Machine-Name": "tower"}
        posted = httpx.post(f"{server.url}/api/v1/users/current/heartbeats.bulk", json=_items(0, 30) + _items(1, 9),
                            headers=headers)
        assert posted.status_code in (201, 202), posted.text
        figures = httpx.get(f"{server.url}/api/v1/users/current/summaries", params=RANGE, headers=basic_auth(key))
        out = tmp_path / "erin.json"
        done = server.cli("export", "--format", "wakatime", "--user", "erin", "--output", str(out))
        assert "temporary" in done.stderr
        dump = json.loads(out.read_text())
        by_day = {d["range"]["date"]: d["grand_total"]["total_seconds"] for d in figures.json()["data"]}
        assert {d["date"]: d["grand_total"]["total_seconds"] for d in dump["days"]} == \
            {day: total for day, total in by_day.items() if total > 0}
        assert sum(len(d["heartbeats"]) for d in dump["days"]) == 39
    finally:
        assert server.stop() == 0


def test_format_detection_reads_the_export_tag_not_heartbeat_text(client, store, alice, tmp_path):
    # A file named like our export format, edited: its path is in the heartbeats of a WakaTime-layout export.
    item = {**_items(0, 1)[0], "entity": "/home/dev/backups/hackatime-lite-heartbeats.json"}
    _post(client, alice, [item, *_items(0, 3)[1:]], ua=UA_LINUX, machine="tower")
    dump = tmp_path / "wakatime.json"
    _wakatime_export(client.app.state.ctx, alice, dump)
    assert detect_format(dump) == "wakatime-dump"
    assert import_file(store, alice.user, dump).duplicates == 3
    # Our JSON export, pretty-printed by some tool, is still recognised by its tag.
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(json.loads(b"".join(export_heartbeats(store, alice.user, "json"))), indent=2))
    assert detect_format(pretty) == "json"
