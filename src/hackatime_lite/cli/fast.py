"""The command line's fast front: the entry point of `hackatime-lite` and `python -m hackatime_lite`.

Importing Typer, click and rich costs several times a bare interpreter's start, so the invocations people run
most often are answered here (the first two with the standard library alone), and everything else goes to the
Typer app (cli.main) unchanged:

- the top-level help (`--help`, no arguments, `-h`) when output is not a terminal: the text, streams and exit
  status the Typer app produced for the same program name and width, recorded in cli.fast_cache (generated
  from the live app by cli.fast_cache_gen; a test fails when they differ);
- `report today` through a running server (`--server`, or the server advertised in the data dir), with
  `--by`, `--key`, `--user`, `--data-dir`, `--config`, `--json`, `--csv`: the same HTTP request, the same
  numbers and the same table, JSON or CSV as the Typer command prints;
- `serve` on a SQLite store (not `--get`): the same settings, banner, server and error messages (rich prints
  the banner; Typer, click and the command modules stay unimported).

A case is answered here only when it is fully understood and ends well; anything else — an option this module
does not know, an error from the server, a table rich would have to shrink, a terminal — returns None before
anything is printed, and the Typer app runs (and prints its own messages and exit status).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # `typing` itself costs a third of a bare start; mypy reads this name as typing's
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

# Environment variables that change how Typer or rich render (colour, forced terminals, widths, plain click
# help); with any of them set the Typer app renders. (Shell completion's variable is checked by name.)
_RENDER_ENV = (
    "FORCE_COLOR",
    "PY_COLORS",
    "GITHUB_ACTIONS",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "_TYPER_FORCE_DISABLE_TERMINAL",
    "TYPER_USE_RICH",
    "TERMINAL_WIDTH",
    "JUPYTER_COLUMNS",
    "JUPYTER_LINES",
    "DATABRICKS_RUNTIME_VERSION",
)
_HELP_ARGS = ((), ("--help",), ("-h",))


def main() -> None:
    """`hackatime-lite` (console script), `python -m hackatime_lite` and the one-file executable."""
    code = answer(sys.argv[1:])
    if code is not None:
        sys.stdout.flush()
        raise SystemExit(code)
    from hackatime_lite.cli.main import app

    app()


def answer(argv: Sequence[str]) -> int | None:
    """The exit status after answering `argv` here, or None (nothing printed) when the Typer app must."""
    if argv[:1] == ["--sqlite-writer"]:  # store.sqlite.writer_child.ARGUMENT: serve's heartbeat writer process
        from hackatime_lite.store.sqlite.writer_child import main as writer_main

        return writer_main(list(argv[1:]))
    if _completion_var() in os.environ:  # a shell asking Typer for completions: not a command run at all
        return None
    if tuple(argv) in _HELP_ARGS:
        return _help(tuple(argv))
    if "report" in argv:
        return _report_today(list(argv))
    if "serve" in argv:
        return _serve(list(argv))
    return None


# -- where output goes -----------------------------------------------------------------------------------
def plain_width() -> int | None:
    """The width rich would render to when stdout and stderr are not terminals (so it prints no colours or
    cursor codes), as rich.console.Console computes it: COLUMNS, else the first of stdin, stdout, stderr that
    is a terminal, else 80. None when rich might treat the output as a terminal or render it differently."""
    environ = os.environ
    if os.name != "posix" or any(name in environ for name in _RENDER_ENV):
        return None
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            return None
        encoding = (getattr(stream, "encoding", None) or "utf-8").lower()
        try:
            tty = stream.isatty()
        except ValueError:
            return None
        if tty or not encoding.startswith("utf"):  # rich swaps the box characters for ASCII otherwise
            return None
    columns = environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        width = int(columns)
    else:
        width = 0
        for fd in (0, 1, 2):
            try:
                width = os.get_terminal_size(fd).columns
            except (AttributeError, ValueError, OSError):
                continue
            break
        width = width or 80
    return width if width >= 1 else None


def program_name() -> str:
    """The program name click shows in usage lines (click.utils._detect_program_name)."""
    main_module = sys.modules.get("__main__")
    path = sys.argv[0] if sys.argv and sys.argv[0] else ""
    package = getattr(main_module, "__package__", None)
    if package in (None, ""):
        return os.path.basename(path)
    name = os.path.splitext(os.path.basename(path))[0]
    module = package if name == "__main__" else f"{package}.{name}"
    return f"python -m {module.lstrip('.')}"


def _completion_var() -> str:
    return f"_{program_name()}_COMPLETE".replace("-", "_").upper()


# -- help -------------------------------------------------------------------------------------------------
def _help(args: tuple[str, ...]) -> int | None:
    width = plain_width()
    if width is None:
        return None
    from hackatime_lite.cli.fast_cache import HELP

    found = HELP.get((program_name(), width, args))
    if found is None:
        return None
    code, out, err = found
    sys.stdout.write(out)
    sys.stdout.flush()
    sys.stderr.write(err)
    return code


# -- serve ------------------------------------------------------------------------------------------------
_SERVE_VALUES = {"--host", "--port", "--data-dir", "--config", "--log-level"}
_SERVE_FLAGS = {"--access-log", "--no-access-log", "--no-scheduler"}


def _serve(argv: list[str]) -> int | None:
    """cli.main's `serve` (without --get) on a SQLite store: the same settings, banner, server and error
    messages, without importing Typer, click and every command module first (a server's start pays for
    Litestar and DuckDB; this was a seventh of it)."""
    at = argv.index("serve")
    global_options: dict[str, Any] = {}
    options: dict[str, Any] = {}
    if not _parse_options(argv[:at], _GLOBAL_OPTIONS, set(), global_options):
        return None
    if not _parse_options(argv[at + 1 :], _SERVE_VALUES, _SERVE_FLAGS, options):
        return None
    if options.get("--access-log") and options.get("--no-access-log"):
        return None
    port = options.get("--port")
    if port is not None and not (port.isascii() and port.isdigit()):
        return None  # click's integer parsing (signs, underscores, its messages) stays click's
    from pathlib import Path

    from hackatime_lite.config import ConfigError, load_settings

    # The command's option reads HACKATIME_DATA_DIR too (Typer's envvar), so it arrives as a flag.
    data_dir = options.get("--data-dir") or global_options.get("--data-dir") or os.environ.get("HACKATIME_DATA_DIR")
    flags = {
        "host": options.get("--host"),
        "port": None if port is None else int(port),
        "log_level": options.get("--log-level"),
        "access_log": True if options.get("--access-log") else False if options.get("--no-access-log") else None,
        "data_dir": None if data_dir is None else str(Path(data_dir)),  # what Typer's Path option gives
    }
    try:
        settings = load_settings(
            config_file=options.get("--config") or global_options.get("--config"),
            overrides={name: value for name, value in flags.items() if value is not None},
        )
    except ConfigError:
        return None
    if settings.database_url:
        return None  # PostgreSQL: the Typer command checks pending migrations first (refuse_unbacked_upgrade)
    import gc

    from hackatime_lite import __version__
    from hackatime_lite.errors import InputError, TemporarilyUnavailable
    from hackatime_lite.runtime import DataDirInUse

    gc.disable()  # from here on start-up only builds what the process keeps; server.serve turns it back on
    from hackatime_lite.server import serve as run_server

    print_line(f"hackatime-lite {__version__} on http://{settings.host}:{settings.port} (data: {settings.paths.root})")
    try:
        run_server(settings, start_scheduler=not options.get("--no-scheduler"))
    except (DataDirInUse, InputError) as exc:
        return _fail(str(exc))
    except TemporarilyUnavailable as exc:
        return _fail(f"{exc} (temporary: try again in {exc.retry_after} s)")
    return 0


def _fail(message: str) -> int:
    """cli.common.fail's message (exit status 1), without Typer."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(f"[red]error:[/red] {escape(message)}", soft_wrap=True, highlight=False)
    return 1


