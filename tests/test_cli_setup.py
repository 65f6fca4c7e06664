"""`setup` (~/.wakatime.cfg) and `doctor`, in a temporary HOME; doctor against a real server process."""

from __future__ import annotations

import configparser
import json
import sqlite3
import stat
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from hackatime_lite.cli.main import app
from hackatime_lite.store import Store
from tests.conftest import ServerProcess, basic_auth, make_account, run_cli

runner = CliRunner()
EXISTING = """\
# my editor settings
[settings]
debug = false
; keep these out of my stats
ignore =
    COMMIT_EDITMSG$
    PULLREQ_EDITMSG$
api_key = 00000000-0000-4000-8000-000000000000

[git]
disable_submodules = true
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("WAKATIME_HOME", "HACKATIME_API_KEY", "HACKATIME_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    return home


def _cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _settings(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    return parser


def test_setup_keeps_other_keys_sections_and_comments(home: Path, tmp_path: Path) -> None:
    cfg = home / ".wakatime.cfg"
    cfg.write_text(EXISTING)
    key = "1b2c3d4e-5f60-4a1b-9c2d-3e4f5a6b7c8d"
    code, out, err = _cli(
        "setup", "--key", key, "--url", "http://127.0.0.1:3999/", "--data-dir", str(tmp_path)
    )
    assert code == 0, out + err
    text = cfg.read_text()
    parsed = _settings(cfg)
    assert parsed["settings"]["api_url"] == "http://127.0.0.1:3999/api/v1"
    assert parsed["settings"]["api_key"] == key
    assert parsed["settings"]["debug"] == "false" and "PULLREQ_EDITMSG$" in parsed["settings"]["ignore"]
    assert parsed["git"]["disable_submodules"] == "true"
    assert "# my editor settings" in text and "; keep these out of my stats" in text
    backups = list(home.glob(".wakatime.cfg.bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == EXISTING
    assert "previous file kept" in out

    # Running it again replaces the values in place (no duplicate keys) and keeps another backup.
    assert _cli("setup", "--url", "http://10.1.2.3:4000/api/v1", "--data-dir", str(tmp_path))[0] == 0
    assert _settings(cfg)["settings"]["api_key"] == key  # kept from the file
    assert cfg.read_text().count("api_url") == 1
    assert _settings(cfg)["settings"]["api_url"] == "http://10.1.2.3:4000/api/v1"
    assert len(list(home.glob(".wakatime.cfg.bak-*"))) == 2


def test_setup_creates_a_key_for_a_user_and_a_private_file(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store(data / "hackatime.sqlite3") as store:
        make_account(store, "ada")
    code, out, err = _cli("setup", "--user", "ada", "--data-dir", str(data), "--json")
    assert code == 0, out + err
    shown = json.loads(out)
    cfg = home / ".wakatime.cfg"
    assert shown["backup"] is None and shown["path"] == str(cfg)
    assert _settings(cfg)["settings"]["api_url"] == "http://127.0.0.1:3000/api/v1"  # no server running
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    with Store(data / "hackatime.sqlite3") as store:
        found = store.lookup_api_key(_settings(cfg)["settings"]["api_key"])
    assert found is not None and found[0].username == "ada"


def test_setup_print_and_bad_input(home: Path, tmp_path: Path) -> None:
    cfg = home / ".wakatime.cfg"
    cfg.write_text(EXISTING)
    code, out, _ = _cli("setup", "--print", "--url", "http://127.0.0.1:3999", "--data-dir", str(tmp_path))
    assert code == 0 and "api_url = http://127.0.0.1:3999/api/v1" in out and "[git]" in out
    assert cfg.read_text() == EXISTING and not list(home.glob("*.bak-*"))

    code, _, err = _cli("setup", "--key", "1B2C3D4E-5F60-4A1B-9C2D-3E4F5A6B7C8D", "--data-dir", str(tmp_path))
    assert code == 1 and "lowercase" in err
    code, _, err = _cli("setup", "--key", "1b2c3d4e-5f60-4a1b-9c2d-3e4f5a6b7c8d", "--url", "ftp://x")
    assert code == 1 and "http" in err
    cfg.unlink()
    code, _, err = _cli("setup", "--data-dir", str(tmp_path))
    assert code == 1 and "--key" in err and not cfg.exists()
    code, _, err = _cli("setup", "--user", "ghost", "--data-dir", str(tmp_path))
    assert code == 1 and "ghost" in err


def test_doctor_explains_a_missing_or_broken_config(home: Path, tmp_path: Path) -> None:
    code, out, _ = _cli("doctor", "--data-dir", str(tmp_path))
    assert code == 1 and "does not exist" in out and "hackatime-lite setup" in out
    cfg = home / ".wakatime.cfg"
    cfg.write_text("[settings]\napi_key = 1B2C3D4E-5F60-4A1B-9C2D-3E4F5A6B7C8D\n")
    result = json.loads(_cli("doctor", "--json", "--data-dir", str(tmp_path))[1])
    failed = {c["name"]: c["detail"] for c in result["checks"] if not c["ok"]}
    assert result["ok"] is False and "wakatime.com" in failed["api_url"]
    cfg.write_text(
        "[settings]\napi_url = http://127.0.0.1:9/api/v1\napi_key = 1B2C3D4E-5F60-4A1B-9C2D-3E4F5A6B7C8D\n"
    )
    code, out, _ = _cli("doctor", "--timeout", "2", "--data-dir", str(tmp_path))
    assert code == 1 and "lowercase" in out and "cannot reach" in out and "hackatime-lite serve" in out


@pytest.mark.slow
def test_doctor_against_a_real_server(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store(data / "hackatime.sqlite3") as store:
        ada = make_account(store, "ada")
    server = ServerProcess(data).start()
    try:
        assert _cli("setup", "--key", ada.key, "--data-dir", str(data))[0] == 0  # finds the server's URL
        assert f"api_url = {server.url}/api/v1" in (home / ".wakatime.cfg").read_text()
        done = run_cli("doctor", "--data-dir", str(data), env={"HOME": str(home)})
        assert "test heartbeat" in done.stdout and "all good" in done.stdout
        status = httpx.get(f"{server.url}/api/v1/users/current/statusbar/today", headers=basic_auth(ada.key))
        assert status.json()["data"]["grand_total"]["total_seconds"] == 0  # the probe is not coding time

        _cli("setup", "--key", ada.read_only_key, "--data-dir", str(data))
        code, out, _ = _cli("doctor", "--data-dir", str(data))
        assert code == 1 and "read-only" in out
        _cli("setup", "--key", "1b2c3d4e-5f60-4a1b-9c2d-3e4f5a6b7c8d", "--data-dir", str(data))
        code, out, _ = _cli("doctor", "--data-dir", str(data))
        assert code == 1 and "does not know this key" in out and "key create" in out
    finally:
        assert server.stop() == 0
    with sqlite3.connect(data / "hackatime.sqlite3") as db:
        sources = db.execute("SELECT source, entity FROM heartbeats").fetchall()
    assert sources == [("test", "hackatime-lite doctor")]
