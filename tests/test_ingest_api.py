"""The heartbeat write path over HTTP: wire contract (COMPAT.md), fixtures, bad input, durability."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from litestar.testing import TestClient

from hackatime_lite.api.wakatime import BASE_PATHS
from hackatime_lite.config import Settings
from tests.conftest import FIXTURES, Account, basic_auth, load_fixture
from tests.pg_support import query

# Mostly the write path: the analytics replica opens only when a test reads (conftest's `client`).
pytestmark = pytest.mark.lazy_replica

NOW = time.time()


def fresh(items: list[dict], offset: float) -> list[dict]:
    """The fixtures carry 2020 times; shift them so each test posts distinct heartbeats."""
    shifted = []
    for item in items:
        copy = dict(item)
        for name in ("time", "timestamp"):
            if name in copy:
                copy[name] = copy[name] + offset
        shifted.append(copy)
    return shifted


def stored_rows(settings: Settings, user_id: int) -> list[Any]:
    # On either backend (the suite also runs with --store=postgres).
    return query(settings, "SELECT * FROM heartbeats WHERE user_id = ? ORDER BY id", (user_id,))


REQUEST_FIXTURES = sorted(p.name for p in FIXTURES.glob("*request*.json") if "template" not in p.name)


@pytest.mark.parametrize("base", BASE_PATHS)
@pytest.mark.parametrize("route", ["/users/current/heartbeats.bulk", "/heartbeats.bulk"])
def test_bulk_fixture_replay_on_every_base(client: TestClient, alice: Account, base: str, route: str) -> None:
    items = load_fixture("pkg_api__api_heartbeats_request.json")
    response = client.post(base + route, json=items, headers=alice.headers)
    assert response.status_code == 201
    body = response.json()
    assert body == {"responses": [[{"data": None, "error": None}, 201]] * len(items)}


@pytest.mark.parametrize("base", BASE_PATHS)
def test_single_fixture_replay_on_every_base(client: TestClient, alice: Account, base: str) -> None:
    heartbeat = load_fixture("pkg_heartbeat__heartbeat.json")
    response = client.post(f"{base}/users/current/heartbeats", json=heartbeat, headers=alice.headers)
    assert response.status_code == 201
    data = response.json()["data"]
    assert set(data) == {"id", "entity", "type", "time"}
    assert (data["entity"], data["type"], data["time"]) == ("/tmp/main.go", "file", 1585598060.1)
    # the same heartbeat again is a success with the same id (dedup)
    again = client.post(f"{base}/users/current/heartbeats", json=heartbeat, headers=alice.headers)
    assert again.status_code == 201 and again.json()["data"]["id"] == data["id"]


def test_extra_heartbeats_fixture_one_entry_per_item(
    client: TestClient, alice: Account, settings: Settings
) -> None:
    items = load_fixture("cmd_heartbeat__extra_heartbeats.json")
    # The issue text says 26 items; the captured fixture holds 25 (24 identical main.go + 1 main.py).
    response = client.post("/api/v1/users/current/heartbeats.bulk", json=items, headers=alice.headers)
    assert response.status_code == 201
    responses = response.json()["responses"]
    assert len(responses) == len(items) == 25
    assert all(status == 201 for _, status in responses)
    rows = stored_rows(settings, alice.user.id)
    # 24 identical main.go heartbeats collapse to one; main.py (via `timestamp` alias) is the other
    assert sorted(r["entity"] for r in rows) == ["testdata/main.go", "testdata/main.py"]
    by_entity = {r["entity"]: r for r in rows}
    assert by_entity["testdata/main.go"]["type"] == "file"  # from entity_type alias
    assert by_entity["testdata/main.py"]["time"] == 1585598060
    assert by_entity["testdata/main.py"]["category"] == "debugging"


@pytest.mark.parametrize("base", BASE_PATHS)
def test_bare_base_path_accepts_legacy_bulk(client: TestClient, alice: Account, base: str) -> None:
    items = fresh(load_fixture("pkg_api__api_heartbeats_request.json"), 1000)
    response = client.post(base, json=items, headers=alice.headers)
    assert response.status_code == 201
    assert len(response.json()["responses"]) == 2


def test_template_request_fixture(client: TestClient, alice: Account) -> None:
    raw = (FIXTURES / "cmd_heartbeat__api_heartbeats_request_template.json").read_text()
    body = raw.replace('"%s"', '"main.go"', 1).replace("%d", "2").replace('"%s"', '"wakatime/v1.0 vim/9"')
    response = client.post(
        "/api/v1/users/current/heartbeats.bulk",
        content=body,
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201
    assert response.json()["responses"] == [[{"data": None, "error": None}, 201]]


def test_mixed_batch_stores_valid_and_rejects_invalid_in_order(
    client: TestClient, alice: Account, settings: Settings
) -> None:
    items = [
        {"entity": "a.py", "time": NOW - 60, "project": "p"},
        {"entity": "b.py"},  # no time
        "not an object",
        {"entity": "c.py", "time": NOW + 5 * 86400},  # future
        {"entity": "d.py", "time": NOW - 30, "type": "spaceship"},
        {"entity": "e.py", "time": "NaN"},
        {"entity": 12, "time": NOW},
        {"entity": "f.py", "time": NOW - 10, "lineno": "7", "cursorpos": "oops", "unknown_key": {"x": 1}},
    ]
    response = client.post("/api/v1/users/current/heartbeats.bulk", json=items, headers=alice.headers)
    assert response.status_code == 201
    statuses = [status for _, status in response.json()["responses"]]
    assert statuses == [201, 400, 400, 400, 400, 400, 400, 201]
    errors = [body.get("error") for body, _ in response.json()["responses"]]
    assert all(isinstance(e, str) and e for e, s in zip(errors, statuses, strict=True) if s == 400)
    rows = stored_rows(settings, alice.user.id)
    assert [r["entity"] for r in rows] == ["a.py", "f.py"]
    assert rows[1]["lineno"] == 7 and rows[1]["cursorpos"] is None


def test_normalisation(client: TestClient, alice: Account, settings: Settings) -> None:
    items = [
        {
            "entity": "/src/x.rs",
            "time": (NOW - 100) * 1000,
            "project": "first",
            "branch": "main",
            "dependencies": "serde, tokio,serde",
            "is_write": "true",
        },
        {
            "entity": "/src/y\x00z.py",
            "time": NOW - 90,
            "project": "<<LAST_PROJECT>>",
            "branch": "<<LAST_BRANCH>>",
            "language": None,
            "category": None,
            "project_root_count": "3",
        },
        {"entity": "https://example.com", "type": "url", "time": NOW - 80, "project": "p" * 5000},
    ]
    headers = {
        **alice.headers,
        "User-Agent": "wakatime/v1.98.0 (darwin-23.4.0-arm64) go1.22.1 vscode/1.89.1 vscode-wakatime/24.5.0",
        "X-Machine-Name": "Alice%27s+Mac",
    }
    response = client.post("/api/v1/users/current/heartbeats.bulk", json=items, headers=headers)
    assert [s for _, s in response.json()["responses"]] == [201, 201, 201]
    first, second, third = stored_rows(settings, alice.user.id)
    assert first["time"] == pytest.approx(NOW - 100, abs=0.001)  # milliseconds scaled to seconds
    assert first["language"] == "Rust"  # from the extension
    assert json.loads(first["dependencies"]) == ["serde", "tokio"]
    assert first["is_write"] == 1
    assert (first["editor"], first["operating_system"]) == ("VS Code", "Mac")
    assert first["machine"] == "Alice's Mac"
    assert second["entity"] == "/src/yz.py"  # NUL stripped
    assert (second["project"], second["branch"]) == ("first", "main")  # placeholders from the batch
    assert second["language"] == "Python" and second["category"] == "coding"
    assert second["project_root_count"] == 3
    assert third["category"] == "browsing" and len(third["project"]) == 512


def test_placeholder_falls_back_to_stored_heartbeat(
    client: TestClient, alice: Account, settings: Settings
) -> None:
    client.post(
        "/api/v1/users/current/heartbeats",
        json={"entity": "a.go", "time": NOW - 50, "project": "stored"},
        headers=alice.headers,
    )
    client.post(
        "/api/v1/users/current/heartbeats",
        json={"entity": "b.go", "time": NOW - 40, "project": "<<LAST_PROJECT>>"},
        headers=alice.headers,
    )
    assert [r["project"] for r in stored_rows(settings, alice.user.id)] == ["stored", "stored"]


# -- whole-request errors ---------------------------------------------------------------------
def _assert_json_error(response, status: int) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert isinstance(response.json()["error"], str) and response.json()["error"]


def test_malformed_json(client: TestClient, alice: Account) -> None:
    response = client.post(
        "/api/v1/users/current/heartbeats.bulk",
        content=b"[{",
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    _assert_json_error(response, 400)


def test_nan_literal_is_malformed_json(client: TestClient, alice: Account) -> None:
    # Not JSON: a single heartbeat holding one is refused whole; in a batch only its item is (per-item 400,
    # tests/test_ingest_hardening.py).
    response = client.post(
        "/api/v1/users/current/heartbeats",
        content=b'{"entity": "a", "time": NaN}',
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    _assert_json_error(response, 400)


def test_wrong_content_type(client: TestClient, alice: Account) -> None:
    response = client.post(
        "/api/v1/users/current/heartbeats.bulk",
        content=b"entity=a&time=1",
        headers={**alice.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    _assert_json_error(response, 415)


def test_empty_array(client: TestClient, alice: Account) -> None:
    _assert_json_error(
        client.post("/api/v1/users/current/heartbeats.bulk", json=[], headers=alice.headers), 400
    )


def test_ten_megabyte_body_is_413(client: TestClient, alice: Account) -> None:
    body = b'[{"entity": "' + b"x" * (10 * 1024 * 1024) + b'", "time": 1}]'
    response = client.post(
        "/api/v1/users/current/heartbeats.bulk",
        content=body,
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    _assert_json_error(response, 413)


def test_batch_over_the_maximum(client: TestClient, alice: Account, settings: Settings) -> None:
    items = [{"entity": f"f{i}.py", "time": NOW - i} for i in range(5000)]
    response = client.post("/api/v1/users/current/heartbeats.bulk", json=items, headers=alice.headers)
    _assert_json_error(response, 413)
    assert "1000" in response.json()["error"]
    assert stored_rows(settings, alice.user.id) == []


def test_huge_strings_are_capped_not_rejected(client: TestClient, alice: Account, settings: Settings) -> None:
    items = [
        {
            "entity": "e" * 100_000,
            "time": NOW - 5,
            "branch": "b" * 100_000,
            "dependencies": [f"{i}" + "d" * 2000 for i in range(300)],
        }
    ]
    response = client.post("/api/v1/users/current/heartbeats.bulk", json=items, headers=alice.headers)
    assert response.json()["responses"][0][1] == 201
    row = stored_rows(settings, alice.user.id)[0]
    assert len(row["entity"]) == 2048 and len(row["branch"]) == 512
    deps = json.loads(row["dependencies"])
    assert len(deps) == 100 and all(len(d) == 256 for d in deps)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Digest abc"},
        basic_auth("00000000-0000-4000-8000-000000000000"),
    ],
)
def test_missing_or_garbled_auth_is_401(client: TestClient, alice: Account, headers: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/users/current/heartbeats.bulk", json=[{"entity": "a", "time": NOW}], headers=headers
    )
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}


def test_read_only_key_cannot_write(client: TestClient, alice: Account, settings: Settings) -> None:
    response = client.post(
        "/api/v1/users/current/heartbeats.bulk",
        json=[{"entity": "a", "time": NOW}],
        headers=basic_auth(alice.read_only_key),
    )
    _assert_json_error(response, 403)
    assert stored_rows(settings, alice.user.id) == []


def test_cannot_write_for_another_user(client: TestClient, alice: Account, bob: Account) -> None:
    response = client.post(
        f"/api/v1/users/{alice.user.username}/heartbeats.bulk",
        json=[{"entity": "a", "time": NOW}],
        headers=bob.headers,
    )
    _assert_json_error(response, 403)


def test_revoked_key_is_401(client: TestClient, alice: Account, store) -> None:  # type: ignore[no-untyped-def]

    key_id = store.list_api_keys(alice.user.id)[0].id
    store.revoke_api_key(key_id)
    response = client.post(
        "/api/v1/users/current/heartbeats.bulk", json=[{"entity": "a", "time": NOW}], headers=alice.headers
    )
    assert response.status_code == 401


def test_unknown_route_is_json_404(client: TestClient) -> None:
    _assert_json_error(client.get("/api/v1/nope"), 404)


# -- durability -------------------------------------------------------------------------------
def test_acknowledged_heartbeats_are_on_disk(client: TestClient, alice: Account, settings: Settings) -> None:
    for batch in range(5):
        items = [{"entity": f"file{batch}-{i}.py", "time": NOW - 1000 + batch * 30 + i} for i in range(25)]
        response = client.post("/api/v1/users/current/heartbeats.bulk", json=items, headers=alice.headers)
        assert response.status_code == 201
        # a fresh connection, right after the answer, sees every acknowledged heartbeat
        stored = {r[0] for r in query(settings, "SELECT entity FROM heartbeats WHERE user_id = ?", (alice.user.id,))}
        assert {item["entity"] for item in items} <= stored


def test_health_and_meta(client: TestClient, settings: Settings) -> None:
    health = client.get("/api/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["database"]["status"] == "ok"
    if not settings.database_url:
        assert health.json()["database"]["journal_mode"] == "wal"
    meta = client.get("/api/v1/meta")
    assert meta.status_code == 200 and meta.json()["data"]["version"]


def test_plugin_errors_without_auth(client: TestClient, settings: Settings) -> None:
    payload = json.loads(
        (FIXTURES / "pkg_api__diagnostics_request_template.json").read_text().replace("%s", "boom")
    )
    response = client.post("/api/v1/plugins/errors", json=payload)
    assert response.status_code == 201
    assert "boom" in query(settings, "SELECT payload FROM plugin_errors")[0][0]


@pytest.mark.xdist_group("openapi-document")  # one worker generates the pooled app's OpenAPI document (tests/test_openapi.py)
def test_openapi_schema_has_heartbeat_schemas(client: TestClient) -> None:
    schema = client.get("/schema/openapi.json")
    assert schema.status_code == 200
    doc = schema.json()
    body = doc["paths"]["/api/v1/users/{user}/heartbeats.bulk"]["post"]["requestBody"]
    one_of = body["content"]["application/json"]["schema"]["oneOf"]
    assert {"entity", "time", "project", "dependencies"} <= set(one_of[0]["properties"])
    assert one_of[1]["type"] == "array"
    assert "BulkResponse" in doc["components"]["schemas"]


def test_key_last_used_is_recorded(client: TestClient, alice: Account, store) -> None:  # type: ignore[no-untyped-def]

    before = time.time()
    client.post("/api/v1/users/current/heartbeats", json={"entity": "a", "time": NOW - 1}, headers=alice.headers)
    store.flush()  # the update is queued behind the request's own write
    used = {k.name: k.last_used_at for k in store.list_api_keys(alice.user.id)}
    assert used["default"] is not None and used["default"] >= before - 1
    assert used["ro"] is None
