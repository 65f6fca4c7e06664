"""Imports (WakaTime dump, our exports), exports (JSON/CSV, API and CLI), round trips, and account deletion."""

from __future__ import annotations

import base64
import csv
import io
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from hackatime_lite.cli.main import app as cli_app
from hackatime_lite.data.exporters import export_heartbeats
from hackatime_lite.data.importers import ImportFailed, import_file
from hackatime_lite.store import Store
from tests.conftest import Account
from tests.mirror_helpers import write_wakatime_dump

DAY = 1_710_028_800.0  # 2024-03-10 00:00 UTC
UA = "wakatime/v1.102.1 (windows-10.0.27718.1000-x86_64) go1.22.5 Notepad++/unknown windows-wakatime/0.5.0"
ROW_FIELDS = ("time", "entity", "type", "category", "project", "branch", "language", "dependencies", "lines",
              "lineno", "cursorpos", "is_write", "project_root_count", "line_additions", "line_deletions",
              "ai_line_changes", "human_line_changes", "ai_session", "ai_model", "ai_input_tokens",
              "ai_output_tokens", "ai_prompt_length", "user_agent", "editor", "operating_system", "machine")


def _varied_items() -> list[dict[str, Any]]:
    """Heartbeats over three days using every kind of field, including nulls and odd precision."""
    items = []
    for i in range(90):
        item: dict[str, Any] = {
            "entity": f"/home/dev/{'api' if i % 3 else 'web'}/src/mod_{i % 7}.{'py' if i % 2 else 'ts'}",
            "type": "file", "time": DAY + (i // 30) * 86400 + 3600 * 9 + i * 47.000123456 + 1 / 3,
            "project": "api" if i % 3 else "web", "branch": "main" if i % 4 else None,
            "dependencies": ["httpx", "msgspec"] if i % 5 == 0 else None, "lines": 120 + i,
            "lineno": i, "cursorpos": i * 3, "is_write": [True, False, None][i % 3],
        }
        if i % 6 == 0:
            item.update(ai_line_changes=4, human_line_changes=2, ai_model="m-1", ai_input_tokens=900,
                        line_additions=3, line_deletions=1, project_root_count=4, category="ai coding")
        items.append(item)
    items.append({"entity": "docs.python.org", "type": "domain", "time": DAY + 7200.5, "project": None})
    return items


def _post(client: TestClient, account: Account, items: list[dict[str, Any]], machine: str = "tower") -> None:
    response = client.post("/api/v1/users/current/heartbeats.bulk", json=items,
                           headers={**account.headers, "User-Agent": UA, "X-Machine-Name": machine})
    assert response.status_code == 201, response.text
    assert all(status == 201 for _, status in response.json()["responses"])


def _rows(store: Store, user_id: int) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in store.reader().execute(
        f"SELECT {', '.join(ROW_FIELDS)} FROM heartbeats WHERE user_id = ? ORDER BY time, entity", (user_id,))]


def _export(store: Store, account: Account, fmt: str, tmp_path: Path) -> Path:
    path = tmp_path / f"export.{fmt}"
    path.write_bytes(b"".join(export_heartbeats(store, account.user, fmt)))
    return path


def _stats(client: TestClient, account: Account) -> dict[str, Any]:
    body = client.get("/api/v1/users/current/summaries", params={"start": "2024-03-09", "end": "2024-03-13"},
                      headers=account.headers).json()
    keep = ("projects", "languages", "editors", "operating_systems", "machines", "categories", "dependencies")
    return {day["range"]["date"]: {"total": day["grand_total"]["total_seconds"],
                                   **{k: sorted((e["name"], e["total_seconds"]) for e in day[k]) for k in keep}}
            for day in body["data"]}


# -- WakaTime dump ------------------------------------------------------------------------------
def test_wakatime_dump_import_and_reimport(store: Store, alice: Account, tmp_path: Path):
    dump = tmp_path / "wakatime.json"
    write_wakatime_dump(dump, 2500, per_day=1000)
    stats = import_file(store, alice.user, dump)
    assert (stats.read, stats.inserted, stats.duplicates, stats.rejected) == (2500, 2500, 0, 0)
    first = store.reader().execute("SELECT time, entity, project, language, dependencies, is_write, lines, source "
                                   "FROM heartbeats ORDER BY time LIMIT 1").fetchone()
    assert tuple(first) == (1_700_000_000.0, "/src/p0/mod0.py", "p0", "Python", '["os"]', 1, 10, "import")
    again = import_file(store, alice.user, dump)
    assert (again.inserted, again.duplicates) == (0, 2500)
    assert store.reader().execute("SELECT COUNT(*) FROM mirror_outbox").fetchone()[0] == 0


