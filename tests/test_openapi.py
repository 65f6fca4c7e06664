"""The OpenAPI document (/schema/openapi.json) is valid, documents what the server really answers (the
`{"error": …}` bodies, every status, `Retry-After`), its docs page works offline, and a bounded
property-based fuzz of every documented operation (schemathesis) finds no server error and no answer that
breaks the document."""

from __future__ import annotations

import hashlib
import inspect
import os
import pickle
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hypothesis
import pytest
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient

from hackatime_lite.config import Settings
from hackatime_lite.jobs.registry import build_leaderboards
from hackatime_lite.store import Store
from tests.app_pool import pooled_app
from tests.conftest import Account, ServerProcess, basic_auth, load_fixture, make_account

# schemathesis, openapi-spec-validator and playwright are imported by the tests that use them: every test process
# collects this module, and importing them costs ~1.5 s of CPU.
if TYPE_CHECKING:
    import schemathesis

METHODS = ("get", "put", "post", "patch", "delete")
# One worker runs every test that reads the OpenAPI document (also a few in other modules): the pooled app
# generates it once per process (~0.3 s of CPU).
pytestmark = pytest.mark.xdist_group("openapi-document")


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


@pytest.fixture
def doc(client: TestClient) -> dict[str, Any]:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


# -- the document -------------------------------------------------------------------------------------------
def _validate_once(doc: dict[str, Any], config: pytest.Config) -> None:
    """openapi_spec_validator.validate(doc), remembered per document: validation is a pure function of the document
    and the validator (~1 s of CPU for ours), so a document (and validator version) that passed in an earlier run
    passes again; pytest's cache keeps the digests that passed. HACKATIME_TEST_FUZZ_CACHE=0 validates every run."""
    import json
    from importlib.metadata import version

    digest = hashlib.sha256((json.dumps(doc, sort_keys=True) + version("openapi-spec-validator")).encode()).hexdigest()
    cache = getattr(config, "cache", None)
    use_cache = cache is not None and os.environ.get("HACKATIME_TEST_FUZZ_CACHE", "1") != "0"
    if use_cache and cache.get("openapi-fuzz/valid-document", None) == digest:
        return
    from openapi_spec_validator import validate

    validate(doc)
    if use_cache:
        cache.set("openapi-fuzz/valid-document", digest)


def test_the_document_is_valid_openapi_that_tools_can_check(doc: dict[str, Any], request: pytest.FixtureRequest) -> None:
    """The document passes an OpenAPI 3.1 validator, and uses no `prefixItems` (3.1 allows it, but
    schemathesis and most generators cannot check it): the bulk answer's `[body, status]` pairs are
    2-item arrays of (object | integer)."""
    assert doc["openapi"].startswith("3.1")
    _validate_once(doc, request.config)  # openapi-spec-validator: raises on any violation of the OpenAPI 3.1 schema
    assert sum(1 for _ in operations(doc)) > 100
    assert "prefixItems" not in str(doc)
    pair = doc["components"]["schemas"]["BulkResponse"]["properties"]["responses"]["items"]
    assert (pair["type"], pair["minItems"], pair["maxItems"]) == ("array", 2, 2)
    kinds = pair["items"]["oneOf"]
    assert {"type": "integer"} in kinds
    assert {"$ref": "#/components/schemas/ItemOutcome"} in kinds


def test_error_answers_are_documented_as_the_real_error_body(doc: dict[str, Any]) -> None:
    """Every 4xx/5xx documented is `ErrorBody` (`{"error": …}`), never Litestar's `{status_code, detail}`;
    429 and 503 error answers carry `Retry-After`."""
    assert doc["components"]["schemas"]["ErrorBody"]["required"] == ["error"]
    for path, method, operation in operations(doc):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            schema = response["content"]["application/json"]["schema"]
            if path == "/api/health":  # degraded health is the health body itself, with its 503
                assert status == "503"
                continue
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
            if status in ("429", "503"):
                assert response["headers"]["Retry-After"]["required"] is True, (method, path, status)
    assert "status_code" not in str(doc)


