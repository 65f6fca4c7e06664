"""`hackatime-lite routes`: from a URL to its handler in one step, for every route the OpenAPI document has."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from hackatime_lite.cli.main import app as cli_app
from tests.conftest import Account


def _without_types(path: str) -> str:
    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)


@pytest.mark.xdist_group("openapi-document")  # one worker generates the pooled app's OpenAPI document (tests/test_openapi.py)
def test_routes_lists_every_route_in_the_openapi_document(client: TestClient, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["--data-dir", str(tmp_path / "data"), "routes", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    routes = {(row["method"], _without_types(row["path"])) for row in listed}
    document = client.get("/schema/openapi.json").json()
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")}
    assert documented and documented <= routes
    # Every handler named is importable and is what answers that route.
    for row in listed:
        module, _, qualname = row["handler"].partition(":")
        if module.startswith("hackatime_lite."):
            target = importlib.import_module(module)
            for part in qualname.split("."):
                target = getattr(target, part)
            assert callable(target) or hasattr(target, "fn"), row


def test_routes_plain_output_greps(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["--data-dir", str(tmp_path / "data"), "routes"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines()
                if line.split()[1:2] == ["/api/v1/users/{user:str}/statusbar/today"])
    assert line.split()[0] == "GET"
    assert line.endswith("→ hackatime_lite.api.wakatime.reads:status_bar_today")
    # The other base paths are listed too, each saying which canonical route serves it.
    alias = next(line for line in result.stdout.splitlines()
                 if "/api/hackatime/v1/users/{user:str}/statusbar/today " in line)
    assert alias.endswith("reads:status_bar_today  (alias of /api/v1/users/{user:str}/statusbar/today)")


# Base-path aliases (api/wakatime/__init__.py): each WakaTime route is registered once, under /api/v1, and the
# other base paths are served by a prefix swap in front of the router. Their answers must be the canonical
# route's in every respect, and nothing else under an alias base may change.

def _concrete(template: str) -> str:
    return re.sub(r"\{(\w+):(\w+)\}", lambda m: {"user": "current", "int": "1"}.get(
        m.group(1), "1" if m.group(2) == "int" else "x"), template)


def _answer(client: TestClient, method: str, path: str, headers: dict[str, str]) -> tuple[int, str, str]:
    response = client.request(method, path, headers=headers, content=b"[]" if method in ("POST", "PUT", "PATCH") else None)
    allow = ", ".join(sorted(response.headers.get("allow", "").split(", ")))
    # Only the volatile parts differ between two identical reads: clock stamps and fresh ids.
    body = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+Z?|[0-9a-f-]{32,36}", "#", response.text)
    return response.status_code, allow, body


def test_every_alias_answers_as_its_canonical_route(client: TestClient, alice: Account) -> None:
    from hackatime_lite.api.wakatime import BASE_PATHS, CANONICAL_BASE
    from hackatime_lite.app import describe_routes

    rows = describe_routes(client.app)
    aliased = [row for row in rows if row.alias_of is not None]
    # Every WakaTime route is listed under every base path clients use (COMPAT.md), the canonical one included.
    status_bar = {row.path for row in rows if row.path.endswith("/users/{user:str}/statusbar/today")}
    assert status_bar == {base + "/users/{user:str}/statusbar/today" for base in BASE_PATHS}
    assert {row.alias_of for row in aliased} <= {row.path for row in rows if row.alias_of is None}
    assert all(row.alias_of.startswith(CANONICAL_BASE) for row in aliased if row.alias_of)
    reads = sorted({(row.path, row.alias_of) for row in aliased if row.method == "GET"})
    assert len(reads) >= 40
    expected: dict[tuple[str, bool], tuple[int, str, str]] = {}  # each canonical route asked once
    for i, (alias, canonical) in enumerate(reads):
        # Every alias reaches its route (the same 401); a third of them answer an authorised read alike too.
        for keyed in (False, True) if i % 3 == 0 else (False,):
            headers = alice.headers if keyed else {}
            if (canonical, keyed) not in expected:
                expected[canonical, keyed] = _answer(client, "GET", _concrete(canonical), headers)
            assert _answer(client, "GET", _concrete(alias), headers) == expected[canonical, keyed], alias
    # Methods a route does not take: the same 405 and Allow header; the CORS preflight alike.
    for alias, canonical in reads[::7]:
        for method in ("DELETE", "PATCH"):
            assert _answer(client, method, _concrete(alias), {}) == _answer(client, method, _concrete(canonical), {})
        preflight = {"Origin": "http://example.com", "Access-Control-Request-Method": "GET"}
        a, c = (client.options(_concrete(p), headers=preflight) for p in (alias, canonical))
        assert (a.status_code, dict(a.headers)) == (c.status_code, dict(c.headers))


def test_aliases_leave_other_paths_alone(client: TestClient, alice: Account) -> None:
    # Hackatime's native routes are served under /api/hackatime/v1 as under /api/v1, not under the WakaTime-only
    # bases; unknown rests are 404 everywhere; the native and dashboard routes under /api are untouched.
    spans = "/users/current/heartbeats/spans"
    assert client.get("/api/v1" + spans, headers=alice.headers).status_code == 200
    assert client.get("/api/hackatime/v1" + spans, headers=alice.headers).status_code == 200
    for base in ("/api/compat/wakatime/v1", "/api"):
        assert client.get(base + spans, headers=alice.headers).status_code == 404
    for base in ("/api/v1", "/api/hackatime/v1", "/api/compat/wakatime/v1", "/api"):
        assert client.get(base + "/no-such-route", headers=alice.headers).status_code == 404
        assert client.get(base + "/users/current/statusbar/today/extra", headers=alice.headers).status_code == 404
    assert client.get("/api/health").status_code == 200
    # An escaped character in the rest reaches the handler as it would under the canonical base.
    escaped = "/users/current%2Fx/stats"
    assert _answer(client, "GET", "/api/hackatime/v1" + escaped, alice.headers) == \
        _answer(client, "GET", "/api/v1" + escaped, alice.headers)


def test_heartbeats_under_every_base_are_stored(client: TestClient, alice: Account) -> None:
    from hackatime_lite.api.wakatime import BASE_PATHS
    from hackatime_lite.store.records import STORED_COLUMNS

    for i, base in enumerate(BASE_PATHS):
        item = {"entity": f"/src/{i}.py", "time": 1_700_000_000 + i, "type": "file"}
        response = client.post(base + "/users/current/heartbeats.bulk", json=[item], headers=alice.headers)
        assert response.status_code == 201, (base, response.text)
        assert response.json()["responses"][0][1] == 201
    rows = client.app.state.ctx.store.heartbeat_rows(alice.user.id, None, None)
    entity = STORED_COLUMNS.index("entity")
    assert sorted(row[entity] for row in rows) == [f"/src/{i}.py" for i in range(len(BASE_PATHS))]