def test_dump_items_that_are_invalid_are_skipped_and_counted(store: Store, alice: Account, tmp_path: Path):
    dump = tmp_path / "mixed.json"
    good = {"entity": "/a.py", "type": "file", "time": DAY, "user_agent_id": "vscode/1.90 vscode-wakatime/24.0",
            "machine_name_id": "my-laptop"}
    dump.write_text(json.dumps({"days": [{"date": "2024-03-10", "heartbeats": [
        good, {"entity": "/b.py", "type": "file", "time": time.time() + 10 * 86400}, "not an object",
        {"type": "file", "time": DAY}]}]}))
    stats = import_file(store, alice.user, dump, "wakatime-dump")
    assert (stats.inserted, stats.rejected) == (1, 3)
    assert any("future" in e for e in stats.error_samples) and any("entity" in e for e in stats.error_samples)
    # Wakapi's heartbeats carry the value itself in *_id fields; it becomes the user agent and machine.
    row = store.reader().execute("SELECT user_agent, editor, machine FROM heartbeats").fetchone()
    assert tuple(row) == ("vscode/1.90 vscode-wakatime/24.0", "VS Code", "my-laptop")


@pytest.mark.parametrize(("content", "message"), [
    (None, "not valid JSON"),
    ('{"user": {}, "ranges": []}', "no `days` list"),
    ('[{"entity": "x"}]', "not a JSON object"),
    ('{"days": {"date": 1}}', "`days` must be a list"),
    ("", "empty"),
    ('{"days": [{"heartbeats": [{"entity": "/a.py", "time": 1710028800, "type": "file"}]}', "not valid JSON"),
])
def test_malformed_dump_imports_nothing(store: Store, alice: Account, tmp_path: Path, content, message):
    path = tmp_path / "bad.json"
    if content is None:  # a big dump cut off mid-way: the first chunks must not be stored
        write_wakatime_dump(path, 5000)
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * 0.7)])
    else:
        path.write_text(content)
    with pytest.raises(ImportFailed, match=message):
        import_file(store, alice.user, path, "wakatime-dump")
    assert store.reader().execute("SELECT COUNT(*) FROM heartbeats").fetchone()[0] == 0


