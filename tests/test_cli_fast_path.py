"""The stdlib-only front of the CLI (cli.fast): it must print exactly what the Typer app prints, or stay out.

- its recorded help (cli/fast_cache.py) is what the live Typer app renders now;
- `report today` through a server prints the same table / JSON / CSV as the Typer command for the same data
  (both ask one in-process app through a small HTTP front), and leaves errors to the Typer command;
- its table layout equals rich's wherever it claims a case (property test against rich itself), and its small
  copies (human_text, the default data dir, server.json reading, the key pattern) equal the originals.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
import types
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hackatime_lite.cli import fast, fast_cache_gen
from tests.conftest import Account, run_cli


@pytest.fixture
def plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Output not a terminal, 80 columns, no variable that changes rich's or Typer's rendering."""
    for name in fast._RENDER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "80")


def _as_program(monkeypatch: pytest.MonkeyPatch, program: str) -> None:
    """Make click (and cli.fast) see `program` as the way the CLI was started."""
    if program.startswith("python -m "):
        main = types.ModuleType("__main__")
        main.__package__ = program.removeprefix("python -m ")
        monkeypatch.setattr("sys.argv", ["/somewhere/hackatime_lite/__main__.py"])
    else:
        main = types.ModuleType("__main__")
        main.__package__ = None
        monkeypatch.setattr("sys.argv", [f"/usr/local/bin/{program}"])
    monkeypatch.setitem(__import__("sys").modules, "__main__", main)


# -- the recorded help ------------------------------------------------------------------------------------
def test_recorded_help_and_tables_are_what_the_live_app_renders() -> None:
    expected = fast_cache_gen.render()
    recorded = fast_cache_gen.TARGET.read_text(encoding="utf-8")
    assert recorded == expected, "run `python -m hackatime_lite.cli.fast_cache_gen` and commit cli/fast_cache.py"


@pytest.mark.parametrize("program", fast_cache_gen.PROGRAMS)
def test_program_name_is_clicks(monkeypatch: pytest.MonkeyPatch, program: str) -> None:
    from typer._click.utils import _detect_program_name  # Typer's bundled click

    _as_program(monkeypatch, program)
    assert fast.program_name() == _detect_program_name() == program


