"""Looking after the PostgreSQL database: the health probe, backups with pg_dump, plugin diagnostics."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hackatime_lite.store.interface import BackupCancelled, BackupError
from hackatime_lite.store.postgres.base import Connection, execute, one

if TYPE_CHECKING:  # annotations only
    from hackatime_lite.store.postgres.db import PostgresDatabase

_PAGE = 8192


def health(db: PostgresDatabase) -> dict[str, object]:
    started = time.perf_counter()
    try:
        with db.pool.connection(timeout=5) as conn:
            row = one(conn, "SELECT current_setting('server_version')")
            one(conn, "SELECT 1 FROM heartbeats LIMIT 1")
    except Exception as exc:
        return {"status": "error", "backend": "postgresql", "error": type(exc).__name__}
    report: dict[str, object] = {
        "status": "ok",
        "backend": "postgresql",
        "server_version": row[0] if row else None,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    if db.write_fault is not None:
        since = db.write_fault_since
        report.update(status="error", error=f"writes are failing: {db.write_fault}", failed_writes=db.failed_writes,
                      failing_for_s=None if since is None else round(time.time() - since, 1))
    return report


def pg_dump_binary() -> str | None:
    """pg_dump on PATH, else the newest of Debian's versioned ones."""
    found = shutil.which("pg_dump")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"),
                        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return candidates[-1] if candidates else None


def backup(url: str, target: Path, *, cancel: threading.Event | None) -> int:
    """A pg_dump custom-format archive of the database at `target`, checked by listing it with pg_restore;
    returns its size in 8 KiB pages. pg_dump reads one consistent snapshot while writes go on."""
    dump = pg_dump_binary()
    if dump is None:
        raise BackupError("pg_dump is not installed (PostgreSQL's client tools); back the database up with "
                          "your usual PostgreSQL tools")
    proc = subprocess.Popen([dump, "--format=custom", "--no-owner", f"--file={target}", f"--dbname={url}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while True:
        try:
            _, err = proc.communicate(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            if cancel is not None and cancel.is_set():
                proc.kill()
                proc.wait()
                raise BackupCancelled("backup cancelled: the server is stopping") from None
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip().splitlines()
        raise BackupError(f"pg_dump failed: {message[-1] if message else proc.returncode}")
    restore = os.path.join(os.path.dirname(dump), "pg_restore")
    check = subprocess.run([restore if os.path.exists(restore) else "pg_restore", "--list", str(target)],
                           capture_output=True, timeout=300)
    if check.returncode != 0 or b"TABLE DATA" not in check.stdout:
        raise BackupError("the backup archive failed its check (pg_restore --list)")
    return max(1, target.stat().st_size // _PAGE)


def record_plugin_error(conn: Connection, received_at: float, remote_addr: str | None, user_agent: str | None,
                        payload: str) -> None:
    execute(conn, "INSERT INTO plugin_errors (received_at, remote_addr, user_agent, payload) VALUES (%s, %s, %s, %s)",
            (received_at, remote_addr, user_agent, payload))
