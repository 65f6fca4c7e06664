"""`hackatime-lite store copy`: move a whole instance between SQLite and PostgreSQL, resumable and verified.

Everything goes through the store interface (export_rows / import_rows, ids kept), table by table in the
order of interface.COPY_TABLES. Heartbeats go in id order in batches, each batch one transaction in the
target, so an interrupted copy resumes after the target's highest id (`--resume`); the other tables are
upserted by key, so copying them again is harmless. At the end the copy is verified twice: the row count of
every table, and the coding time of every user computed by DuckDB from each end (a replica is built over
each store in a temporary directory), which must agree to the second.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hackatime_lite.cli.common import ConfigOption, DataDirOption, console, fail, settings_for
from hackatime_lite.config import ConfigError, Settings, load_settings
from hackatime_lite.paths import DataDir
from hackatime_lite.store import StoreBackend
from hackatime_lite.store.interface import COPY_TABLES

store_app = typer.Typer(help="Whole-store operations: copy an instance between SQLite and PostgreSQL.",
                        no_args_is_help=True)

# Rows per target transaction: big enough to amortise a commit, small enough that a resumed copy redoes little.
BATCH_ROWS = 5000
# Coding time that may differ between the two ends (floating-point sums in a different order).
STATS_TOLERANCE_SECONDS = 1.0
# Far enough in the future to include every heartbeat a client can send.
_ALL_TIME_END = 4102444800.0  # 2100-01-01


class CopyFailed(RuntimeError):
    """The copy cannot start or did not verify; the message is safe to show."""


@dataclass
class CopyReport:
    copied: dict[str, int] = field(default_factory=dict)
    source_counts: dict[str, int] = field(default_factory=dict)
    target_counts: dict[str, int] = field(default_factory=dict)
    resumed_after_heartbeat: int = 0
    users_compared: int = 0
    stats_mismatches: list[str] = field(default_factory=list)
    count_mismatches: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.stats_mismatches and not self.count_mismatches


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def sqlite_path(url: str) -> Path:
    """`sqlite:///abs/file.sqlite3` (or `sqlite:relative.sqlite3`), a .sqlite3/.db file, or a data dir."""
    if url.startswith("sqlite:"):
        rest = url.removeprefix("sqlite:")
        name = rest[2:] if rest.startswith("//") else rest
        if name.startswith("/"):
            name = "/" + name.lstrip("/")  # sqlite:///abs and SQLAlchemy's sqlite:////abs both mean /abs
        if not name:
            raise CopyFailed(f"no file in {url!r} (write sqlite:///path/to/file.sqlite3)")
        return Path(name).expanduser()
    if "://" in url:
        raise CopyFailed(f"unsupported store URL {url!r}: use sqlite:///FILE, a data dir path or postgresql://…")
    path = Path(url).expanduser()
    if path.suffix in (".sqlite3", ".sqlite", ".db") and not path.is_dir():
        return path
    return DataDir(path.resolve()).database


def open_url(url: str, *, readonly: bool, settings: Settings) -> StoreBackend:
    """The store a URL names. A PostgreSQL URL goes through store.open_store with database_url set."""
    if is_postgres_url(url):
        from hackatime_lite.store import open_store

        try:
            pg_settings = load_settings(overrides={"data_dir": str(settings.paths.root), "database_url": url},
                                        environ={})
        except ConfigError as exc:
            raise CopyFailed(f"this build cannot open PostgreSQL stores ({exc})") from exc
        return open_store(pg_settings, readonly=readonly)
    path = sqlite_path(url)
    if readonly and not path.is_file():
        raise CopyFailed(f"no SQLite store at {path}")
    from hackatime_lite.store import SQLiteStore  # loads sqlite-utils: only when a command opens a store

    return SQLiteStore(path, readonly=readonly)


Stats = dict[int, tuple[float, dict[str | None, float]]]


def _stats(store: StoreBackend, settings: Settings, directory: Path, name: str) -> Stats:
    """Per-user coding time (all time, with languages) computed by DuckDB over a fresh replica of `store`."""
    from hackatime_lite.analytics.all_users import window_totals_all_users
    from hackatime_lite.analytics.replica import Replica

    replica = Replica(store, settings, directory / f"{name}.duckdb")
    try:
        rows = window_totals_all_users(replica, 0.0, _ALL_TIME_END)
    finally:
        replica.close()
    return {user_id: (seconds, dict(languages)) for user_id, seconds, languages in rows}


def compare_stats(left: Stats, right: Stats) -> list[str]:
    problems = []
    for user_id in sorted(set(left) | set(right)):
        a, b = left.get(user_id), right.get(user_id)
        if a is None or b is None:
            problems.append(f"user {user_id}: coding time only at the {'target' if a is None else 'source'}")
            continue
        if abs(a[0] - b[0]) > STATS_TOLERANCE_SECONDS:
            problems.append(f"user {user_id}: {a[0]:.1f} s at the source, {b[0]:.1f} s at the target")
        for language in set(a[1]) | set(b[1]):
            if abs(a[1].get(language, 0.0) - b[1].get(language, 0.0)) > STATS_TOLERANCE_SECONDS:
                problems.append(f"user {user_id}, language {language}: differs")
    return problems


def _pages(source: StoreBackend, table: str, after: int) -> Iterator[list[dict[str, Any]]]:
    key = COPY_TABLES[table]
    if key != ("id",):
        yield source.export_rows(table)
        return
    while rows := source.export_rows(table, after=after, limit=BATCH_ROWS):
        yield rows
        after = int(rows[-1]["id"])


def copy_store(source: StoreBackend, target: StoreBackend, *, settings: Settings, resume: bool = False,
               verify: bool = True, progress: Callable[[str, int, int], None] | None = None) -> CopyReport:
    """Copy every table of `source` into `target` and verify; `progress(table, done, total)` after each batch."""
    status = source.migration_status()
    if status.pending:
        raise CopyFailed(f"the source store has pending migrations ({', '.join(status.pending)}): "
                         "run `hackatime-lite migrate` on it first")
    report = CopyReport(source_counts=source.table_counts())
    before = target.table_counts()
    # A new store already holds its kv (instance id, users version): that does not make it "not empty".
    filled = ", ".join(f"{t} ({n})" for t, n in before.items() if n and t != "kv")
    if filled and not resume:
        raise CopyFailed(f"the target store is not empty: {filled}. Copy into a new store, or pass --resume to "
                         "continue an interrupted copy into it")
    for table in COPY_TABLES:
        missing = set(source.table_columns(table)) - set(target.table_columns(table))
        if missing:
            raise CopyFailed(f"the target's {table} lacks column(s) {', '.join(sorted(missing))}: "
                             "upgrade the target (`hackatime-lite migrate`) first")
    for table in COPY_TABLES:
        total = report.source_counts[table]
        after = 0
        done = 0
        if table == "heartbeats" and resume:
            # Heartbeats are copied in id order, one batch per transaction: everything up to the target's
            # highest id is there.
            after = target.change_marks().heartbeat_id
            report.resumed_after_heartbeat = after
            done = before["heartbeats"]
        if progress is not None:
            progress(table, done, total)
        written = 0
        for rows in _pages(source, table, after):
            written += target.import_rows(table, rows)
            done += len(rows)
            if progress is not None:
                progress(table, min(done, total), max(total, done))
        report.copied[table] = written
    target.flush()
    report.target_counts = target.table_counts()
    report.count_mismatches = [
        f"{table}: {report.source_counts[table]} at the source, {report.target_counts[table]} at the target"
        for table in COPY_TABLES if report.source_counts[table] != report.target_counts[table]]
    if verify:
        with tempfile.TemporaryDirectory(prefix="hackatime-copy-") as scratch:
            left = _stats(source, settings, Path(scratch), "source")
            right = _stats(target, settings, Path(scratch), "target")
        report.users_compared = len(left)
        report.stats_mismatches = compare_stats(left, right)
    return report


def copy(
    from_url: Annotated[str, typer.Option("--from", help="Source: sqlite:///FILE, a data dir, or postgresql://…")],
    to_url: Annotated[str, typer.Option("--to", help="Target (new or empty, or with --resume a partial copy).")],
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted copy into a non-empty target.")]
    = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Copy a whole instance (users, keys, settings, heartbeats, outbox, mirrors, sessions, …) between stores.

    Stop the servers using the source first; the copy is verified by row counts and per-user coding time."""
    # The settings (duration defaults for the check, a config file) come from --data-dir/--config as for every
    # command; the stores themselves are named by --from and --to.
    settings = settings_for(data_dir, config)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        try:
            source = open_url(from_url, readonly=True, settings=settings)
            stack.callback(source.close)
            target = open_url(to_url, readonly=False, settings=settings)
            stack.callback(target.close)
        except CopyFailed as exc:
            raise fail(str(exc)) from exc
        console.print(f"copying {source.location} → {target.location}", highlight=False)
        with Progress(TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console) as bar:
            tasks: dict[str, Any] = {}

            def report_progress(table: str, done: int, total: int) -> None:
                if table not in tasks:
                    tasks[table] = bar.add_task(table, total=total)
                bar.update(tasks[table], completed=done, total=total)

            try:
                report = copy_store(source, target, settings=settings, resume=resume, progress=report_progress)
            except CopyFailed as exc:
                raise fail(str(exc)) from exc
    elapsed = time.perf_counter() - started
    rows = sum(report.copied.values())
    console.print(f"copied {rows:,} rows in {elapsed:.1f} s"
                  + (f" (resumed after heartbeat {report.resumed_after_heartbeat})" if resume else ""),
                  highlight=False)
    for problem in report.count_mismatches + report.stats_mismatches:
        console.print(f"  mismatch: {problem}", highlight=False)
    if not report.verified:
        raise fail("the copy did not verify (see the mismatches above)")
    console.print(f"verified: {len(COPY_TABLES)} tables' row counts equal, coding time of "
                  f"{report.users_compared} user(s) equal at both ends", highlight=False)


def register(app: typer.Typer) -> None:
    store_app.command("copy")(copy)
    app.add_typer(store_app, name="store")