# -- report today -----------------------------------------------------------------------------------------
_VALUE_OPTIONS = {"--by", "--server", "--key", "--user", "--data-dir", "--config"}
_FLAG_OPTIONS = {"--json", "--csv"}
_GLOBAL_OPTIONS = {"--data-dir", "--config"}


def _parse_options(tokens: Sequence[str], values: set[str], flags: set[str], into: dict[str, Any]) -> bool:
    """Options as click reads them (`--opt VALUE`, `--opt=VALUE`, flags); False for anything else, for a
    repeated option and for a value that looks like an option (click's rules there are not ours to copy)."""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        name, has_value, value = token.partition("=")
        if name in flags and not has_value:
            if name in into:
                return False
            into[name] = True
        elif name in values:
            if not has_value:
                index += 1
                if index >= len(tokens):
                    return False
                value = tokens[index]
            if name in into or value.startswith("-") or not value:
                return False
            into[name] = value
        else:
            return False
        index += 1
    return True


def _report_today(argv: list[str]) -> int | None:
    at = argv.index("report")
    if argv[at + 1 : at + 2] != ["today"]:
        return None
    global_options: dict[str, Any] = {}
    options: dict[str, Any] = {}
    if not _parse_options(argv[:at], _GLOBAL_OPTIONS, set(), global_options):
        return None
    if not _parse_options(argv[at + 2 :], _VALUE_OPTIONS, _FLAG_OPTIONS, options):
        return None
    if options.get("--json") and options.get("--csv"):
        return None
    fmt = "json" if options.get("--json") else "csv" if options.get("--csv") else "table"
    width = None
    if fmt == "table":
        width = plain_width()
        if width is None:
            return None
    from hackatime_lite.cli.fast_cache import BREAKDOWNS, NEEDS_PROJECT

    by = options.get("--by", "project").lower()
    if by not in BREAKDOWNS or by in NEEDS_PROJECT:
        return None
    data_dir = options.get("--data-dir") or global_options.get("--data-dir")
    config = options.get("--config") or global_options.get("--config")
    days = _fetch_today(data_dir, config, options.get("--server"), options.get("--key"), options.get("--user"))
    if days is None:
        return None
    report = _summary_report(days, by, BREAKDOWNS[by])
    if fmt == "json":
        import json

        sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")
        return 0
    if fmt == "csv":
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(("name", "total_seconds", "hours", "percent"))
        writer.writerows(
            [(r["name"], round(r["total_seconds"], 3), r["hours"], r["percent"]) for r in report["rows"]]
        )
        return 0
    assert width is not None
    lines = summary_table(report, width)
    if lines is None:
        return None
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


