"""Abuse limits that don't lock people out: login backoff per address, API limits per key and per address,
`Retry-After` on every 429, and the limits shown by `hackatime-lite config`.

Time is the limits' own clock (`ctx.limits_clock`), stepped by hand here: no test sleeps.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from hackatime_lite.accounts.throttle import LoginThrottle
from hackatime_lite.config import ConfigError, Settings, load_settings
from hackatime_lite.store import Store
from tests._fast_requests import Call, send_all
from tests.app_pool import pooled_app
from tests.conftest import Account, basic_auth, make_account, run_cli
from tests.web_helpers import (  # noqa: F401
    PASSWORD,
    cheap_passwords,
    client_hosts,
    csrf_token,
    from_host,
    give_password,
)

# Mostly the write path: the analytics replica opens only when a test reads (conftest's `client`).
pytestmark = pytest.mark.lazy_replica

SRC = Path(__file__).resolve().parents[1] / "src" / "hackatime_lite"
LIMIT_SETTINGS = (
    "login_free_failures", "login_free_failures_per_address", "login_backoff_max", "login_failure_window",
    "api_ingest_per_minute", "api_read_per_minute", "api_bad_keys_per_minute", "plugin_errors_per_minute",
)
BULK = "/api/v1/users/current/heartbeats.bulk"
STATUSBAR = "/api/v1/users/current/statusbar/today"
ATTACKER, OWNER = "203.0.113.9", "198.51.100.7"


class FakeClock:
    """The limits' clock, stepped by the test."""

    def __init__(self, now: float = 10_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _clock(client: TestClient) -> FakeClock:
    clock = FakeClock()
    client.app.state.ctx.limits_clock = clock
    return clock


def _retry_after(response: Any) -> int:
    """The response's `Retry-After`: present, whole seconds, at least 1."""
    value = response.headers.get("retry-after")
    assert value is not None and value.isdigit() and int(value) >= 1, (response.status_code, value)
    return int(value)


def _login(client: TestClient, token: str, username: str, password: str, host: str) -> Any:
    return client.post(
        "/login",
        data={"username": username, "password": password, "_csrf_token": token},
        headers=from_host(host),
        follow_redirects=False,
    )


def _beats(n: int = 3) -> list[dict[str, Any]]:
    now = time.time()
    return [{"entity": "/src/app.py", "type": "file", "time": now - 60 * (n - i), "project": "p"} for i in range(n)]


@pytest.fixture
def web_users(store: Store, alice: Account, bob: Account) -> tuple[Account, Account]:
    give_password(store, alice.user.id)  # alice is the admin
    give_password(store, bob.user.id)
    return alice, bob


@pytest.fixture
def tight(tmp_path: Path) -> Iterator[tuple[TestClient, Store]]:
    """An app with small API limits (as set in the config), on its own data dir."""
    settings = Settings(
        data_dir=str(tmp_path / "tight"), api_ingest_per_minute=5, api_read_per_minute=4,
        api_bad_keys_per_minute=3, plugin_errors_per_minute=2,
    )
    settings.paths.ensure()
    with Store(settings.paths.database) as store, \
            pooled_app(settings, store=store, start_scheduler=False) as app, \
            TestClient(app, raise_server_exceptions=False) as client:
        yield client, store


# --- logins ------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("cheap_passwords", "client_hosts")
def test_right_password_from_a_fresh_address_logs_in_while_the_account_is_under_attack(
    client: TestClient, web_users: tuple[Account, Account]
) -> None:
    clock = _clock(client)
    token = csrf_token(client)
    # An attacker guesses the admin's password for a long while (honouring every wait it is given).
    for _ in range(25):
        wrong = _login(client, token, "alice", "guess", ATTACKER)
        if wrong.status_code == 429:
            clock.advance(_retry_after(wrong))
            wrong = _login(client, token, "alice", "guess", ATTACKER)
        assert wrong.status_code == 401
    refused = _login(client, token, "alice", PASSWORD, ATTACKER)
    assert refused.status_code == 429 and "hl_session" not in refused.headers.get("set-cookie", "")
    _retry_after(refused)
    # Meanwhile, and without waiting, the owner logs in from an address that has not failed.
    owner = _login(client, token, "alice", PASSWORD, OWNER)
    assert owner.status_code == 303 and "hl_session" in owner.headers["set-cookie"]
    # An owner who mistyped once (from their own address) is not refused either.
    assert _login(client, token, "bob", "typo", OWNER).status_code == 401
    assert _login(client, token, "bob", PASSWORD, OWNER).status_code == 303


@pytest.mark.usefixtures("cheap_passwords", "client_hosts")
def test_login_backoff_grows_for_the_failing_address(client: TestClient, web_users: tuple[Account, Account]) -> None:
    clock = _clock(client)
    token = csrf_token(client)
    free = client.app.state.ctx.settings.login_free_failures
    for _ in range(free):  # the first failures cost nothing: retried at once, they are answered
        assert _login(client, token, "alice", "guess", ATTACKER).status_code == 401
    waits = []
    for _ in range(6):
        assert _login(client, token, "alice", "guess", ATTACKER).status_code == 401
        refused = _login(client, token, "alice", "guess", ATTACKER)  # at once: too early
        assert refused.status_code == 429
        assert "Try again in" in refused.text
        waits.append(_retry_after(refused))
        clock.advance(waits[-1] - 0.5)
        assert _login(client, token, "alice", "guess", ATTACKER).status_code == 429  # still too early
        clock.advance(0.5)
    assert waits == [1, 2, 4, 8, 16, 32]


def test_login_backoff_is_capped_and_forgotten() -> None:
    throttle = LoginThrottle(free_per_user=1, free_per_address=100, backoff_max=60.0, window=600.0)
    now = 0.0
    for _ in range(12):
        throttle.failed("alice", ATTACKER, now)
        wait = throttle.retry_after("alice", ATTACKER, now)
        now += wait
    assert wait == 60.0  # 1, 2, 4 … then the cap
    assert throttle.retry_after("alice", OWNER, now) == 0  # another address never waits
    throttle.failed("alice", ATTACKER, now)
    assert throttle.retry_after("alice", ATTACKER, now + 601) == 0  # forgotten after the window
    throttle.failed("alice", ATTACKER, now + 601)
    assert throttle.retry_after("alice", ATTACKER, now + 601) == 0  # and free again


@pytest.mark.usefixtures("cheap_passwords", "client_hosts")
def test_an_address_spraying_usernames_is_throttled(client: TestClient, web_users: tuple[Account, Account]) -> None:
    _clock(client)
    token = csrf_token(client)
    per_address = client.app.state.ctx.settings.login_free_failures_per_address
    for i in range(per_address):  # one guess per name: no name is tried twice
        assert _login(client, token, f"user{i}", "guess", ATTACKER).status_code == 401
    assert _login(client, token, "one-more", "guess", ATTACKER).status_code == 401  # starts the wait
    sprayed = _login(client, token, "bob", PASSWORD, ATTACKER)
    assert sprayed.status_code == 429
    _retry_after(sprayed)
    assert _login(client, token, "bob", PASSWORD, OWNER).status_code == 303


# --- the API -----------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("client_hosts")
def test_invalid_key_storm_gets_429_with_retry_after(client: TestClient, alice: Account) -> None:
    clock = _clock(client)
    allowed = client.app.state.ctx.settings.api_bad_keys_per_minute
    statuses = []
    for i in range(allowed + 5):
        guess = basic_auth(f"00000000-0000-4000-8000-{i:012d}")
        statuses.append(client.get(STATUSBAR, headers={**guess, **from_host(ATTACKER)}).status_code)
    assert statuses == [401] * allowed + [429] * 5
    storm = client.post(BULK, json=_beats(), headers={**basic_auth("not-a-key"), **from_host(ATTACKER)})
    assert storm.status_code == 429 and storm.json()["error"]
    wait = _retry_after(storm)
    # A valid key from the same address is not refused, and other addresses are unaffected.
    assert client.get(STATUSBAR, headers={**alice.headers, **from_host(ATTACKER)}).status_code == 200
    assert client.get(STATUSBAR, headers={**basic_auth("nope"), **from_host(OWNER)}).status_code == 401
    clock.advance(wait)  # after the wait, a bad key is an ordinary 401 again
    assert client.get(STATUSBAR, headers={**basic_auth("nope"), **from_host(ATTACKER)}).status_code == 401


def test_a_valid_key_under_the_default_limit_is_never_refused_in_a_burst(
    client: TestClient, alice: Account
) -> None:
    _clock(client)  # no time passes: the whole burst lands in one instant
    settings = client.app.state.ctx.settings
    assert settings.api_ingest_per_minute == 360  # Hackatime's limit is the default
    # The requests go in order, as one batch each (tests/_fast_requests.py: a third of the CPU of client.post).
    write = {**alice.headers, "Content-Type": "application/json"}
    burst = send_all(client, [Call("POST", BULK, write, json.dumps(_beats(25)).encode()) for _ in range(100)])
    for i, response in enumerate(burst):
        assert response.status_code in (201, 202), (i, response.status_code, response.text[:200])
    polls = send_all(client, [Call("GET", STATUSBAR, alice.headers)] * 20)
    for i, response in enumerate(polls):  # editors polling the status bar meanwhile (reads have their own budget)
        assert response.status_code == 200, i
    # The limit does exist: the rest of this minute's 360 writes go through, the next one waits.
    rest = send_all(client, [Call("POST", BULK, write, json.dumps(_beats(1)).encode())
                             for _ in range(settings.api_ingest_per_minute - 100)])
    for i, response in enumerate(rest):
        assert response.status_code in (201, 202), i
    over = client.post(BULK, json=_beats(), headers=alice.headers)
    assert over.status_code == 429
    assert _retry_after(over) == 1  # 360 a minute: one more every 1/6 s


def test_per_key_limits_refill_and_are_per_key(tight: tuple[TestClient, Store]) -> None:
    client, store = tight
    clock = _clock(client)
    alice = make_account(store, "alice")
    _, second_key = store.create_api_key(alice.user.id, name="desktop")
    for _ in range(5):
        assert client.post(BULK, json=_beats(), headers=alice.headers).status_code in (201, 202)
    over = client.post(BULK, json=_beats(), headers=alice.headers)
    assert over.status_code == 429 and _retry_after(over) == 12  # 5 a minute: one more every 12 s
    # Reads have their own budget, and another key of the same user its own.
    assert client.get(STATUSBAR, headers=alice.headers).status_code == 200
    assert client.post(BULK, json=_beats(), headers=basic_auth(second_key)).status_code in (201, 202)
    for _ in range(3):
        assert client.get(STATUSBAR, headers=alice.headers).status_code == 200
    read_over = client.get(STATUSBAR, headers=alice.headers)
    assert read_over.status_code == 429 and _retry_after(read_over) == 15
    clock.advance(12)
    assert client.post(BULK, json=_beats(), headers=alice.headers).status_code in (201, 202)
    assert client.post(BULK, json=_beats(), headers=alice.headers).status_code == 429


@pytest.mark.usefixtures("client_hosts")
def test_anonymous_reads_of_shared_stats_are_limited_per_address(tight: tuple[TestClient, Store]) -> None:
    client, store = tight
    _clock(client)
    frank = make_account(store, "frank")
    store.update_user(frank.user.id, share_stats=True)
    path = "/api/v1/users/frank/stats/last_7_days"
    for _ in range(4):
        assert client.get(path, headers=from_host(ATTACKER)).status_code == 200
    over = client.get(path, headers=from_host(ATTACKER))
    assert over.status_code == 429
    _retry_after(over)
    assert client.get(path, headers=from_host(OWNER)).status_code == 200
    assert client.get(path, headers={**frank.headers, **from_host(ATTACKER)}).status_code == 200  # own key


@pytest.mark.usefixtures("client_hosts")
def test_plugin_errors_stay_limited_per_address(tight: tuple[TestClient, Store]) -> None:
    client, _ = tight
    clock = _clock(client)
    for _ in range(2):
        assert client.post("/api/v1/plugins/errors", json={"x": 1}, headers=from_host(ATTACKER)).status_code == 201
    over = client.post("/api/v1/plugins/errors", json={"x": 1}, headers=from_host(ATTACKER))
    assert over.status_code == 429 and _retry_after(over) == 30
    assert client.post("/api/v1/plugins/errors", json={"x": 1}, headers=from_host(OWNER)).status_code == 201
    clock.advance(30)
    assert client.post("/api/v1/plugins/errors", json={"x": 1}, headers=from_host(ATTACKER)).status_code == 201


# --- every 429, and the settings ---------------------------------------------------------------------------

# Where the app builds a 429 answer; each is triggered above and there checked for `Retry-After`. (The
# OpenAPI document mentions 429 too, as a number in its tables: that answers nothing.)
KNOWN_429_SOURCES = {"api/auth.py", "web/account.py"}
_429 = re.compile(r"TooManyRequests|HTTP_429|status_code\s*=\s*429")


def test_every_429_the_app_answers_carries_retry_after() -> None:
    """A new source of 429 must be added here (and get its `Retry-After` test): the transports are the only
    code that answers HTTP, and every 429 they build must say when to come back."""
    found = set()
    for path in [*(SRC / "api").rglob("*.py"), *(SRC / "web").rglob("*.py"), SRC / "app.py"]:
        if _429.search(path.read_text()):
            found.add(path.relative_to(SRC).as_posix())
    assert found <= KNOWN_429_SOURCES, found - KNOWN_429_SOURCES


def test_config_shows_the_limits(tmp_path: Path) -> None:
    env = {"HACKATIME_API_INGEST_PER_MINUTE": "720", "HACKATIME_LOGIN_BACKOFF_MAX": "120"}
    shown = json.loads(run_cli("config", "--json", "--data-dir", str(tmp_path), env=env).stdout)
    assert set(LIMIT_SETTINGS) <= set(shown)
    assert shown["api_ingest_per_minute"] == 720 and shown["login_backoff_max"] == 120
    assert shown["api_read_per_minute"] == Settings().api_read_per_minute
    table = run_cli("config", "--data-dir", str(tmp_path), env=env).stdout
    for name in LIMIT_SETTINGS:
        assert name in table


def test_limit_settings_are_checked() -> None:
    with pytest.raises(ConfigError):
        load_settings(environ={"HACKATIME_LOGIN_BACKOFF_MAX": "7200"})  # longer than the failure window
    with pytest.raises(ConfigError):
        load_settings(environ={"HACKATIME_LOGIN_FREE_FAILURES": "0"})
    assert load_settings(environ={"HACKATIME_API_READ_PER_MINUTE": "0"}).api_read_per_minute == 0  # off
