"""A throwaway PostgreSQL cluster for benchmarks: initdb into a temp dir, unix socket in that dir, no TCP.

    with throwaway_cluster() as url:   # None when no PostgreSQL binaries are found
        ...

As root the cluster runs as the unprivileged `postgres` user (PostgreSQL refuses to run as root); the
machine's own PostgreSQL service is never touched. Settings are tuned for a small box (the "tuned
PostgreSQL" of bench/compare.py): 1 GB shared buffers, 64 MB work_mem, no JIT (it costs short queries
more than it saves), parallel workers left at their defaults. Durability settings stay at their defaults so
ingest numbers are honest.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

SETTINGS = {
    "shared_buffers": "1GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "effective_cache_size": "4GB",
    "jit": "off",
    "max_connections": "100",
    "random_page_cost": "1.1",
}


def find_bin_dir() -> Path | None:
    """The newest PostgreSQL server binaries on this machine (Debian layout or PATH), or None."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]),
                            reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _as_user(user: str | None, argv: list[str]) -> list[str]:
    return ["runuser", "-u", user, "--", *argv] if user else argv


@contextlib.contextmanager
def throwaway_cluster(database: str = "bench") -> Iterator[str | None]:
    """Start a cluster, create `database`, yield its URL (unix socket); stop and delete it afterwards."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        yield None
        return
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres").pw_name
        except KeyError:
            user = "nobody"
    tmp = Path(tempfile.mkdtemp(prefix="hl-bench-pg-"))
    data, sock = tmp / "data", tmp / "sock"
    sock.mkdir()
    if user:
        entry = pwd.getpwnam(user)
        for path in (tmp, sock):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    started = False
    try:
        subprocess.run(_as_user(user, [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                       "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
                       check=True, capture_output=True)
        options = " ".join(f"-c {k}={v}" for k, v in SETTINGS.items())
        subprocess.run(_as_user(user, [str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-t", "60", "-l",
                                       str(tmp / "log"), "-o", f"-k {sock} -c listen_addresses='' {options}",
                                       "start"]), check=True, capture_output=True)
        started = True
        subprocess.run(_as_user(user, [str(bin_dir / "createdb"), "-h", str(sock), "-U", "postgres", database]),
                       check=True, capture_output=True)
        yield f"postgresql://postgres@/{database}?host={sock}"
    finally:
        if started:
            subprocess.run(_as_user(user, [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                           capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def fresh_database(url: str, name: str) -> str:
    """Drop and create database `name` on the server of `url`; its URL (same host, socket and user)."""
    from urllib.parse import quote

    import psycopg
    from psycopg import conninfo, sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    params = conninfo.conninfo_to_dict(url)
    query = "&".join(f"{k}={quote(str(v), safe='/')}" for k, v in params.items() if k not in ("user", "dbname"))
    return f"postgresql://{quote(str(params.get('user', 'postgres')))}@/{quote(name)}" + (f"?{query}" if query else "")