# (method, path) -> statuses it must document; the route answers each of them below.
EXPECTED_STATUSES = {
    ("post", "/api/v1/users/{user}/heartbeats.bulk"): {"201", "400", "401", "403", "404", "413", "415", "429", "503"},
    ("post", "/api/v1/heartbeats"): {"201", "400", "401", "403", "413", "415", "429", "503"},
    ("get", "/api/v1/users/{user}/stats"): {"200", "400", "401", "403", "404", "429", "503"},
    ("get", "/api/v1/users/{user}/summaries"): {"200", "400", "401", "403", "404", "429", "503"},
    ("get", "/api/v1/leaders"): {"200", "400", "401", "429", "503"},
    ("get", "/api/v1/leaderboard"): {"200", "400", "401", "429", "503"},
    ("get", "/api/v1/users/{user}/project/{project_name}"): {"200", "400", "401", "403", "404", "429", "503"},
    ("post", "/api/v1/plugins/errors"): {"201", "413", "429", "503"},
    ("patch", "/api/native/v1/settings"): {"200", "400", "401", "403", "413", "429", "503"},
    ("get", "/api/native/v1/import/{job_id}"): {"200", "401", "404", "429", "503"},
    ("get", "/api/health"): {"200", "503"},
    ("get", "/api/v1/meta"): {"200"},
}


def test_every_status_a_route_answers_is_documented(doc: dict[str, Any]) -> None:
    for (method, path), statuses in EXPECTED_STATUSES.items():
        assert set(doc["paths"][path][method]["responses"]) == statuses, (method, path)
    # Every keyed route documents 401 and 429; every `{user}` route 403 and 404.
    for path, method, operation in operations(doc):
        if operation.get("security") and {} not in operation["security"]:
            assert {"401", "429"} <= set(operation["responses"]), (method, path)
        if "{user}" in path:
            assert {"403", "404"} <= set(operation["responses"]), (method, path)


def test_documented_errors_are_what_the_routes_answer(client: TestClient, alice: Account, bob: Account) -> None:
    """A sample of the documented error statuses, provoked for real: the body is `{"error": …}`."""
    read_only = basic_auth(bob.read_only_key)
    bob_auth = basic_auth(bob.key)
    cases = [
        ("GET", "/api/v1/users/current/stats", {}, None, 401),
        ("GET", "/api/v1/users/current/summaries?range=no_such_range", alice.headers, None, 400),
        ("GET", "/api/v1/users/alice/summaries?range=today", bob_auth, None, 403),
        ("GET", "/api/v1/users/nobody/summaries?range=today", alice.headers, None, 404),
        ("POST", "/api/v1/users/current/heartbeats.bulk", read_only, b"[]", 403),
        ("POST", "/api/v1/users/current/heartbeats.bulk", alice.headers, b"{", 400),
        ("POST", "/api/v1/users/current/heartbeats.bulk", {**alice.headers, "content-type": "image/png"}, b"[]", 415),
        ("GET", "/api/v1/users/current/project/nothing-here", alice.headers, None, 404),
        ("GET", "/api/native/v1/import/nope", alice.headers, None, 404),
    ]
    paths = client.get("/schema/openapi.json").json()["paths"]
    for method, url, headers, body, status in cases:
        response = client.request(method, url, headers=headers, content=body)
        assert response.status_code == status, (method, url, response.text)
        assert set(response.json()) == {"error"}, (method, url)
        path = re.sub(r"/users/[^/]+", "/users/{user}", url.split("?")[0])
        path = re.sub(r"/project/[^/]+", "/project/{project_name}", path)
        path = re.sub(r"/import/[^/]+", "/import/{job_id}", path)
        assert str(status) in paths[path][method.lower()]["responses"], (method, path, status)


# -- the docs page ------------------------------------------------------------------------------------------
EXTERNAL_URL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