def default_data_dir() -> str | None:
    """paths.default_data_dir() on Linux, as platformdirs computes it (a test compares them): $XDG_DATA_HOME
    when absolute, else ~/.local/share, plus the app's name. None elsewhere, and when HOME is relative (the
    caller then asks paths; importing platformdirs and pathlib costs a third of this command's budget)."""
    if not sys.platform.startswith("linux") or hasattr(sys, "getandroidapilevel"):
        return None
    environ = os.environ
    if environ.get("ANDROID_DATA") == "/data" and environ.get("ANDROID_ROOT") == "/system":
        return None
    base = environ.get("XDG_DATA_HOME", "")
    if not os.path.isabs(base):
        if "HOME" in environ and not os.path.isabs(environ["HOME"]):
            return None
        base = os.path.expanduser("~/.local/share")
        if not os.path.isabs(base):
            return None
    return os.path.join(base, "hackatime-lite")


def _data_dir_root(chosen: str | None) -> str:
    """paths.resolve_data_dir(chosen), as a string."""
    if chosen:
        return os.path.realpath(os.path.expanduser(chosen))  # what Path.expanduser().resolve() does
    found = default_data_dir()
    if found is None:
        from hackatime_lite.paths import default_data_dir as platform_default

        found = str(platform_default())
    return found


