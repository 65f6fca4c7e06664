"""Online SQLite backups into <data dir>/backups, newest N kept.

The copy is made with SQLite's online backup API from a separate read-only connection, so the writer
thread keeps committing throughout (in WAL mode a reader never blocks the writer).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

BACKUP_PATTERN = re.compile(r"^hackatime-(\d{8}-\d{6})(?:-\d+)?\.sqlite3$")
PAGES_PER_STEP = 1024
STEP_PAUSE_SECONDS = 0.001
_PARTIAL_SUFFIX = ".partial"


class BackupError(RuntimeError):
    """The backup could not be made or verified; the message is safe to show."""


class BackupCancelled(BackupError):
    """The server is stopping; the partial copy was removed."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    pages: int
    removed: tuple[Path, ...]


def list_backups(directory: Path) -> list[Path]:
    """Backup files in `directory`, oldest first (their names sort by creation time)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and BACKUP_PATTERN.match(p.name))


def prune_backups(directory: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest backups (and leftovers of interrupted ones); returns what was removed."""
    keep = max(1, keep)
    backups = list_backups(directory)
    doomed = backups[:-keep] if len(backups) > keep else []
    if directory.is_dir():
        doomed += [p for p in directory.iterdir() if p.name.endswith(_PARTIAL_SUFFIX)]
    for path in doomed:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return doomed


def _target_path(directory: Path, when: dt.datetime) -> Path:
    stamp = when.astimezone(dt.UTC).strftime("%Y%m%d-%H%M%S")
    candidate = directory / f"hackatime-{stamp}.sqlite3"
    counter = 1
    while candidate.exists():
        candidate = directory / f"hackatime-{stamp}-{counter}.sqlite3"
        counter += 1
    return candidate


def create_backup(database: Path, directory: Path, *, now: float, keep: int,
                  cancel: threading.Event | None = None, pages_per_step: int = PAGES_PER_STEP) -> BackupResult:
    """Copy `database` to directory/hackatime-YYYYmmdd-HHMMSS.sqlite3 (UTC), verify it, keep the newest `keep`.

    The copy is written under a temporary name and renamed when complete, so a backup file is never partial.
    """
    if not database.is_file():
        raise BackupError(f"database not found: {database}")
    directory.mkdir(parents=True, exist_ok=True)
    target = _target_path(directory, dt.datetime.fromtimestamp(now, dt.UTC))
    partial = target.with_name(target.name + _PARTIAL_SUFFIX)
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, isolation_level=None)
    copy = sqlite3.connect(partial, isolation_level=None)
    try:
        source.execute("PRAGMA busy_timeout = 10000")
        # Hold one read transaction across all steps: the copy is one consistent snapshot, and writes by the
        # server's writer do not restart it. Without this a busy server restarts a stepped backup endlessly
        # (measured: 89k restarts and 87 s for a 10 MB file under a steady trickle of inserts, vs 0.26 s).
        source.execute("BEGIN")
        source.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()

        def progress(status: int, remaining: int, total: int) -> None:
            if cancel is not None and cancel.is_set():
                raise BackupCancelled("backup cancelled: the server is stopping")

        source.backup(copy, pages=pages_per_step, progress=progress, sleep=STEP_PAUSE_SECONDS)
        source.execute("COMMIT")
        # The copy inherits WAL mode; a backup should be one self-contained file.
        copy.execute("PRAGMA journal_mode = DELETE")
        check = copy.execute("PRAGMA quick_check").fetchone()[0]
        pages = copy.execute("PRAGMA page_count").fetchone()[0]
        if check != "ok":
            raise BackupError(f"backup failed its integrity check: {check}")
    except BaseException:
        copy.close()
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    finally:
        source.close()
    copy.close()
    partial.replace(target)
    removed = prune_backups(directory, keep)
    return BackupResult(path=target, size_bytes=target.stat().st_size, pages=pages, removed=tuple(removed))