@pytest.mark.parametrize("args", fast._HELP_ARGS)
def test_help_is_answered_from_the_record(
    plain_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    _as_program(monkeypatch, "hackatime-lite")
    code = fast.answer(list(args))
    out, err = capsys.readouterr()
    live = fast_cache_gen.render_help("hackatime-lite", 80, args)
    assert (code, out, err) == live
    assert "Usage: hackatime-lite [OPTIONS] COMMAND" in (out + err)


def test_help_leaves_terminals_unknown_widths_and_colour_to_typer(
    plain_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _as_program(monkeypatch, "hackatime-lite")
    monkeypatch.setenv("COLUMNS", "97")  # not recorded
    assert fast.answer(["--help"]) is None
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert fast.answer(["--help"]) is None
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.setattr("sys.stdout", _Tty())
    assert fast.answer(["--help"]) is None
    monkeypatch.setattr("sys.stdout", io.StringIO())
    monkeypatch.setenv("_HACKATIME_LITE_COMPLETE", "bash_complete")  # a shell asking for completions
    assert fast.answer(["--help"]) is None
    assert fast.answer(["report", "today", "--json"]) is None
    monkeypatch.delenv("_HACKATIME_LITE_COMPLETE")
    _as_program(monkeypatch, "hl")  # a renamed executable: not recorded
    assert fast.answer([]) is None
    assert capsys.readouterr().err == ""


class _Tty(io.StringIO):
    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


# -- report today through a server ------------------------------------------------------------------------
class _Front:
    """A plain HTTP/1.0 server on 127.0.0.1 that answers each GET with the in-process app's answer (status, body
    and content type), so cli.fast's socket and the Typer command's httpx talk to the same app and data."""

    def __init__(self, client: Any) -> None:
        app_client = client

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                answer = app_client.get(self.path, headers={"Authorization": self.headers.get("Authorization", "")})
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("content-type", "application/json"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def front(client: Any, store: Any, alice: Account) -> Iterator[_Front]:
    from hackatime_lite.ingest import IngestContext, ingest

    now = time.time()
    # Today in UTC (alice's zone), whatever the hour: from the day's start, 20 s apart.
    start = now - now % 86400
    count = int(min(120, (now - start) // 20))
    items = [
        {"entity": f"/src/f{i % 5}.py", "time": start + i * 20, "project": ("api", "web", "cli-tool")[i % 3],
         "language": ("Python", "Go")[i % 2]}
        for i in range(count)
    ]
    ingest(store, items, IngestContext(user=alice.user, now=now))
    server = _Front(client)
    try:
        yield server
    finally:
        server.close()


def _both(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[tuple[int | None, str, str], Any]:
    code = fast.answer(argv)
    out, err = capsys.readouterr()
    return (code, out, err), run_cli(*argv, check=False)


def test_report_today_prints_what_the_typer_command_prints(
    plain_env: None, front: _Front, alice: Account, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["report", "today", "--server", front.url, "--key", alice.key]
    for argv in (
        [*base, "--data-dir", str(tmp_path)],
        ["--data-dir", str(tmp_path), *base, "--json"],
        [*base, "--csv", "--data-dir", str(tmp_path)],
        [*base, "--by", "language", "--data-dir", str(tmp_path)],
        [*base, "--by=day", "--json", f"--data-dir={tmp_path}"],
        [*base, "--by", "EDITOR", "--csv", "--data-dir", str(tmp_path)],
    ):
        (code, out, err), typer_run = _both(argv, capsys)
        assert code == 0, f"the fast front must answer {argv}"
        assert (out, err) == (typer_run.stdout, typer_run.stderr) and typer_run.returncode == 0, argv
        if "--json" in argv:
            report = json.loads(out)
            assert report["total_seconds"] == sum(row["total_seconds"] for row in report["rows"]) > 0


def test_report_today_leaves_errors_and_unknown_options_to_typer(
    plain_env: None, front: _Front, alice: Account, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["report", "today", "--server", front.url, "--data-dir", str(tmp_path)]
    other_key = "1b2c3d4e-5f60-4a1b-9c2d-3e4f5a6b7c8d"  # a valid shape, nobody's key: 401
    for argv in (
        [*base, "--key", other_key],
        [*base, "--key", alice.key, "--user", "nobody"],
        [*base, "--key", alice.key, "--project", "api"],  # an option the front does not take
        [*base, "--key", alice.key, "--json", "--csv"],
        [*base, "--key", alice.key, "--by", "branch"],  # needs --project
        [*base, "--key", "NOT-A-KEY"],
    ):
        assert fast.answer(argv) is None, argv
        assert capsys.readouterr() == ("", "")
    assert run_cli(*base, "--key", other_key, check=False).returncode == 1


# -- the copies, against their originals ----------------------------------------------------------------
@settings(deadline=None)  # the profile's examples: a few in the default run, many in test.sh's thorough pass
@given(
    names=st.lists(
        st.from_regex(r"[a-z0-9()._-]{1,14}( [a-z0-9()._-]{1,10})?", fullmatch=True), min_size=0, max_size=6,
        unique=True,
    ),
    seconds=st.lists(st.floats(min_value=0, max_value=90000), min_size=6, max_size=6),
    zone=st.sampled_from(["UTC", "America/Argentina/Buenos_Aires", "Europe/Berlin"]),
    width=st.integers(min_value=20, max_value=140),
)
def test_table_layout_is_richs_wherever_the_front_draws_it(
    names: list[str], seconds: list[float], zone: str, width: int
) -> None:
    from rich.console import Console

    from hackatime_lite.cli import reports

    rows = sorted(zip(names, seconds, strict=False), key=lambda item: (-item[1], item[0]))
    total = sum(s for _, s in rows)
    report = {
        "range": {"start": "2026-05-04", "end": "2026-05-04", "timezone": zone, "query": {"range": "today"}},
        "by": "project",
        "total_seconds": total,
        "total_text": fast.human_text(total),
        "rows": [{"name": n, "total_seconds": s, "hours": round(s / 3600, 2),
                  "percent": round(100 * s / total, 2) if total else 0.0, "text": fast.human_text(s)}
                 for n, s in rows],
    }
    drawn = fast.summary_table(report, width)
    if drawn is None:
        return
    buffer = io.StringIO()
    console = Console(file=buffer, width=width)
    original = reports.console
    reports.console = console
    try:
        reports.print_summary(report, "table")
    finally:
        reports.console = original
    assert "".join(line + "\n" for line in drawn) == buffer.getvalue()


def test_table_leaves_markup_wide_characters_and_odd_spaces_to_rich() -> None:
    for name in ("[bold]x", "a:b", "café", "two  spaces", " lead", "tab\tx", "日本"):
        assert fast.table_lines("t", ["project"], ["left"], [[name]], 80) is None, name
    assert fast.table_lines("t", ["project"], ["left"], [["x" * 80]], 80) is None  # rich would shrink it


def test_title_wrapping_is_richs() -> None:
    """Titles longer than their table wrap as rich wraps them (greedy words, long words cut, lines padded)."""
    from rich.console import Console
    from rich.table import Table

    for text in ("2026-05-04 (UTC) · total 1 hr 5 mins", "a bb ccc dddddddddddddddddddd e", "x" * 50):
        for width in range(5, 45, 3):
            header = "h" * (width - 4)  # a one-column table exactly `width` wide
            table = Table(title=text, title_justify="left")
            table.add_column(header)
            table.add_row("")
            buffer = io.StringIO()
            Console(file=buffer, width=width).print(table)
            drawn = fast.table_lines(text, [header], ["left"], [[""]], width)
            assert drawn is not None
            assert "".join(line + "\n" for line in drawn) == buffer.getvalue(), (text, width)


def test_human_text_is_formattings() -> None:
    from hackatime_lite.text.formatting import human_text

    for value in (0, 0.4, 1, 59.9, 60, 61, 119, 3599, 3600, 3601, 3660, 7322.5, 86399, 90061, -5):
        assert fast.human_text(value) == human_text(value)


def test_api_key_pattern_is_the_stores() -> None:
    from hackatime_lite.cli.fast_endpoints import API_KEY_PATTERN
    from hackatime_lite.store.rules import API_KEY_PATTERN as STORE_PATTERN

    assert API_KEY_PATTERN.pattern == STORE_PATTERN.pattern


@pytest.mark.parametrize(
    "env",
    [{}, {"XDG_DATA_HOME": "/xdg/data"}, {"XDG_DATA_HOME": "relative/data"}, {"XDG_DATA_HOME": ""},
     {"HOME": "/home/someone"}, {"HOME": "/home/someone", "XDG_DATA_HOME": "  "}],
)
def test_default_data_dir_is_platformdirs(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    from hackatime_lite.paths import default_data_dir

    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    found = fast.default_data_dir()
    assert found is None or found == str(default_data_dir())


def test_server_file_reading_is_runtimes(tmp_path: Path) -> None:
    from hackatime_lite.cli.fast_endpoints import read_server_file
    from hackatime_lite.runtime import read_server_file as runtime_read
    from hackatime_lite.runtime import write_server_file

    path = tmp_path / "server.json"
    assert read_server_file(path) is None is runtime_read(path)
    write_server_file(path, "http://0.0.0.0:3999")
    assert read_server_file(path) == runtime_read(path) == {"pid": os.getpid(), "url": "http://0.0.0.0:3999"}
    for text in ("{", "[]", '{"pid": 999999999, "url": "x"}', '{"url": "x"}'):
        path.write_text(text)
        assert read_server_file(path) is None is runtime_read(path)


# -- serve ------------------------------------------------------------------------------------------------
def test_serve_starts_the_server_the_typer_command_starts(
    plain_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import hackatime_lite.server as server_module

    started: list[tuple[Any, bool]] = []
    monkeypatch.setattr(server_module, "serve", lambda settings, *, start_scheduler=True: started.append(
        (settings, start_scheduler)))
    argv = ["serve", "--data-dir", f"{tmp_path}/data/", "--port", "3123", "--host", "127.0.0.2", "--no-scheduler",
            "--log-level", "warning", "--no-access-log"]
    code = fast.answer(argv)
    out, err = capsys.readouterr()
    typer_run = run_cli(*argv, check=False)
    assert code == 0 == typer_run.returncode
    assert (out, err) == (typer_run.stdout, typer_run.stderr)
    assert "127.0.0.2:3123" in out
    assert len(started) == 2 and started[0] == started[1] and started[0][1] is False


def test_serve_reports_a_busy_data_dir_as_the_typer_command_does(
    plain_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging
    import sys

    from hackatime_lite.runtime import DataDirLock

    data_dir = tmp_path / "busy"
    data_dir.mkdir()
    argv = ["--data-dir", str(data_dir), "serve", "--port", "3124"]
    root, interval = logging.getLogger(), sys.getswitchinterval()
    handlers, level = root.handlers[:], root.level
    try:
        with DataDirLock(data_dir / "server.lock", data_dir / "server.json"):
            code = fast.answer(argv)
            out, err = capsys.readouterr()
            typer_run = run_cli(*argv, check=False)
    finally:  # serve() sets both for the process it runs in
        root.handlers[:] = handlers
        root.setLevel(level)
        sys.setswitchinterval(interval)
    assert code == 1 == typer_run.returncode
    assert (out, err) == (typer_run.stdout, typer_run.stderr)
    assert "is in use by" in err
    for argv in (["serve", "--get", "/api/health"], ["serve", "--port", "+3"], ["serve", "--bogus"]):
        assert fast.answer(argv) is None
