"""Shared fixtures: a temp data dir, a real SQLite store, the app with a test client, users and keys."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

# This environment sets PYTHONDONTWRITEBYTECODE=1: without a bytecode cache every pytest process (the xdist
# controller and each worker) compiles all of hackatime_lite and re-rewrites every test module, ~4 s of CPU
# per process before the first test. Test runs cache bytecode anyway (gitignored __pycache__ directories;
# HACKATIME_TEST_BYTECODE=0 keeps the environment's choice). Subprocesses keep the environment's setting.
if os.environ.get("HACKATIME_TEST_BYTECODE", "1") != "0":
    sys.dont_write_bytecode = False

import pytest

from hackatime_lite.config import Settings

if TYPE_CHECKING:
    from litestar.testing import TestClient

    from hackatime_lite.models import User
    from hackatime_lite.store import Store

# The store, the web app and its test client, httpx, Hypothesis and the CLI runner are imported where used:
# the xdist controller loads this file too and never needs them (its start delays every worker's).

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "wakatime-cli"


RAM_DISK = Path("/dev/shm")


def _use_ram_disk_for_test_data(config: pytest.Config) -> None:
    """Every test's throwaway data dir (SQLite, DuckDB, WAL fsyncs) on tmpfs when the machine has one: the suite
    then waits on the CPU, not the disk (measured here: 94 s → 62 s). A directory of its own per session, so
    two runs never clear each other's; removed at the end. --basetemp or HACKATIME_TEST_ON_DISK=1 keep pytest's."""
    if (config.option.basetemp or hasattr(config, "workerinput") or os.environ.get("HACKATIME_TEST_ON_DISK")
            or not RAM_DISK.is_dir() or not os.access(RAM_DISK, os.W_OK)):
        return
    config.option.basetemp = tempfile.mkdtemp(prefix="hackatime-lite-tests-", dir=RAM_DISK)
    config.add_cleanup(lambda: shutil.rmtree(config.option.basetemp, ignore_errors=True))


def _reuse_cli_commands() -> None:
    """Typer's CliRunner builds the whole click command tree from the Typer app on every invoke (~0.2–0.3 s of
    CPU for this CLI, the biggest cost of an in-process CLI test); click commands are reusable, so build each
    app's once per process. Tests then pay what a command costs, not what parsing decorators costs."""
    import typer.testing

    built: dict[int, Any] = {}
    build = typer.testing._get_command

    def cached(app: Any) -> Any:
        if id(app) not in built:
            built[id(app)] = (app, build(app))  # the app is kept so its id is never reused
        return built[id(app)][1]

    typer.testing._get_command = cached  # type: ignore[attr-defined]  # a private name, patched in tests only