def _server_file(data_dir: str | None, config: str | None) -> str | None:
    """The data dir's server.json as `settings_for` would find it; None when the settings do not load (the
    Typer command reports why)."""
    environ = os.environ
    # The TOML file and HACKATIME_* settings are read and validated by config.load_settings (msgspec, slower):
    # only when there are any. Without them the settings are the defaults, which are valid.
    configured = config or any(
        name.startswith("HACKATIME_") and name not in ("HACKATIME_DATA_DIR", "HACKATIME_API_KEY") for name in environ
    )
    root = _data_dir_root(data_dir or environ.get("HACKATIME_DATA_DIR") or None)
    if not configured and not os.path.isfile(os.path.join(root, "config.toml")):
        return os.path.join(root, "server.json")
    from hackatime_lite.config import ConfigError, load_settings

    try:
        settings = load_settings(config_file=config, overrides={"data_dir": data_dir} if data_dir else None)
    except ConfigError:
        return None
    return str(settings.paths.server_file)


def _fetch_today(
    data_dir: str | None, config: str | None, server: str | None, key: str | None, user: str | None
) -> list[dict[str, Any]] | None:
    """Today's summaries from the server, as ServerSource.summaries reads them; None for anything but a
    well-formed 200 (or no server: the data dir would be read in this process)."""
    from hackatime_lite.cli.fast_endpoints import (
        API_BASE,
        ClientError,
        find_api_key,
        server_root,
        server_url_from_file,
    )

    server_file = _server_file(data_dir, config)
    if server_file is None:
        return None
    try:
        found_key = find_api_key(key)
        root = server_root(server) if server else server_url_from_file(server_file)
    except ClientError:
        return None
    if root is None or found_key is None:
        return None
    who = user or "current"
    if not _is_unreserved(who):  # httpx would percent-encode it; leave that to httpx
        return None
    answer = _get_json(root, f"{API_BASE}/users/{who}/summaries?range=today", found_key.key)
    return None if answer is None else _summary_days(answer)


def _is_unreserved(text: str) -> bool:
    return all(c.isascii() and (c.isalnum() or c in "-._~") for c in text)


def _get_json(root: str, path_and_query: str, key: str) -> Any:
    """GET over plain HTTP with the headers cli.client.ApiClient sends; the decoded JSON body of a 200, else
    None. A small HTTP/1.1 exchange on a socket (`Connection: close`, a Content-Length body): http.client
    would add its email-parsing imports, a third of this command's budget. Anything unusual (https, a proxy
    for a remote host, chunked or compressed bodies, redirects) is None: the Typer command's httpx handles it."""
    import binascii
    import json
    import socket
    from urllib.parse import urlsplit

    from hackatime_lite.cli.fast_endpoints import USER_AGENT, is_loopback

    parts = urlsplit(root)
    host = parts.hostname or ""
    if parts.scheme != "http" or not host:
        return None
    if any(name.lower().endswith("_proxy") for name in os.environ) and not is_loopback(host):
        return None
    credentials = binascii.b2a_base64(key.encode(), newline=False).decode()
    request = (
        f"GET {parts.path}{path_and_query} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: {USER_AGENT}\r\n"
        f"Accept: application/json\r\nAuthorization: Basic {credentials}\r\nConnection: close\r\n\r\n"
    )
    chunks = []
    try:
        # The host as bytes: a str would be IDNA-encoded, which imports encodings.idna and stringprep.
        address = (host.encode("ascii"), parts.port or 80)
        # Ignored: typeshed wants a str host, but the address goes to getaddrinfo, which takes bytes too.
        with socket.create_connection(address, timeout=10) as conn:  # type: ignore[arg-type]
            conn.sendall(request.encode("ascii"))
            while chunk := conn.recv(65536):
                chunks.append(chunk)
    except (OSError, UnicodeError):
        return None
    head, sep, body = b"".join(chunks).partition(b"\r\n\r\n")
    if not sep:
        return None
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    if status_line.split(" ", 2)[1:2] != ["200"]:
        return None
    headers = {}
    for line in header_lines:
        name, colon, value = line.partition(":")
        if not colon:
            return None
        headers[name.strip().lower()] = value.strip()
    if "transfer-encoding" in headers or headers.get("content-encoding", "identity") != "identity":
        return None
    length = headers.get("content-length", "")
    if not length.isdigit() or int(length) != len(body):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _typed(value: Any, kind: str) -> bool:
    """A JSON value msgspec would convert to the field type named `kind` (str, int or float: ints count as
    floats, booleans as neither)."""
    if isinstance(value, bool):
        return False
    if kind == "float":
        return isinstance(value, int | float)
    return isinstance(value, int) if kind == "int" else kind == "str" and isinstance(value, str)


