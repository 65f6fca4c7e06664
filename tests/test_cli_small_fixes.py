"""Small things users hit: spans in the user's zone, invoices for unknown projects, the passwd prompt, and
`run.sh` restarting without reinstalling."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from hackatime_lite.analytics.oracle import Beat
from hackatime_lite.cli.main import app
from hackatime_lite.store import Store
from tests.analytics_helpers import insert_beats
from tests.conftest import REPO_ROOT, make_account

runner = CliRunner()
DAY = dt.date(2025, 5, 5)


@pytest.fixture
def tokyo_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("WAKATIME_HOME", "HACKATIME_API_KEY", "HACKATIME_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "data"
    with Store(data_dir / "hackatime.sqlite3") as store:
        kenji = make_account(store, "kenji", timezone="Asia/Tokyo")
        # 09:00–09:20 in Tokyo on DAY is 00:00–00:20 UTC: the session belongs to DAY in Tokyo.
        start = dt.datetime(DAY.year, DAY.month, DAY.day, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo")).timestamp()
        insert_beats(store, [Beat(id=0, user_id=kenji.user.id, time=start + i * 60, project="acme")
                             for i in range(21)])
    return data_dir


def test_spans_show_the_users_zone_and_label_it(tokyo_data_dir: Path) -> None:
    data = ["--data-dir", str(tokyo_data_dir)]
    table = runner.invoke(app, ["report", "spans", "--date", DAY.isoformat(), *data])
    assert table.exit_code == 0, table.output
    assert "Asia/Tokyo" in table.stdout
    assert f"{DAY.isoformat()} 09:00:00" in table.stdout  # Tokyo's clock, not the machine's or UTC
    as_json = json.loads(runner.invoke(app, ["report", "spans", "--date", DAY.isoformat(), *data, "--json"]).stdout)
    assert as_json["timezone"] == "Asia/Tokyo"
    assert [round(s["duration"]) for s in as_json["spans"]] == [1200]


def test_invoice_for_an_unknown_project_says_so_and_exits_1(tokyo_data_dir: Path) -> None:
    data = ["--data-dir", str(tokyo_data_dir)]
    result = runner.invoke(app, ["report", "invoice", "--project", "acmee", "--from", DAY.isoformat(),
                                 "--to", DAY.isoformat(), *data])
    assert result.exit_code == 1
    assert "no project named 'acmee'" in result.stderr
    known = runner.invoke(app, ["report", "invoice", "--project", "acme", "--from", DAY.isoformat(),
                                "--to", DAY.isoformat(), *data, "--json"])
    assert known.exit_code == 0, known.output
    assert json.loads(known.stdout)["total_seconds"] == pytest.approx(1200)


def test_passwd_help_does_not_mark_the_prompted_password_required() -> None:
    result = runner.invoke(app, ["user", "passwd", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    password_line = next(line for line in result.stdout.splitlines() if "--password" in line)
    assert "required" not in password_line.lower()


def _fake_python(bin_dir: Path, log: Path) -> None:
    # Stands in for python3: records that it was called (an install would need it) and makes a venv shell.
    script = bin_dir / "python3"
    script.write_text(f"#!/bin/sh\necho \"$@\" >> {log}\nmkdir -p .venv/bin\n"
                      "printf '#!/bin/sh\\necho serving \"$@\"\\n' > .venv/bin/hackatime-lite\n"
                      "chmod +x .venv/bin/hackatime-lite\n[ -e .venv/bin/python ] || cp \"$0\" .venv/bin/python\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_run_sh_installs_once_and_restarts_without_reinstalling(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(REPO_ROOT / "run.sh", repo / "run.sh")
    shutil.copy(REPO_ROOT / "pyproject.toml", repo / "pyproject.toml")
    bin_dir, log = tmp_path / "bin", tmp_path / "python-calls.log"
    bin_dir.mkdir()
    _fake_python(bin_dir, log)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(repo / "run.sh")], env=env, capture_output=True, text=True, timeout=60)

    first = run()
    assert first.returncode == 0, first.stderr
    assert "serving serve" in first.stdout
    installs = log.read_text().count("pip install")
    assert installs >= 1
    started = time.monotonic()
    second = run()
    assert second.returncode == 0 and "serving serve" in second.stdout
    assert time.monotonic() - started < 3
    assert log.read_text().count("pip install") == installs  # nothing reinstalled
    (repo / "pyproject.toml").write_text((repo / "pyproject.toml").read_text() + "\n# changed\n")
    assert run().returncode == 0
    assert log.read_text().count("pip install") > installs  # a changed pyproject installs again