def test_the_docs_page_works_offline(client: TestClient) -> None:
    """/schema (Swagger UI) loads its scripts, stylesheet and icon from the package, never from a CDN, and
    each asset it references is served."""
    for page in ("/schema", "/schema/swagger"):
        response = client.get(page)
        assert response.status_code == 200, page
        html = response.text
        assert "SwaggerUIBundle" in html
        assert not EXTERNAL_URL.search(html), "the docs page references an external URL"
        assert "cdn" not in html.lower()
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
        assert len(assets) >= 4  # bundle, standalone preset, stylesheet, icon
        for url in assets:
            assert url.startswith("/static/"), url
            fetched = client.get(url)
            assert fetched.status_code == 200, url
            assert len(fetched.content) > 0, url
    bundle = client.get(re.findall(r"""src=["']([^"']*swagger-ui-bundle\.js[^"']*)["']""", html)[0])
    assert "SwaggerUIBundle" in bundle.text


def _operation_count(base_url: str) -> int:
    import httpx

    document = httpx.get(base_url + "/schema/openapi.json", timeout=30).json()
    return sum(1 for item in document["paths"].values() for method in item
               if method in ("get", "put", "post", "delete", "patch", "head", "options", "trace"))


@pytest.mark.slow
@pytest.mark.browser
def test_the_docs_page_renders_in_a_browser_without_network(server: ServerProcess) -> None:
    """Headless Chromium opens /schema on a real server with every request outside the server refused:
    Swagger UI renders the operations, and nothing was asked of any other host."""
    from tests.test_web_browser import CHROMIUM, CHROMIUM_FLAGS, sync_playwright

    if not Path(CHROMIUM).is_file() or sync_playwright is None:
        pytest.skip("needs Debian's chromium and playwright (installed by test.sh)")
    refused: list[str] = []
    errors: list[str] = []

    def only_the_server(route: Any) -> None:
        if route.request.url.startswith(server.url + "/"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.route("**/*", only_the_server)
            page.goto(server.url + "/schema")
            page.wait_for_selector(".swagger-ui .opblock", timeout=60_000)
            # With this many operations Swagger UI virtualises the list (only what is on screen is in the DOM):
            # count what it loaded and renders, not DOM nodes.
            loaded = page.evaluate("ui.specSelectors.operations().size")
            assert loaded == _operation_count(server.url) > 100
            assert "hackatime-lite" in page.locator(".swagger-ui .info .title").inner_text()
        finally:
            browser.close()
    assert refused == []
    assert errors == []


# -- the fuzz -----------------------------------------------------------------------------------------------
# Sized for CI from the Hypothesis profile (tests/conftest.py): in the default run ("dev") each handler gets a
# few generated requests (valid and invalid) on its first path, and the same requests are replayed on each of
# its aliases (the same handler on another base path), whose documents are checked too; the thorough run
# (test.sh's second pass) generates many more. Derandomized: the same cases every run.
EXAMPLES = max(3, min(20, hypothesis.settings.default.max_examples // 8))
# How many of a handler's generated requests each alias replays: one in the default run (each alias's document
# is still checked against a real answer), all of them in the thorough run.
REPLAYED = 1 if hypothesis.settings.default.max_examples < 20 else EXAMPLES
# Not fuzzed: adding a mirror verifies the upstream over the network (random URLs), and deleting the account
# would turn every later request into a 401.
NOT_FUZZED = {("POST", "/api/native/v1/mirrors"), ("DELETE", "/api/native/v1/account"),
              # A test-send calls the webhook's URL, which a fuzzed add may have pointed anywhere.
              ("POST", "/api/native/v1/users/{user}/webhooks/{webhook_id}/test"),
              ("POST", "/api/native/v1/teams/{team}/webhooks/{webhook_id}/test")}


def _checks() -> list[Any]:
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
            response_schema_conformance]


def _without_lifespan(app: Litestar) -> Any:
    """The app for schemathesis' ASGI client, whose lifespan (startup/shutdown) the fixture runs instead:
    rejecting the lifespan scope is how an ASGI app says it has none."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("the test fixture runs this app's lifespan")
        await app(scope, receive, send)  # type: ignore[arg-type]

    return asgi


@pytest.fixture
def fuzz_target(tmp_path: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    """A real app on a real store, with an account that has coding data (so reads run their real paths) and
    built leaderboards (else those answer their documented 503, which the server-error check counts)."""
    # Rate limits off (0): hundreds of requests in seconds would otherwise be answered 429 (documented, but
    # the handlers behind would not be exercised).
    settings = Settings(data_dir=str(tmp_path / "data"), api_ingest_per_minute=0, api_read_per_minute=0,
                        api_bad_keys_per_minute=0, plugin_errors_per_minute=0)
    settings.paths.ensure()
    with Store(settings.paths.database) as store:
        alice = make_account(store, "alice")  # the first user: an admin, so `{user}` may name anyone
        make_account(store, "bob", timezone="Europe/Berlin")
        # The worker's pooled app (tests/app_pool.py: the rate limits are read through the bound instance).
        with pooled_app(settings, store=store, start_scheduler=False) as app, TestClient(app) as client:
            seeded = client.post("/api/v1/users/current/heartbeats.bulk", headers=alice.headers,
                                 json=load_fixture("pkg_api__api_heartbeats_request.json"))
            assert seeded.status_code in (201, 202), seeded.text
            build_leaderboards(app.state.ctx)
            yield _without_lifespan(app), alice.headers


def _strategy(operation: Any) -> Any:
    """Valid and invalid requests; for `{user}` routes half of them name the caller (`current`), so the
    handlers run on real data rather than answer 404 for a random user name."""
    from schemathesis.generation import GenerationMode

    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    strategies = [operation.as_strategy(mode) for mode in modes]
    if "{user}" in operation.path:
        strategies += [operation.as_strategy(mode, path_parameters={"user": "current"}) for mode in modes]
    return st.one_of(strategies)


def _fuzz(operation: Any, session: Any, headers: dict[str, str], sent: list[schemathesis.Case],
          recorded: list[dict[str, Any]]) -> None:
    """Generate EXAMPLES requests for the operation and check each answer; `sent` collects them for replay,
    `recorded` their fields (as generated, before the call) for the cache of generated requests."""

    # No shrinking: it would turn a failing run into minutes; schemathesis reports each failing request as is.
    @hypothesis.settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(case=_strategy(operation))
    def check(case: schemathesis.Case) -> None:
        sent.append(case)
        recorded.append(_case_fields(case))
        case.call_and_validate(session=session, headers=headers, checks=_checks())

    check()


# The generated requests of the default run, cached (pytest's cache directory). Generating them is most of the
# fuzz's cost (~6 s of CPU: Hypothesis drawing from schemathesis' strategies for ~90 handlers), and the fuzz is
# derandomized, so a run with the same document, example count, generation code and library versions generates
# exactly the requests it generated before: the default run sends and checks those again without drawing them.
# Anything in the key changed (a route, a parameter, a schema, this module's generation code, an upgrade) →
# generated afresh. Only a run in which every operation passed is stored. The thorough run (test.sh's second
# pass, more examples) always generates; HACKATIME_TEST_FUZZ_CACHE=0 makes the default run generate too.
CACHE_GENERATED = REPLAYED == 1 and os.environ.get("HACKATIME_TEST_FUZZ_CACHE", "1") != "0"
_NO_BODY = "<not set>"


def _case_fields(case: schemathesis.Case) -> dict[str, Any]:
    import copy

    from schemathesis.core import NotSet

    return copy.deepcopy({
        "path_parameters": case.path_parameters, "headers": dict(case.headers), "cookies": case.cookies,
        "query": case.query, "body": _NO_BODY if isinstance(case.body, NotSet) else case.body,
        "media_type": case.media_type, "multipart_content_types": case.multipart_content_types})


def _case_of(operation: Any, fields: dict[str, Any]) -> schemathesis.Case:
    from schemathesis.core import NOT_SET

    body = NOT_SET if isinstance(fields["body"], str) and fields["body"] == _NO_BODY else fields["body"]
    return operation.Case(**{**fields, "body": body})  # type: ignore[no-any-return]  # schemathesis' Case


def _generated_cache(config: pytest.Config, raw_schema: dict[str, Any]) -> Path | None:
    """Where this run's generated requests are cached, or None when they are generated every run."""
    cache = getattr(config, "cache", None)
    if not CACHE_GENERATED or cache is None:
        return None
    import json

    import schemathesis

    key = hashlib.sha256("\n".join([
        json.dumps(raw_schema, sort_keys=True, default=repr), str(EXAMPLES), repr(sorted(NOT_FUZZED)),
        schemathesis.__version__, hypothesis.__version__,
        *(inspect.getsource(fn) for fn in (_strategy, _fuzz, _case_fields, _case_of)),
    ]).encode()).hexdigest()[:32]
    return Path(cache.mkdir("openapi-fuzz")) / f"generated-{key}.pickle"


def _load_generated(path: Path | None) -> dict[str, list[dict[str, Any]]]:
    if path is None:
        return {}
    try:
        loaded = pickle.loads(path.read_bytes())  # our own cache file, written by _store_generated below
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _store_generated(path: Path | None, generated: dict[str, list[dict[str, Any]]]) -> None:
    if path is None:
        return
    for stale in path.parent.glob("generated-*.pickle"):  # one document's cases at a time
        stale.unlink(missing_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(pickle.dumps(generated))
    partial.replace(path)


@pytest.mark.hypothesis  # runs again, with many more examples, in test.sh's thorough pass
def test_fuzz_every_operation(fuzz_target: tuple[Any, dict[str, str]], request: pytest.FixtureRequest) -> None:
    """Schemathesis generates valid and invalid requests for every documented operation (path and query
    parameters, bodies), sends them with a real key, and checks each answer: no 5xx, and a documented
    status, content type, headers and body schema."""
    import schemathesis
    from schemathesis.python.asgi import get_client

    app, headers = fuzz_target
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    failures: dict[str, str] = {}
    cases: dict[str, list[schemathesis.Case]] = {}  # per handler, the requests generated for it
    cache_path = _generated_cache(request.config, schema.raw_schema)
    cached = _load_generated(cache_path)  # {handler: its generated requests' fields}, from an earlier run
    generated: dict[str, list[dict[str, Any]]] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    # One ASGI session for every request (schemathesis would build a requests.Session per call otherwise).
    with get_client(app) as session:
        for operation in operations:
            if (operation.method.upper(), operation.path) in NOT_FUZZED:
                continue
            # Aliases (one handler on several paths) share a summary: the first path gets the generated cases,
            # the others the same cases replayed.
            handler = f"{operation.method} {operation.definition.raw['summary']}"
            try:
                if handler in cases:
                    for seen in cases[handler][:REPLAYED]:
                        operation.Case(path_parameters=seen.path_parameters, query=seen.query, body=seen.body,
                                       media_type=seen.media_type).call_and_validate(
                                           session=session, headers=headers, checks=_checks())
                    continue
                if handler in cached:  # the requests this handler's generation gives, from the cache
                    generated[handler] = cached[handler]
                    for fields in cached[handler]:
                        case = _case_of(operation, fields)
                        cases.setdefault(handler, []).append(case)
                        case.call_and_validate(session=session, headers=headers, checks=_checks())
                    continue
                _fuzz(operation, session, headers, cases.setdefault(handler, []), generated.setdefault(handler, []))
            except (Exception, BaseExceptionGroup) as exc:  # every operation's failure, all reported at the end
                failures[operation.label] = f"{type(exc).__name__}: {exc}"[:3000]
    fuzzed = sum(1 for op in operations if (op.method.upper(), op.path) not in NOT_FUZZED)
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
    if generated != cached:
        _store_generated(cache_path, generated)
    assert fuzzed > 100 and len(cases) >= 40
    assert sum(len(generated) for generated in cases.values()) >= 2 * len(cases)
