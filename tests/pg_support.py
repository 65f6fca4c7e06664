"""A throwaway PostgreSQL for the tests: Debian's binaries, a cluster in a temp dir on a unix socket in that
dir, started once per test process (xdist worker) and stopped at its end; a fresh database per test, copied
from a migrated template (CREATE DATABASE … TEMPLATE is fast).

HACKATIME_TEST_DATABASE_URL names an existing server instead (its user must be allowed to create
databases). As root, initdb and postgres refuse to run: they run as the `postgres` user (Debian's package
creates it), else `nobody`, through runuser. Without binaries the tests skip with the reason.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

ENV_URL = "HACKATIME_TEST_DATABASE_URL"
_TEMPLATE = "hackatime_lite_template"


class PostgresMissing(RuntimeError):
    """No server can be had: the message is the skip reason."""


def find_bindir() -> Path | None:
    """The newest of Debian's /usr/lib/postgresql/*/bin with initdb, else initdb's directory on PATH."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if found:
        return found[-1]
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _runner_user() -> str | None:
    """Whom to run the server as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise PostgresMissing("running as root and there is neither a `postgres` nor a `nobody` user to run PostgreSQL")


class Cluster:
    """One throwaway cluster (initdb + pg_ctl start); `stop()` stops it and removes its files."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.user = _runner_user()
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.root = Path(tempfile.mkdtemp(prefix="hl-pg-", dir=base))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if self.user is not None:
            info = pwd.getpwnam(self.user)
            os.chown(self.root, info.pw_uid, info.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C",
                  "--no-sync")
        options = (f"-c listen_addresses='' -c unix_socket_directories='{self.root}' -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c jit=off "
                   "-c shared_buffers=32MB")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        self.url = f"postgresql://postgres@/postgres?host={quote(str(self.root), safe='')}"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.root)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr.strip()}\n{log}")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` (the query, e.g. a socket host, kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


class PostgresServer:
    """A server the tests may create databases on: a throwaway cluster, or HACKATIME_TEST_DATABASE_URL."""

    def __init__(self) -> None:
        self._cluster: Cluster | None = None
        self._lock = threading.Lock()
        existing = os.environ.get(ENV_URL)
        if existing:
            self.admin_url = existing
        else:
            bindir = find_bindir()
            if bindir is None:
                raise PostgresMissing("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; "
                                      f"apt-get install postgresql, or set {ENV_URL})")
            self._cluster = Cluster(bindir)
            self.admin_url = self._cluster.url
        # Unique per process: several test processes may share one server (HACKATIME_TEST_DATABASE_URL).
        self.prefix = f"hl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.template = f"{self.prefix}_{_TEMPLATE}"
        self._count = 0
        self._template_ready = False

    def _admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]

    def _ensure_template(self) -> None:
        if self._template_ready:
            return
        from hackatime_lite.store.postgres.store import PostgresStore

        self._admin(f'CREATE DATABASE "{self.template}"')
        PostgresStore(with_database(self.admin_url, self.template), pool_size=1).close()
        self._template_ready = True

    def create_database(self) -> str:
        """A fresh, migrated database; returns its URL."""
        with self._lock:
            self._ensure_template()
            self._count += 1
            name = f"{self.prefix}_{self._count}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return with_database(self.admin_url, name)

    def empty_database(self) -> str:
        """A fresh database with no schema (to test migrations)."""
        with self._lock:
            self._count += 1
            name = f"{self.prefix}_{self._count}"
        self._admin(f'CREATE DATABASE "{name}"')
        return with_database(self.admin_url, name)

    def drop_database(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self._cluster is not None:
            self._cluster.stop()
            self._cluster = None
        elif self._template_ready:
            # Best effort on a server we do not own.
            with contextlib.suppress(Exception):
                self._admin(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')


_server: PostgresServer | None = None
_failure: str | None = None
_server_lock = threading.Lock()


def server() -> PostgresServer:
    """This process's server, started on first use and stopped at exit; PostgresMissing when none."""
    global _server, _failure
    with _server_lock:
        if _failure is not None:
            raise PostgresMissing(_failure)
        if _server is None:
            try:
                _server = PostgresServer()
            except PostgresMissing as exc:
                _failure = str(exc)
                raise
            atexit.register(stop_server)
        return _server


def stop_server() -> None:
    global _server
    with _server_lock:
        if _server is not None:
            _server.stop()
            _server = None


# -- the app fixtures on either backend (conftest's --store / HACKATIME_TEST_STORE) ------------------------
STORE_ENV = "HACKATIME_TEST_STORE"


def wanted_backend() -> str:
    """"postgres" when the suite runs its app fixtures on PostgreSQL, else "sqlite"."""
    return "postgres" if os.environ.get(STORE_ENV, "sqlite") == "postgres" else "sqlite"


def new_database_url() -> str:
    """"" on SQLite; a fresh database's URL on PostgreSQL (for module-scoped worlds built outside fixtures;
    dropped when the server stops)."""
    return server().create_database() if wanted_backend() == "postgres" else ""


class Row(tuple):  # type: ignore[type-arg]  # a plain tuple with names
    """A result row readable by position and by column name, like sqlite3.Row (dict(row) works too)."""

    names: tuple[str, ...] = ()

    def __getitem__(self, key):  # type: ignore[no-untyped-def, override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


def query(settings_or_url: object, sql: str, params: tuple[object, ...] = ()) -> list[Row]:
    """Run one read-only statement (SQLite's `?` placeholders) on the store the settings name, SQLite file
    or PostgreSQL database: for tests that look at what was stored directly."""
    import sqlite3

    from hackatime_lite.config import Settings

    url = settings_or_url.database_url if isinstance(settings_or_url, Settings) else str(settings_or_url)
    if url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            cursor = conn.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]
            names = tuple(d.name for d in cursor.description or ())
            found = cursor.fetchall()
    else:
        assert isinstance(settings_or_url, Settings)
        conn3 = sqlite3.connect(settings_or_url.paths.database)
        try:
            cursor3 = conn3.execute(sql, params)
            names = tuple(d[0] for d in cursor3.description or ())
            found = cursor3.fetchall()
        finally:
            conn3.close()
    out = []
    for values in found:
        row = Row(values)
        row.names = names
        out.append(row)
    return out