def _record(value: Any, fields: dict[str, str]) -> bool:
    return isinstance(value, dict) and all(_typed(value.get(name), kind) for name, kind in fields.items())


def _summary_days(answer: Any) -> list[dict[str, Any]] | None:
    """The days of a summaries answer as {date, timezone, total, breakdowns}, checked against the shape
    cli.client.summary_days converts to (models.DayReport); None for any other shape."""
    import re

    from hackatime_lite.cli.fast_cache import ENTRY_FIELDS, PLURALS, TOTAL_FIELDS

    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list):
        return None
    days = []
    for day in data:
        if not isinstance(day, dict):
            return None
        span = day.get("range")
        if not isinstance(span, dict):
            return None
        date, zone = span.get("date"), span.get("timezone")
        if not (isinstance(date, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", date) and isinstance(zone, str)):
            return None
        if not _is_date(date):
            return None
        if not all(isinstance(span.get(edge), str) and span[edge] for edge in ("start", "end")):
            return None
        if not _record(day.get("grand_total"), TOTAL_FIELDS):
            return None
        breakdowns = {}
        for plural in PLURALS:
            if plural in day:
                entries = day[plural]
                if not (isinstance(entries, list) and all(_record(e, ENTRY_FIELDS) for e in entries)):
                    return None
                breakdowns[plural] = [(e["name"], float(e["total_seconds"])) for e in entries]
        days.append(
            {"date": date, "timezone": zone, "total": float(day["grand_total"]["total_seconds"]),
             "breakdowns": breakdowns}
        )
    return days


def _is_date(text: str) -> bool:
    """YYYY-MM-DD naming a day of the calendar (what msgspec accepts for a date; datetime costs an import)."""
    year, month, day = int(text[:4]), int(text[5:7]), int(text[8:])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    return year >= 1 and 1 <= month <= 12 and 1 <= day <= days[month - 1]


def _summary_report(days: list[dict[str, Any]], by: str, plural: str) -> dict[str, Any]:
    """cli.reports.summary_report for today's query, from the checked days."""
    total = sum(d["total"] for d in days)
    if by == "day":
        rows = [(d["date"], d["total"]) for d in days]
    else:
        totals: dict[str, float] = {}
        for day in days:
            for name, seconds in day["breakdowns"].get(plural, []):
                totals[name] = totals.get(name, 0.0) + seconds
        rows = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return {
        "range": {
            "start": days[0]["date"] if days else None,
            "end": days[-1]["date"] if days else None,
            "timezone": days[0]["timezone"] if days else None,
            "query": {"range": "today"},
        },
        "by": by,
        "total_seconds": total,
        "total_text": human_text(total),
        "rows": [
            {
                "name": name,
                "total_seconds": seconds,
                "hours": round(seconds / 3600, 2),
                "percent": round(100 * seconds / total, 2) if total else 0.0,
                "text": human_text(seconds),
            }
            for name, seconds in rows
        ],
    }


def human_text(total_seconds: float) -> str:
    """text.formatting.human_text (a test compares the two): that module imports msgspec."""
    whole = max(0, int(total_seconds))
    hours, minutes, seconds = whole // 3600, whole % 3600 // 60, whole % 60

    def plural(count: int, unit: str) -> str:
        return f"{count} {unit}" if count == 1 else f"{count} {unit}s"

    parts = []
    if hours:
        parts.append(plural(hours, "hr"))
    if minutes:
        parts.append(plural(minutes, "min"))
    return " ".join(parts) if parts else plural(seconds, "sec")


def print_line(text: str) -> None:
    """cli.main's `console.print(text, highlight=False)` of one line. What rich prints for a line it would
    neither wrap nor read markup or emoji codes in is the line itself, and rich's import is a tenth of a
    server's start; anything else (a terminal, a long line) stays rich's."""
    import re

    width = plain_width()
    if width is not None and len(text) <= width and set(text) <= _PLAIN | {":"} and not re.search(r":[\w+-]+:", text):
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        return
    from rich.console import Console

    Console().print(text, highlight=False)


# -- the table, as rich draws it ----------------------------------------------------------------------------
BAR_WIDTH = 24
_EIGHTHS = " ▏▎▍▌▋▊▉"
# Characters rich draws one cell wide and reads literally (no markup, emoji codes or control characters);
# a table holding any other is left to rich.
_PLAIN = frozenset(chr(c) for c in range(0x20, 0x7F)) - set("[]\\:") | set("·–" + _EIGHTHS[1:] + "█")


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """cli.reports.bar."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def summary_table(report: dict[str, Any], width: int) -> list[str] | None:
    """The lines cli.reports.print_summary prints for a table, or None when rich would have to do more than
    lay the cells out at their natural widths (shrink or wrap columns, read markup, measure wide characters)."""
    rng = report["range"]
    span = rng["start"] if rng["start"] == rng["end"] else f"{rng['start']} – {rng['end']}"
    title = f"{span} ({rng['timezone']}) · total {report['total_text']}"
    largest = max((r["total_seconds"] for r in report["rows"]), default=0.0)
    rows = [
        [row["name"], row["text"], f"{row['percent']:.1f}", bar(row["total_seconds"] / largest if largest else 0.0)]
        for row in report["rows"]
    ] or [["no coding time", "", "", ""]]
    return table_lines(title, [report["by"], "time", "%", ""], ["left", "right", "right", "left"], rows, width)


def table_lines(
    title: str, headers: list[str], justify: list[str], rows: list[list[str]], width: int
) -> list[str] | None:
    """A rich.table.Table (default box HEAVY_HEAD, padding 1, left-justified title) rendered at console width
    `width` without styles; None outside the cases this reproduces exactly."""
    cells = [headers, *rows]
    if any(not _plain(text) for row in cells for text in row) or not _plain(title):
        return None
    widths = [max(len(row[i]) for row in cells) + 2 for i in range(len(headers))]
    if sum(widths) > width - (len(widths) + 1):  # rich would shrink columns
        return None
    table_width = sum(widths) + len(widths) + 1

    def line(left: str, fill: str, join: str, right: str) -> str:
        return left + join.join(fill * w for w in widths) + right

    def row_line(row: list[str], edge: str) -> str:
        texts = [
            " " + (text.rjust(w - 2) if how == "right" else text.ljust(w - 2)) + " "
            for text, w, how in zip(row, widths, justify, strict=True)
        ]
        return edge + edge.join(texts) + edge

    lines = wrap(title, table_width)
    lines.append(line("┏", "━", "┳", "┓"))
    lines.append(row_line(headers, "┃"))
    lines.append(line("┡", "━", "╇", "┩"))
    lines.extend(row_line(row, "│") for row in rows)
    lines.append(line("└", "─", "┴", "┘"))
    return lines


def _plain(text: str) -> bool:
    return all(c in _PLAIN for c in text) and text == text.strip() and "  " not in text


def wrap(text: str, width: int) -> list[str]:
    """rich's Text.wrap of one line of one-cell characters, justified left (each line padded to `width`):
    words (with the spaces after them) fill a line greedily, a word longer than a line is cut."""
    import re

    breaks: list[int] = []
    offset = 0
    for match in re.finditer(r"\s*\S+\s*", text):
        start, word = match.start(), match.group(0)
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:
            pieces = [word[i : i + width] for i in range(0, len(word), width)]
            for number, piece in enumerate(pieces):
                if start:
                    breaks.append(start)
                if number == len(pieces) - 1:
                    offset = len(piece)
                else:
                    start += len(piece)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    from itertools import pairwise

    lines = []
    for begin, end in pairwise([0, *breaks, len(text)]):
        piece = text[begin:end]
        if len(piece) > width:  # rstrip_end: drop trailing spaces past the width
            excess = len(piece) - width
            trailing = len(piece) - len(piece.rstrip())
            piece = piece[: len(piece) - min(trailing, excess)]
        lines.append(piece[:width].ljust(width))
    return lines
