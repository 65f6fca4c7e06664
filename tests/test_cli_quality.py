"""Conventions every command follows (--data-dir, --config, --json on reads, exit codes), shell completion,
`python -m hackatime_lite`, and `serve --get` (one request answered in-process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from hackatime_lite.cli.main import app
from tests.conftest import run_cli, run_cli_process

runner = CliRunner()
READ_VERBS = {"list", "status", "config", "doctor"}


def _leaves(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _leaves(sub, (*path, name))
    else:
        yield path, command


def test_every_command_takes_data_dir_and_config_and_reads_take_json() -> None:
    leaves = list(_leaves(typer.main.get_command(app)))
    assert len(leaves) > 15
    for path, command in leaves:
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert {"--data-dir", "--config"} <= options, path
        if path[0] == "report" or path[-1] in READ_VERBS:
            assert "--json" in options, path


def test_exit_codes_help_and_completion() -> None:
    assert runner.invoke(app, ["--help"]).exit_code == 0
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2
    assert runner.invoke(app, ["report", "--by", "planet"]).exit_code == 2
    script = runner.invoke(app, ["--show-completion", "bash"])
    assert script.exit_code == 0 and "complete" in script.stdout
    done = run_cli("--version")
    assert done.stdout.startswith("hackatime-lite ")


@pytest.mark.slow
def test_python_dash_m_runs_the_cli() -> None:
    """`python -m hackatime_lite` in a real interpreter: the module entry point (the rest runs in-process)."""
    done = run_cli_process("--version")
    assert done.stdout.startswith("hackatime-lite ")


def test_serve_get_answers_one_request_in_process(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    # run_cli: in-process like runner.invoke, and it undoes the logging setup the app does.
    result = run_cli("serve", "--get", "/api/health", *data)
    status, body = result.stdout.split("\n", 1)
    assert result.returncode == 0 and status == "200" and json.loads(body)["status"] == "ok"
    missing = run_cli("serve", "--get", "api/v1/users/current/statusbar/today", *data, check=False)
    assert missing.returncode == 1 and missing.stdout.startswith("401\n")
    assert not (tmp_path / "data" / "server.json").exists()  # nothing listened, nothing to discover
