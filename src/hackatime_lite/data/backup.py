"""Online backups of the store into <data dir>/backups, newest N kept.

The store makes a verified copy while writes go on (StoreBackend.backup_to); this module names it, writes
it under a temporary name renamed when complete (a backup file is never partial), and prunes old ones.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from hackatime_lite.store import StoreBackend

BACKUP_PATTERN = re.compile(r"^hackatime-(\d{8}-\d{6})(?:-\d+)?\.sqlite3$")
PAGES_PER_STEP = 1024
STEP_PAUSE_SECONDS = 0.001
_PARTIAL_SUFFIX = ".partial"


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


def create_backup(store: StoreBackend, directory: Path, *, now: float, keep: int,
                  cancel: threading.Event | None = None, pages_per_step: int = PAGES_PER_STEP) -> BackupResult:
    """Copy the store to directory/hackatime-YYYYmmdd-HHMMSS.sqlite3 (UTC), verified; keep the newest `keep`.

    Raises BackupCancelled (nothing left behind) when `cancel` is set, BackupError when the copy fails.
    """
    directory.mkdir(parents=True, exist_ok=True)
    target = _target_path(directory, dt.datetime.fromtimestamp(now, dt.UTC))
    partial = target.with_name(target.name + _PARTIAL_SUFFIX)
    try:
        pages = store.backup_to(partial, cancel=cancel, pages_per_step=pages_per_step, pause=STEP_PAUSE_SECONDS)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    partial.replace(target)
    removed = prune_backups(directory, keep)
    return BackupResult(path=target, size_bytes=target.stat().st_size, pages=pages, removed=tuple(removed))