@pytest.mark.slow
def test_100k_dump_imports_with_bounded_memory(tmp_path: Path):
    dump = tmp_path / "big.json"
    write_wakatime_dump(dump, 100_000)
    script = textwrap.dedent("""
        import json, sys, time
        from pathlib import Path
        from hackatime_lite.data.importers import import_file
        from hackatime_lite.store import Store

        def status_kb(field):
            for line in open("/proc/self/status"):
                if line.startswith(field + ":"):
                    return int(line.split()[1])

        store = Store(Path(sys.argv[2]))
        user = store.create_user("big")
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # resets the peak RSS (VmHWM) so it measures the import alone
        baseline = status_kb("VmRSS")
        started = time.perf_counter()
        stats = import_file(store, user, Path(sys.argv[1]), "wakatime-dump")
        elapsed = time.perf_counter() - started
        peak = status_kb("VmHWM")
        count = store.reader().execute("SELECT COUNT(*) FROM heartbeats").fetchone()[0]
        store.close()
        print(json.dumps({"baseline_kb": baseline, "peak_kb": peak, "inserted": stats.inserted, "count": count,
                          "seconds": elapsed}))
    """)
    done = subprocess.run([sys.executable, "-c", script, str(dump), str(tmp_path / "db.sqlite3")],
                          capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    size_mb = dump.stat().st_size / 2**20
    peak_mb, growth_mb = result["peak_kb"] / 1024, (result["peak_kb"] - result["baseline_kb"]) / 1024
    print(f"100k-heartbeat dump ({size_mb:.0f} MiB): peak RSS {peak_mb:.0f} MiB, +{growth_mb:.0f} MiB during "
          f"the import, {result['seconds']:.1f} s")
    assert result["inserted"] == result["count"] == 100_000
    # Streaming: growth is SQLite's page cache (≤ 32 MiB) plus a chunk of rows, whatever the file's size.
    assert growth_mb < 60
    assert peak_mb < 250


# -- export → import round trips ----------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_reimported_into_the_same_instance_adds_nothing(client, store, alice, tmp_path, fmt):
    _post(client, alice, _varied_items())
    path = _export(store, alice, fmt, tmp_path)
    stats = import_file(store, alice.user, path)
    assert (stats.read, stats.inserted, stats.duplicates, stats.rejected) == (91, 0, 91, 0)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_imported_into_an_empty_instance_gives_identical_rows_and_stats(
        client, store, alice, tmp_path, other_instance, fmt):
    other_store, other_client, carol = other_instance
    _post(client, alice, _varied_items()[:50], machine="tower")
    _post(client, alice, _varied_items()[50:], machine="laptop")
    path = _export(store, alice, fmt, tmp_path)
    stats = import_file(other_store, carol.user, path)
    assert (stats.inserted, stats.rejected) == (91, 0)
    assert _rows(other_store, carol.user.id) == _rows(store, alice.user.id)
    original = _stats(client, alice)
    assert original["2024-03-10"]["total"] > 0
    assert _stats(other_client, carol) == original


def test_export_formats_carry_every_column_at_full_precision(client, store, alice, tmp_path):
    _post(client, alice, _varied_items())
    as_json = json.loads(_export(store, alice, "json", tmp_path).read_bytes())
    assert as_json["format"] == "hackatime-lite-heartbeats" and as_json["user"] == "alice"
    records = as_json["heartbeats"]
    stored = store.reader().execute("SELECT * FROM heartbeats ORDER BY time, id").fetchall()
    assert [r["time"] for r in records] == [r["time"] for r in stored]  # exact floats
    assert set(records[0]) == {"id", *ROW_FIELDS, "source", "created_at", "dedup_hash"}
    assert records[0]["dedup_hash"] == stored[0]["dedup_hash"].hex()
    rows = list(csv.DictReader(io.StringIO(_export(store, alice, "csv", tmp_path).read_text())))
    assert [float(r["time"]) for r in rows] == [r["time"] for r in stored]
    assert {r["is_write"] for r in rows} == {"true", "false", ""}


def test_export_api_streams_a_range(client, alice, bob):
    _post(client, alice, _varied_items())
    _post(client, bob, _varied_items()[:5])
    response = client.get("/api/native/v1/export", params={"format": "csv", "from": "2024-03-11", "to": "2024-03-11"},
                          headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="hackatime-lite-alice-heartbeats.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 30 and all(DAY + 86400 <= float(r["time"]) < DAY + 2 * 86400 for r in rows)
    whole = client.get("/api/native/v1/export", headers=bob.headers).json()
    assert whole["user"] == "bob" and len(whole["heartbeats"]) == 5
    assert client.get("/api/native/v1/export", params={"format": "xml"}, headers=alice.headers).status_code == 400
    assert client.get("/api/native/v1/export", params={"from": "soon"}, headers=alice.headers).status_code == 400
    assert client.get("/api/native/v1/export").status_code == 401


def _wait_job(client: TestClient, account: Account, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = client.get(f"/api/native/v1/import/{job_id}", headers=account.headers).json()["data"]
        if job["finished_at"]:
            return job
        time.sleep(0.05)
    raise AssertionError("import job did not finish")


def test_import_upload_runs_in_the_background(client, alice, bob, tmp_path):
    dump = tmp_path / "dump.json"
    write_wakatime_dump(dump, 1200, per_day=400)
    started = client.post("/api/native/v1/import", content=dump.read_bytes(),
                          headers={**alice.headers, "Content-Type": "application/json"})
    assert started.status_code == 202, started.text
    job = _wait_job(client, alice, started.json()["data"]["id"])
    assert (job["state"], job["inserted"], job["bytes_done"]) == ("done", 1200, dump.stat().st_size)
    assert client.get(f"/api/native/v1/import/{job['id']}", headers=bob.headers).status_code == 404
    # A browser form upload (multipart) works the same; everything is a duplicate now.
    form = client.post("/api/native/v1/import", files={"file": ("dump.json", dump.read_bytes(), "application/json")},
                       headers=alice.headers)
    assert form.status_code == 202, form.text
    assert _wait_job(client, alice, form.json()["data"]["id"])["duplicates"] == 1200
    broken = client.post("/api/native/v1/import?format=wakatime-dump", content=b'{"days": [{"heartbeats": [',
                         headers=alice.headers)
    failed = _wait_job(client, alice, broken.json()["data"]["id"])
    assert failed["state"] == "failed" and "not valid JSON" in failed["error"]
    assert client.post("/api/native/v1/import", content=b"", headers=alice.headers).status_code == 400
    assert client.post("/api/native/v1/import?format=xml", content=b"{}", headers=alice.headers).status_code == 400
    read_only = {"Authorization": "Basic " + base64.b64encode(alice.read_only_key.encode()).decode()}
    assert client.post("/api/native/v1/import", content=b"{}", headers=read_only).status_code == 403
    assert not list((Path(client.app.state.ctx.settings.paths.root) / "imports").glob("upload-*"))


# -- deletion -----------------------------------------------------------------------------------
def test_delete_heartbeats_in_a_range_needs_confirmation(client, store, alice, bob):
    _post(client, alice, _varied_items())
    _post(client, bob, _varied_items()[:10])
    url = "/api/native/v1/heartbeats"
    refused = client.delete(url, params={"from": "2024-03-10", "to": "2024-03-10"}, headers=alice.headers)
    assert refused.status_code == 400 and "confirm" in refused.json()["error"]
    deleted = client.request("DELETE", url, params={"from": "2024-03-10", "to": "2024-03-10"},
                             json={"confirm": True}, headers=alice.headers)
    assert deleted.json() == {"deleted": 31}
    left = store.reader().execute("SELECT MIN(time) FROM heartbeats WHERE user_id = ?", (alice.user.id,))
    assert left.fetchone()[0] >= DAY + 86400
    tombstones = store.reader().execute("SELECT COUNT(*) FROM heartbeat_tombstones WHERE user_id = ?",
                                        (alice.user.id,)).fetchone()[0]
    assert tombstones == 31
    assert client.delete(url, params={"confirm": "true"}, headers=alice.headers).json() == {"deleted": 60}
    assert store.reader().execute("SELECT COUNT(*) FROM heartbeats WHERE user_id = ?",
                                  (bob.user.id,)).fetchone()[0] == 10
    assert client.delete(url, params={"from": "x", "confirm": "1"}, headers=alice.headers).status_code == 400


def test_delete_account_removes_user_and_data(client, store, alice, bob):
    _post(client, bob, _varied_items()[:12])
    client.post("/api/native/v1/mirrors", json={"url": "https://wakatime.com/api/v1",
                                                "api_key": "waka_x", "verify": False}, headers=bob.headers)
    assert client.request("DELETE", "/api/native/v1/account", headers=bob.headers).status_code == 400
    response = client.request("DELETE", "/api/native/v1/account", json={"confirm": True}, headers=bob.headers)
    assert response.json() == {"deleted": True, "username": "bob", "heartbeats_deleted": 12}
    conn = store.reader()
    assert conn.execute("SELECT COUNT(*) FROM users WHERE id = ?", (bob.user.id,)).fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM mirror_targets").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM heartbeat_tombstones WHERE user_id = ?",
                        (bob.user.id,)).fetchone()[0] == 12
    assert client.get("/api/native/v1/export", headers=bob.headers).status_code == 401
    assert client.get("/api/native/v1/export", headers=alice.headers).status_code == 200


# -- CLI ----------------------------------------------------------------------------------------
def test_cli_import_export_and_delete(tmp_path: Path):
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "cli-data")]

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli_app, [*args, *data])
        assert result.exit_code == code, result.output
        return result.output

    run("user", "create", "dana")
    dump = tmp_path / "dump.json"
    write_wakatime_dump(dump, 300, per_day=100)
    assert "300 new" in run("import", "wakatime-dump", str(dump), "--user", "dana")
    exported = tmp_path / "dana.csv"
    run("export", "--format", "csv", "--from", "2023-11-15", "--to", "2023-11-15", "--output", str(exported))
    assert len(exported.read_text().splitlines()) == 1 + 100
    assert "0 new, 100 already stored" in run("import", "file", str(exported))
    bad = tmp_path / "bad.json"
    bad.write_text('{"days": [')
    assert "nothing imported" in run("import", "wakatime-dump", str(bad), code=1)
    assert "--yes" in run("data", "delete", "--user", "dana", "--from", "2023-11-14", "--to", "2023-11-14", code=2)
    assert "deleted 100 heartbeats" in run("data", "delete", "--user", "dana", "--from", "2023-11-14",
                                           "--to", "2023-11-14", "--yes")
    assert "--yes" in run("user", "delete", "dana", code=2)
    assert "deleted user dana and 200 heartbeats" in run("user", "delete", "dana", "--yes")
    assert "no user" in run("export", "--user", "dana", code=1)
