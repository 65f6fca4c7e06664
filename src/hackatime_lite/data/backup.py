"""Online backups of the store into <data dir>/backups, newest N kept; backups before upgrades.

The store makes a verified copy while writes go on (StoreBackend.backup_to); this module names it, writes
it under a temporary name renamed when complete (a backup file is never partial), and prunes old ones.

Before migrations change a schema: SQLite backs itself up (store/sqlite/migrations.py, into the same folder
as hackatime-pre-upgrade-*.sqlite3, never pruned); PostgreSQL is the operator's database, so `migrate`
refuses to touch an existing schema until the operator says a backup exists (`--yes`) or asks us to run
`pg_dump` (`--pg-dump`): `plan_upgrade` below.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shlex
import shutil
import subprocess
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from hackatime_lite.config import Settings
from hackatime_lite.errors import InputError
from hackatime_lite.store import StoreBackend, open_store
from hackatime_lite.store.interface import MigrationStatus

BACKUP_PATTERN = re.compile(r"^hackatime-(\d{8}-\d{6})(?:-\d+)?\.sqlite3$")
PAGES_PER_STEP = 1024
STEP_PAUSE_SECONDS = 0.001
_PARTIAL_SUFFIX = ".partial"
# Named by store/sqlite/migrations.py (PRE_UPGRADE_PREFIX) and by run_pg_dump below.
UPGRADE_BACKUP_PATTERN = re.compile(r"^hackatime-pre-upgrade-\d{8}-\d{6}.*\.(sqlite3|dump)$")
PG_DUMP_TIMEOUT_SECONDS = 6 * 3600


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


def list_upgrade_backups(directory: Path) -> list[Path]:
    """Backups taken before migrations (SQLite files, pg_dump archives), oldest first."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and UPGRADE_BACKUP_PATTERN.match(p.name))


def split_url_password(url: str) -> tuple[str, str | None]:
    """(the URL without its password, the password or None): the password must never be printed or logged."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url, None
    user = urllib.parse.quote(urllib.parse.unquote(parts.username or ""), safe="")
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = f"{user}@{host}" + (f":{parts.port}" if parts.port is not None else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc)), urllib.parse.unquote(parts.password)


class UpgradeRefused(InputError):
    """Migrations would change an existing PostgreSQL schema without a backup; the message says what to run."""


def pg_dump_command(url: str, target: Path) -> list[str]:
    """The pg_dump invocation backing the database up to `target` (custom format; the password is not in it:
    pg_dump reads PGPASSWORD or ~/.pgpass)."""
    bare, _password = split_url_password(url)
    return ["pg_dump", "--format=custom", "--no-owner", f"--file={target}", f"--dbname={bare}"]


def upgrade_dump_path(directory: Path, *, now: float, version: int) -> Path:
    stamp = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y%m%d-%H%M%S")
    return directory / f"hackatime-pre-upgrade-{stamp}-v{version}.dump"


def _debian_pg_dump(name: str) -> str | None:
    # Debian's server package keeps its versioned binaries off PATH; the newest matches the newest server.
    if name != "pg_dump":
        return None
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"),
                   key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return str(found[-1]) if found else None


def run_pg_dump(url: str, target: Path, *, pg_dump: str = "pg_dump") -> Path:
    """Run pg_dump into `target` (written as .partial, renamed when pg_dump succeeded)."""
    binary = shutil.which(pg_dump) or _debian_pg_dump(pg_dump)
    if binary is None:
        raise UpgradeRefused(f"{pg_dump} was not found on PATH: install PostgreSQL's client tools, or back the "
                             "database up yourself and run `hackatime-lite migrate --yes`")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + _PARTIAL_SUFFIX)
    command = pg_dump_command(url, partial)
    command[0] = binary
    _bare, password = split_url_password(url)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=PG_DUMP_TIMEOUT_SECONDS,
                              check=False)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise UpgradeRefused(f"pg_dump failed ({done.returncode}): {done.stderr.strip()[:500]}")
    partial.replace(target)
    return target


def plan_upgrade(status: MigrationStatus, url: str, backups: Path, *, now: float, yes: bool,
                 pg_dump: bool) -> Path | None:
    """Before migrating a PostgreSQL store: run pg_dump (`pg_dump`), go on without (`yes`: the operator has
    a backup) or raise UpgradeRefused naming the command. Returns the dump's path when one was made.
    SQLite and new (empty) schemas need nothing here."""
    if status.backend == "sqlite" or not status.pending or not status.applied:
        return None
    target = upgrade_dump_path(backups, now=now, version=len(status.applied))
    if pg_dump:
        return run_pg_dump(url, target)
    if yes:
        return None
    command = " ".join(shlex.quote(part) for part in pg_dump_command(url, target))
    raise UpgradeRefused(
        f"{len(status.pending)} migration(s) would change the PostgreSQL schema ({', '.join(status.pending)}). "
        f"Back the database up first, e.g.\n  {command}\n(pg_dump reads the password from PGPASSWORD or "
        "~/.pgpass), then run `hackatime-lite migrate --yes`; or let `hackatime-lite migrate --pg-dump` run it.")


def refuse_unbacked_upgrade(settings: Settings) -> None:
    """For `serve`: a PostgreSQL schema with pending migrations is not migrated by a starting node (several
    may start at once, and nobody said a backup exists): UpgradeRefused says to run `migrate` first. SQLite
    backs itself up when it migrates on start; a new, empty PostgreSQL database is simply created."""
    if not settings.database_url:
        return
    store = open_store(settings, readonly=True)
    try:
        status = store.migration_status()
    finally:
        store.close()
    if status.pending and status.applied:
        raise UpgradeRefused(
            f"the PostgreSQL schema needs {len(status.pending)} migration(s) ({', '.join(status.pending)}): "
            "back the database up and run `hackatime-lite migrate --pg-dump` (or `--yes`) once, then start "
            "the nodes")
