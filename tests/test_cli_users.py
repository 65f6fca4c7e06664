"""`user` and `key` commands, run in-process through the CLI app (exit codes, stdout, stderr)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import run_cli


def test_user_and_key_lifecycle(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    created = json.loads(
        run_cli("user", "create", "ada", "--timezone", "Europe/Berlin", "--json", *data).stdout
    )
    assert created["is_admin"] is True and created["timezone"] == "Europe/Berlin"
    run_cli("user", "create", "bea", *data)
    users = json.loads(run_cli("user", "list", "--json", *data).stdout)
    assert [(u["username"], u["is_admin"]) for u in users] == [("ada", True), ("bea", False)]

    key = run_cli("key", "create", "bea", "--name", "laptop", "--read-only", *data).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", key)
    keys = json.loads(run_cli("key", "list", "bea", "--json", *data).stdout)
    assert len(keys) == 1 and keys[0]["read_only"] is True and keys[0]["name"] == "laptop"
    assert key not in json.dumps(keys)
    run_cli("key", "revoke", str(keys[0]["id"]), *data)
    assert json.loads(run_cli("key", "list", "--json", *data).stdout)[0]["revoked_at"] is not None


def test_user_errors_exit_nonzero(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    run_cli("user", "create", "ada", *data)
    duplicate = run_cli("user", "create", "ada", *data, check=False)
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    bad_zone = run_cli("user", "create", "cyd", "--timezone", "Nowhere/Land", *data, check=False)
    assert bad_zone.returncode == 1 and "time zone" in bad_zone.stderr
    assert run_cli("key", "create", "ghost", *data, check=False).returncode == 1
    assert run_cli("key", "revoke", "999", *data, check=False).returncode == 1
    assert run_cli("user", "frobnicate", *data, check=False).returncode == 2
