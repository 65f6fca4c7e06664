"""Dashboard security, in process: login on every page and form, CSRF, sessions, isolation between users."""

from __future__ import annotations

import re

import pytest
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from tests.app_pool import pooled_app
from tests.conftest import Account
from tests.web_helpers import (  # noqa: F401
    PASSWORD,
    cheap_passwords,
    client_hosts,
    csrf_token,
    from_host,
    give_password,
    login,
    post_form,
)

PUBLIC_PATHS = {"/login", "/signup", "/unsubscribe/weekly-report/x"}
# The weekly e-mail's unsubscribe link: its signed token is the authority, and mail clients' one-click POST
# (RFC 8058) carries no CSRF token; a token we did not sign is a 404 (tests/test_weekly_report.py).
CSRF_EXEMPT = {"/unsubscribe/weekly-report/x"}
NOT_PAGES = ("/api/", "/api", "/schema", "/static")
SAMPLE_PATH_VALUES = {"int": "1", "str": "x", "uuid": "00000000-0000-4000-8000-000000000000"}
# The analytics replica opens only when a test reads (conftest's `client`).
pytestmark = [pytest.mark.usefixtures("cheap_passwords"), pytest.mark.lazy_replica]


def web_routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, path with sample values) for every route outside the APIs, the docs and the static files —
    found from the app itself, so a new page cannot be forgotten here."""
    found = []
    for route in client.app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(NOT_PAGES):
            continue
        for handler in route.route_handlers:
            path = re.sub(r"\{(\w+):(\w+)\}", lambda m: SAMPLE_PATH_VALUES[m.group(2)], route.path)
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                found.append((method, path))
    assert len(found) > 30, found
    return found


@pytest.fixture
def alice_web(store, alice: Account) -> Account:
    give_password(store, alice.user.id)
    return alice


@pytest.fixture
def bob_web(store, bob: Account) -> Account:
    give_password(store, bob.user.id)
    return bob


def test_every_page_and_form_requires_login(client: TestClient, alice_web: Account) -> None:
    token = csrf_token(client)  # a valid CSRF pair, but no session
    for method, path in web_routes(client):
        if path in PUBLIC_PATHS:
            continue
        if method == "GET":
            response = client.get(path, follow_redirects=False)
        else:
            response = client.request(method, path, data={"_csrf_token": token}, follow_redirects=False)
        if path.startswith("/web/api/"):
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["error"]
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login?next="), (method, path)


def test_login_redirects_back_only_to_our_own_pages(client: TestClient, alice_web: Account) -> None:
    assert client.get("/settings", follow_redirects=False).headers["location"] == "/login?next=%2Fsettings"
    for target, expected in (
        ("/settings", "/settings"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
    ):
        client.cookies.clear()
        token = csrf_token(client)
        response = client.post(
            "/login",
            data={"username": "alice", "password": PASSWORD, "next": target, "_csrf_token": token},
            follow_redirects=False,
        )
        assert response.headers["location"] == expected


def test_missing_or_wrong_csrf_token_is_refused(client: TestClient, store, alice_web: Account) -> None:
    login(client, "alice")
    keys_before = len(store.list_api_keys(alice_web.user.id))
    for method, path in web_routes(client):
        if method == "GET" or path in CSRF_EXEMPT:
            continue
        response = client.request(method, path, data={"name": "sneaky"}, follow_redirects=False)
        assert response.status_code == 403, (method, path, response.status_code)
        forged = client.request(
            method, path, data={"name": "sneaky", "_csrf_token": "0" * 128}, follow_redirects=False
        )
        assert forged.status_code == 403, (method, path)
    assert len(store.list_api_keys(alice_web.user.id)) == keys_before
    # The same form with the page's token goes through.
    assert post_form(client, "/settings/keys", {"name": "laptop"}).status_code == 200
    assert len(store.list_api_keys(alice_web.user.id)) == keys_before + 1


def test_login_form_itself_needs_csrf(client: TestClient, alice_web: Account) -> None:
    response = client.post("/login", data={"username": "alice", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403
    assert "hl_session" not in response.headers.get("set-cookie", "")


def test_session_cookie_is_httponly_and_samesite(client: TestClient, alice_web: Account) -> None:
    cookie = login(client, "alice").headers["set-cookie"]
    assert cookie.startswith("hl_session=")
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "secure" not in attributes  # plain http here; see the https test
    csrf_cookie = client.get("/login").headers.get("set-cookie")  # already set: not sent again
    assert csrf_cookie is None or "hl_csrf" not in csrf_cookie


def test_session_cookie_is_secure_behind_https(settings, store, alice_web: Account) -> None:
    with pooled_app(settings, store=store, start_scheduler=False) as app, \
            TestClient(app, base_url="https://testserver.local") as secure_client:
        cookie = login(secure_client, "alice").headers["set-cookie"]
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


def test_logout_ends_the_session_on_the_server(client: TestClient, alice_web: Account) -> None:
    login(client, "alice")
    stolen = client.cookies.get("hl_session")
    assert client.get("/settings").status_code == 200
    assert post_form(client, "/logout").headers["location"].startswith("/login")
    client.cookies.clear()
    client.cookies.set("hl_session", stolen)
    assert client.get("/settings", follow_redirects=False).status_code == 303


@pytest.mark.usefixtures("client_hosts")
def test_wrong_password_and_rate_limit(client: TestClient, alice_web: Account) -> None:
    ctx = client.app.state.ctx
    ctx.limits_clock = lambda: 1_000.0  # time stands still, so a wait never runs out during the test
    token = csrf_token(client)
    attacker = from_host("203.0.113.9")
    for _ in range(ctx.settings.login_free_failures + 1):  # the free failures, then one that starts a wait
        wrong = client.post(
            "/login", data={"username": "alice", "password": "nope", "_csrf_token": token}, headers=attacker
        )
        assert wrong.status_code == 401
        assert "Wrong username or password" in wrong.text
    # That address waits, even with the right password, and is told for how long.
    blocked = client.post(
        "/login", data={"username": "alice", "password": PASSWORD, "_csrf_token": token}, headers=attacker
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1
    assert "hl_session" not in blocked.headers.get("set-cookie", "")
    # The account itself is not locked: its owner, from another address, logs in meanwhile.
    owner = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "_csrf_token": token},
        headers=from_host("198.51.100.7"),
        follow_redirects=False,
    )
    assert owner.status_code == 303
    assert "hl_session" in owner.headers.get("set-cookie", "")


def test_another_users_data_is_not_reachable(
    client: TestClient, store, alice_web: Account, bob_web: Account
) -> None:
    alice_key, _ = store.create_api_key(alice_web.user.id, name="alice-laptop")
    client.post(
        "/api/v1/users/current/heartbeats.bulk",
        headers=alice_web.headers,
        json=[
            {
                "entity": "/secret/plan.py",
                "type": "file",
                "time": 1_700_000_000 + i * 60,
                "project": "alice-secret",
                "language": "Python",
            }
            for i in range(5)
        ],
    )
    login(client, "bob")
    # Revoking alice's key by id: refused like an unknown key, and the key keeps working.
    assert post_form(client, f"/settings/keys/{alice_key.id}/revoke").status_code == 404
    assert client.get("/api/v1/users/current/statusbar/today", headers=alice_web.headers).status_code == 200
    assert all(k.revoked_at is None for k in store.list_api_keys(alice_web.user.id))
    # Alice's project is not bob's: no page, no CSV, and nothing of it on bob's pages.
    assert client.get("/project?name=alice-secret").status_code == 404
    assert client.get("/project/days.csv?name=alice-secret").status_code == 404
    for path in (
        "/",
        "/?range=all_time",
        "/projects?range=all_time",
        "/projects/matrix.csv?range=all_time",
        "/web/api/live",
        "/web/api/dashboard/panels?range=all_time",
        "/web/api/dashboard/year",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "alice-secret" not in response.text and "plan.py" not in response.text, path
    # Mirrors and imports are looked up with the owner.
    assert post_form(client, "/settings/mirrors/1/remove").status_code == 404
    assert client.get("/web/api/import/some-job-of-alice").status_code == 404
    # Admin pages are for admins only (alice is the admin; bob is not).
    assert client.get("/admin").status_code == 403
    assert post_form(client, f"/admin/users/{alice_web.user.id}/disable").status_code == 403
    assert (
        post_form(client, f"/admin/users/{alice_web.user.id}/password", {"password": "x" * 12}).status_code
        == 403
    )


def test_disabling_a_user_ends_their_sessions(
    client: TestClient, store, alice_web: Account, bob_web: Account
) -> None:
    login(client, "bob")
    bob_session = client.cookies.get("hl_session")
    login(client, "alice")
    assert post_form(client, f"/admin/users/{bob_web.user.id}/disable").status_code == 303
    client.cookies.clear()
    client.cookies.set("hl_session", bob_session)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_signup_needs_a_valid_invite_and_spends_it(client: TestClient, store, alice_web: Account) -> None:
    _, code = store.create_invite(alice_web.user.id, max_uses=1)
    form = {
        "username": "carol",
        "password": "carol-pass-1",
        "password_again": "carol-pass-1",
        "timezone": "Europe/Berlin",
    }
    token = csrf_token(client, "/signup")
    refused = client.post("/signup", data={**form, "code": "made-up-code", "_csrf_token": token})
    assert refused.status_code == 400
    assert "not valid" in refused.text
    accepted = client.post(
        "/signup", data={**form, "code": code, "_csrf_token": token}, follow_redirects=False
    )
    assert accepted.status_code == 303 and accepted.headers["location"] == "/setup"
    assert client.get("/setup").status_code == 200  # logged in as carol
    client.cookies.clear()
    token = csrf_token(client, "/signup")
    again = client.post("/signup", data={**form, "username": "dave", "code": code, "_csrf_token": token})
    assert again.status_code == 400


def test_pages_send_a_strict_content_security_policy(client: TestClient, alice_web: Account) -> None:
    login(client, "alice")
    response = client.get("/settings")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert (
        "<script>" not in response.text and " style=" not in response.text and "onclick" not in response.text
    )
