"""Shared fixtures: a temp data dir, a real SQLite store, the app with a test client, users and keys."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

from hackatime_lite.app import create_app
from hackatime_lite.config import Settings
from hackatime_lite.models import User
from hackatime_lite.store import Store
from hackatime_lite.store.users import create_api_key, create_user

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "wakatime-cli"


def load_fixture(name: str) -> object:
    return json.loads((FIXTURES / name).read_text())


def basic_auth(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(key.encode()).decode()}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=str(tmp_path / "data"))


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    settings.paths.ensure()
    with Store(settings.paths.database) as opened:
        yield opened


@pytest.fixture
def client(settings: Settings, store: Store) -> Iterator[TestClient]:
    app = create_app(settings, store=store, start_scheduler=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


class Account:
    """A user with a write key and a read-only key."""

    def __init__(self, user: User, key: str, read_only_key: str) -> None:
        self.user, self.key, self.read_only_key = user, key, read_only_key

    @property
    def headers(self) -> dict[str, str]:
        return basic_auth(self.key)


def make_account(store: Store, name: str, *, timezone: str = "UTC", admin: bool = False) -> Account:
    user = store.write(lambda db: create_user(db, name, timezone=timezone, is_admin=admin))
    _, key = store.write(lambda db: create_api_key(db, user.id))
    _, read_only = store.write(lambda db: create_api_key(db, user.id, name="ro", read_only=True))
    return Account(user, key, read_only)


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

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_cli("--data-dir", str(self.data_dir), *args, check=check)

    def start(self, timeout: float = 20.0) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()}")
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not become healthy:\n{self.log_path.read_text()}")

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)


def run_cli(
    *args: str, check: bool = True, env: dict[str, str] | None = None, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "hackatime_lite", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        input=input_text,
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
