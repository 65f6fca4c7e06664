"""Helpers for the dashboard tests: logging in through the real forms, CSRF tokens, reading page numbers."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from argon2 import PasswordHasher
from litestar.testing import TestClient

from hackatime_lite.store import Store
from hackatime_lite.store import rules as store_rules

PASSWORD = "correct horse battery"
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
_CHART_DATA = re.compile(r'<script type="application/json" id="chart-data">(.*?)</script>', re.S)


@pytest.fixture
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with the library's defaults takes ~0.4 s per hash here; tests use the same code with tiny costs."""
    monkeypatch.setattr(
        store_rules, "_password_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def give_password(store: Store, user_id: int, password: str = PASSWORD) -> None:
    store.set_password(user_id, password)


def csrf_token(client: TestClient, path: str = "/login") -> str:
    """The token a page embeds for its forms (the matching cookie is now in the client's jar)."""
    response = client.get(path)
    match = _CSRF_META.search(response.text)
    assert match and match.group(1), f"no CSRF token on {path} ({response.status_code})"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    """Log in through the form, starting from a clean cookie jar (so one client can switch users)."""
    client.cookies.clear()
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "_csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:500]
    return response


def post_form(client: TestClient, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """POST a form the way the browser does: with the page's CSRF token."""
    token = csrf_token(client, "/settings")
    return client.post(path, data={**(data or {}), "_csrf_token": token}, follow_redirects=False, **kwargs)


def seconds_of(html: str, element_id: str) -> float:
    match = re.search(rf'id="{element_id}" data-seconds="([^"]*)"', html)
    assert match, f"no #{element_id} with data-seconds"
    return float(match.group(1))


def chart_data(html: str) -> dict[str, Any]:
    match = _CHART_DATA.search(html)
    assert match, "no chart data on the page"
    return json.loads(match.group(1))


def heartbeat(ts: float, **fields: Any) -> dict[str, Any]:
    return {"entity": "/src/app/main.py", "type": "file", "category": "coding", "time": ts, **fields}


def coding_session(start: float, minutes: int, step: int = 60, **fields: Any) -> list[dict[str, Any]]:
    """A heartbeat every `step` seconds for `minutes` minutes (the last one ends the session)."""
    return [heartbeat(start + i * step, **fields) for i in range(minutes * 60 // step + 1)]


def recent(seconds_ago: float) -> float:
    return time.time() - seconds_ago


_CLIENT_HOST_HEADER = "x-test-client-host"


@pytest.fixture
def client_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a request say which address it comes from (`headers=from_host("10.0.0.2")`).

    Litestar's test transport gives every request the client address "testclient"; limits per address
    need several, so the transport takes the address from a test-only header (dropped before the app sees
    the headers). Requests without it stay "testclient"."""
    from litestar.testing.transport import TestClientTransport

    original = TestClientTransport.parse_request

    def parse_request(self: TestClientTransport, request: Any) -> dict[str, Any]:
        scope = original(self, request)
        found = [v for k, v in scope["headers"] if k == _CLIENT_HOST_HEADER.encode()]
        if found:
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k != _CLIENT_HOST_HEADER.encode()]
            scope["client"] = (found[0].decode(), 50000)
        return scope

    monkeypatch.setattr(TestClientTransport, "parse_request", parse_request)


def from_host(host: str) -> dict[str, str]:
    """Headers that make a request come from `host` (with the `client_hosts` fixture)."""
    return {_CLIENT_HOST_HEADER: host}