def _share_default_tls_contexts() -> None:
    """Every httpx.Client builds an SSL context with the system's CA bundle loaded (~40 ms of CPU each): the CLI's
    API client, every mirror and webhook delivery run. The tests only ever speak plain HTTP to 127.0.0.1, so a
    test process builds the default context once per (verify, trust_env, CA variables) and shares it;
    HACKATIME_TEST_TLS_CACHE=0 keeps one per client."""
    if os.environ.get("HACKATIME_TEST_TLS_CACHE", "1") == "0":
        return
    import httpx._transports.default as transports

    build = transports.create_ssl_context
    built: dict[tuple[Any, ...], Any] = {}

    def shared(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is not True or cert is not None:
            return build(verify=verify, cert=cert, trust_env=trust_env)
        key = (trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        if key not in built:
            built[key] = build(verify=verify, cert=cert, trust_env=trust_env)
        return built[key]

    transports.create_ssl_context = shared  # type: ignore[assignment]  # the module's own name, patched in tests only


def pytest_collection_finish(session: pytest.Session) -> None:
    """The cyclic garbage collector, tuned for a test process (HACKATIME_TEST_GC=0 keeps Python's defaults).

    After collection a test process holds a few hundred thousand long-lived objects (every library imported,
    the collected items), and every full collection walks them all again; Python runs one whenever enough new
    objects have survived, and pytest runs two more at the end (unraisable exceptions). Freezing what exists
    after collection takes it out of the collector's sight (it lives until the process ends anyway). Measured
    on the default suite (-n 2), the collector's CPU per worker went from ~6 s (13 full passes at ~0.35 s) to
    ~2.5 s. Garbage cycles made by the tests are still collected; larger thresholds make young passes rarer."""
    if os.environ.get("HACKATIME_TEST_GC", "1") == "0":
        return
    import atexit
    import gc

    # No gc.collect() first: measured, it costs ~0.2 s per process and finds ~250 objects of garbage here.
    gc.freeze()
    gc.set_threshold(2_000, 50, 50)  # Python's default: 700, 10, 10 (measured: fewer, equally cheap passes)
    # Back in sight at exit, so the interpreter's final collection frees them as before (DuckDB's bindings
    # report every object still alive then as a leak).
    atexit.register(gc.unfreeze)


def _exit_worker_without_teardown(config: pytest.Config) -> None:
    """An xdist worker whose session is over (its reports sent, the controller told it to exit) leaves with
    os._exit instead of tearing the interpreter down: freeing every module and object of a test process (and
    DuckDB's and Litestar's with them) cost each worker ~1 s of CPU after its last test, which the controller
    waits for. Registered here, it runs after the exit handlers registered later (a PostgreSQL test cluster's
    stop, tests/pg_support.py) and before those registered earlier (pytest's own, logging's: nothing of the
    session is left to write by then; output is flushed first). HACKATIME_TEST_FAST_EXIT=0 exits normally."""
    if not hasattr(config, "workerinput") or os.environ.get("HACKATIME_TEST_FAST_EXIT", "1") == "0":
        return
    import atexit

    def leave() -> None:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                stream.flush()  # type: ignore[union-attr]  # __stdout__ may be None
        os._exit(0)

    atexit.register(leave)


def _xdist_groups(item: pytest.Item) -> list[str]:
    """The item's xdist groups: its `xdist_group` marks, else its module's name when it uses a module-scoped
    fixture (a world seeded once per module: built once, on one worker, only if the module's tests stay
    together; spread over workers, each worker builds it again for every run of consecutive tests it gets)."""
    marked = {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
    if marked:
        return sorted(marked)
    info = getattr(item, "_fixtureinfo", None)
    for fixturedefs in (info.name2fixturedefs.values() if info is not None else ()):
        if fixturedefs and fixturedefs[-1].scope in ("module", "class", "package"):
            return [item.nodeid.split("::", 1)[0]]
    return []


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--dist loadgroup, on pytest 9: xdist 3.8 tags a grouped item by setting `item._nodeid` to `nodeid@group`
    (the controller schedules by that suffix), but pytest 9 keeps the id in `item._id`, so the tag is lost and
    every grouped test went to whichever worker was free. The tag is set here where pytest reads it (on the
    workers, after xdist's hook; an id that already carries it is left alone)."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        groups = _xdist_groups(item)
        suffix = "@" + "_".join(groups)
        if not groups or item.nodeid.endswith(suffix):
            continue
        if hasattr(item, "_id"):  # pytest >= 9: a structured NodeId; parse keeps the exact string
            item._id = type(item._id).parse(item.nodeid + suffix)
        else:
            item._nodeid = item.nodeid + suffix


def pytest_configure(config: pytest.Config) -> None:
    """Property tests: a modest number of examples in the default suite, many more in the slow run (test.sh sets
    HYPOTHESIS_PROFILE=thorough; --hypothesis-profile still wins). No deadline and no too_slow health check in
    either: a loaded machine makes timings meaningless. A test's explicit @settings wins for what it sets."""
    if config.getoption("--store", None):  # helpers outside fixtures (module-scoped worlds) read the variable
        os.environ["HACKATIME_TEST_STORE"] = config.getoption("--store")
    _use_ram_disk_for_test_data(config)
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return  # the xdist controller runs no tests (nor imports Typer or Hypothesis for them)
    _exit_worker_without_teardown(config)
    _reuse_cli_commands()
    _share_default_tls_contexts()
    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings

    defaults: dict[str, Any] = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
    hypothesis_settings.register_profile("dev", max_examples=5, **defaults)
    hypothesis_settings.register_profile("thorough", max_examples=60, **defaults)
    if not config.getoption("--hypothesis-profile", None):
        hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def load_fixture(name: str) -> object:
    return json.loads((FIXTURES / name).read_text())


def basic_auth(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(key.encode()).decode()}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--store", choices=("sqlite", "postgres"), default=None,
                     help="the backend of the `settings`/`store`/`client` fixtures (default: $HACKATIME_TEST_STORE "
                          "or sqlite); postgres uses a throwaway cluster (tests/pg_support.py)")


def store_backend_name(config: pytest.Config) -> str:
    return config.getoption("--store", None) or os.environ.get("HACKATIME_TEST_STORE") or "sqlite"


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    # With --store=postgres (or HACKATIME_TEST_STORE=postgres) the app fixtures run on a fresh PostgreSQL
    # database: test.sh runs the API suite both ways.
    if store_backend_name(request.config) == "postgres":
        return Settings(data_dir=str(tmp_path / "data"), database_url=request.getfixturevalue("pg_url"))
    return Settings(data_dir=str(tmp_path / "data"))


_CHEAP_HASHER: Any = None


@pytest.fixture(autouse=True)
def cheap_password_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with the library's default costs takes ~0.3 s of CPU per hash: in-process tests hash with the same
    code and tiny costs (the hashes are still argon2). Tests marked `argon2_costs` keep the real costs."""
    global _CHEAP_HASHER
    if request.node.get_closest_marker("argon2_costs"):
        return
    from argon2 import PasswordHasher

    from hackatime_lite.store import rules

    if _CHEAP_HASHER is None:
        _CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(rules, "_password_hasher", _CHEAP_HASHER)


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database with every migration applied, made once per test process."""
    from hackatime_lite.store import Store

    path = tmp_path_factory.mktemp("migrated") / "hackatime.sqlite3"
    Store(path).close()  # closing checkpoints the WAL into the file: the one file is the whole database
    return path


def copy_migrated_database(template: Path, target: Path) -> None:
    """A new data dir's database as a copy of the migrated template: running the migrations costs ~15 ms of CPU
    per store, a copy ~1 ms (Store still checks and applies any missing migration). The copy gets an identity of
    its own, as a fresh database would (mirroring tells instances apart by it)."""
    import sqlite3
    import uuid

    shutil.copyfile(template, target)
    with contextlib.closing(sqlite3.connect(target)) as conn, conn:
        conn.execute("UPDATE kv SET value = ? WHERE key = 'instance_id'", (str(uuid.uuid4()),))


@pytest.fixture
def store(settings: Settings, migrated_database: Path) -> Iterator[Store]:
    from hackatime_lite.store import Store

    settings.paths.ensure()
    if settings.database_url:
        from hackatime_lite.store.postgres.store import PostgresStore

        with PostgresStore(settings.database_url, pool_size=4) as on_postgres:
            yield on_postgres  # type: ignore[misc]  # the same StoreBackend; fixtures annotate the SQLite class
        return
    if not settings.paths.database.exists():
        copy_migrated_database(migrated_database, settings.paths.database)
    with Store(settings.paths.database) as opened:
        yield opened


@pytest.fixture
def client(request: pytest.FixtureRequest, settings: Settings, store: Store) -> Iterator[TestClient]:
    # create_app(settings, store=store, start_scheduler=False), on an app reused within this worker
    # (tests/app_pool.py: building the routes is most of an app's cost; the context is this test's own).
    # The analytics replica opens on first use, not at app start: a DuckDB file costs ~0.1 s of CPU to build,
    # and most tests never read coding time. Modules marked `eager_replica` get it opened at start, as a server does.
    from litestar.testing import TestClient

    from tests.app_pool import LazyReplica, pooled_app

    lazy = None if request.node.get_closest_marker("eager_replica") else LazyReplica(store, settings)
    options: dict[str, Any] = {"replica": lazy} if lazy is not None else {}
    try:
        with pooled_app(settings, store=store, start_scheduler=False, **options) as app, \
                TestClient(app, raise_server_exceptions=False) as test_client:
            yield test_client
    finally:
        if lazy is not None:
            lazy.close()


class Account:
    """A user with a write key and a read-only key."""

    def __init__(self, user: User, key: str, read_only_key: str) -> None:
        self.user, self.key, self.read_only_key = user, key, read_only_key

    @property
    def headers(self) -> dict[str, str]:
        return basic_auth(self.key)


def make_account(store: Store, name: str, *, timezone: str = "UTC", admin: bool = False) -> Account:
    user = store.create_user(name, timezone=timezone, is_admin=admin)
    _, key = store.create_api_key(user.id)
    _, read_only = store.create_api_key(user.id, name="ro", read_only=True)
    return Account(user, key, read_only)


def zone_far_from_midnight(moment: float) -> str:
    """A zone whose local time at `moment` is at least three hours from midnight (UTC, else Tokyo: one of the two
    always is), for tests that post heartbeats minutes before `moment` and read "today": in it, neither the posts
    nor the reads can fall on another day than the test expects, whenever the suite runs."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    for zone in ("UTC", "Asia/Tokyo"):
        if 3 <= dt.datetime.fromtimestamp(moment, ZoneInfo(zone)).hour < 21:
            return zone
    raise AssertionError("unreachable: UTC and Tokyo are nine hours apart")


@pytest.fixture
def alice(store: Store) -> Account:
    return make_account(store, "alice")  # first user: admin


@pytest.fixture
def bob(store: Store, alice: Account) -> Account:
    return make_account(store, "bob", timezone="Europe/Berlin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A real `hackatime-lite serve` on 127.0.0.1 in a subprocess."""

    def __init__(self, data_dir: Path, *extra_args: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"server-{self.port}.log"
        self.extra_args = extra_args
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, check: bool = True) -> CliResult:
        """The CLI in-process on this server's data dir (the server itself stays another process)."""
        return run_cli("--data-dir", str(self.data_dir), *args, check=check)

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log file)"
        return "\n".join(text.splitlines()[-lines:])

    def start(self, timeout: float = 60.0) -> ServerProcess:
        """Start the process and poll /api/health (short, growing intervals) until it answers 200.

        The deadline is generous so that a loaded machine is slow, not failing; a healthy start on a quiet
        machine returns within about a second. Fails with the process's exit status and its log tail."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "hackatime_lite",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                    *self.extra_args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        import httpx

        began = time.monotonic()
        deadline = began + timeout
        interval = 0.02
        last_problem = "no answer yet"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server on port {self.port} exited with status {self.proc.returncode} before it was healthy "
                    f"({time.monotonic() - began:.1f} s); log tail ({self.log_path}):\n{self.log_tail()}"
                )
            try:
                response = httpx.get(self.url + "/api/health", timeout=2)
                if response.status_code == 200:
                    return self
                last_problem = f"/api/health answered {response.status_code}"
            except httpx.HTTPError as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
            if time.monotonic() >= deadline:
                break
            # Waiting on the process (not sleeping) notices an early exit at once.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(min(interval, max(0.0, deadline - time.monotonic())))
            interval = min(interval * 1.5, 0.5)
        self.stop()
        raise RuntimeError(
            f"server on port {self.port} was not healthy after {timeout:.0f} s (last: {last_problem}); "
            f"log tail ({self.log_path}):\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)


@dataclass
class CliResult:
    """What a CLI run gives back: the fields of subprocess.CompletedProcess that the tests read."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class _StderrLogHandler(logging.Handler):
    """Log records to the sys.stderr of the moment, like Python's last-resort handler in a real CLI process
    (which has no logging configured): the runner's captured stderr during an in-process run."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(self.format(record) + "\n")


def run_cli(
    *args: str, check: bool = True, env: dict[str, str] | None = None, input_text: str | None = None
) -> CliResult:
    """`hackatime-lite ARGS` in-process through Typer's CliRunner (no interpreter start per call).

    HACKATIME_* and HOME go in through `env` (set for the call only). Like a real process: exit status from
    SystemExit, an unexpected exception is status 1 with its traceback on stderr, warnings logged go to stderr.
    """
    from typer.testing import CliRunner

    from hackatime_lite.cli.main import app as cli_app

    # Whatever logging setup a command does (handlers on the runner's stderr, closed after the run) is undone
    # afterwards, as the end of a separate process would: the next tests log to pytest, not to a closed stream.
    loggers = [logging.getLogger(), logging.getLogger("litestar")]
    saved = [(logger, logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    handler = _StderrLogHandler(logging.WARNING)
    loggers[0].addHandler(handler)
    try:
        result = CliRunner().invoke(cli_app, list(args), env=env, input=input_text)
    finally:
        for logger, handlers, level, propagate in saved:
            for added in [h for h in logger.handlers if h not in handlers and h is not handler]:
                added.close()
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit) and result.exc_info:
        stderr += "".join(traceback.format_exception(*result.exc_info))
    done = CliResult(tuple(args), result.exit_code, result.stdout, stderr)
    if check and done.returncode != 0:
        raise AssertionError(f"CLI {args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def run_cli_process(
    *args: str, check: bool = True, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`python -m hackatime_lite ARGS` as a real process: only for tests where the process is the point
    (the module entry point, a file lock held by another process). Mark those tests slow."""
    result = subprocess.run(
        [sys.executable, "-m", "hackatime_lite", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"CLI {args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "server-data").start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def other_instance(tmp_path: Path, migrated_database: Path) -> Iterator[tuple[Store, TestClient, Account]]:
    """A second, empty instance (own data dir, store and app): the target of export → import round trips."""
    from litestar.testing import TestClient

    from hackatime_lite.store import Store
    from tests.app_pool import LazyReplica, pooled_app

    other = Settings(data_dir=str(tmp_path / "other"))
    other.paths.ensure()
    copy_migrated_database(migrated_database, other.paths.database)
    with Store(other.paths.database) as store:
        carol = make_account(store, "carol")
        replica = LazyReplica(store, other)  # opened on first use, as in `client`
        try:
            with pooled_app(other, store=store, start_scheduler=False, replica=replica) as app, \
                    TestClient(app, raise_server_exceptions=False) as client:
                yield store, client, carol
        finally:
            replica.close()


# -- PostgreSQL (tests/pg_support.py): a throwaway cluster per test process, a fresh database per test --------
@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    from tests.pg_support import PostgresMissing, server, stop_server

    try:
        found = server()
    except PostgresMissing as exc:
        pytest.skip(str(exc))
    yield found
    stop_server()


def world_settings(root: Path, request: pytest.FixtureRequest, **options: Any) -> Settings:
    """Settings for a module-scoped "world" (seeded once per module) on the backend the suite runs on: plain
    SQLite settings in `root/data`, or with --store=postgres a fresh PostgreSQL database (dropped when the
    requesting fixture ends), also written to the data dir's config.toml so the CLI run with `--data-dir` reads
    the same store. Open the world's store with `store.open_store(settings)`."""
    data_dir = root / "data"
    if store_backend_name(request.config) != "postgres":
        return Settings(data_dir=str(data_dir), **options)
    from tests.pg_support import PostgresMissing, server

    try:
        pg = server()  # session-wide, per process: module-scoped fixtures cannot use the function-scoped pg_url
    except PostgresMissing as exc:
        pytest.skip(str(exc))
    url = pg.create_database()

    def drop() -> None:
        with contextlib.suppress(Exception):  # the server may already be gone at the end of the process
            pg.drop_database(url)

    request.addfinalizer(drop)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "config.toml").write_text(f"database_url = {json.dumps(url)}\n", encoding="utf-8")
    return Settings(data_dir=str(data_dir), database_url=url, **options)


def assert_world_backend(store: object, request: pytest.FixtureRequest) -> None:
    """The world's store is the backend the suite asked for (a world left on SQLite would pass silently)."""
    wanted: type
    if store_backend_name(request.config) == "postgres":
        from hackatime_lite.store.postgres.store import PostgresStore as wanted
    else:  # the PostgreSQL driver is not imported on SQLite runs
        from hackatime_lite.store.sqlite.store import SQLiteStore as wanted
    assert isinstance(store, wanted), (type(store), wanted)


@pytest.fixture
def pg_url(pg_server: Any) -> Iterator[str]:
    """The URL of a fresh, migrated PostgreSQL database (dropped after the test)."""
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)
