"""Bad input never fails a batch or answers 5xx; bulk answers 201; stored header values are clean (issue 11).

One bad item in a bulk body (invalid UTF-8, 10,000 levels of nesting, 1e999, NaN) gets its own per-item 400
and its 24 neighbours are stored; no path parameter (a 30-digit id, a NUL), body (10 MB, a gzip bomb) or
header makes any route answer 5xx.
"""

from __future__ import annotations

import gzip
import json
import re
import struct
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from hackatime_lite.app import describe_routes
from hackatime_lite.config import Settings
from hackatime_lite.store import Store
from tests._fast_requests import Call, send_all
from tests.conftest import Account
from tests.pg_support import query
from tests.web_helpers import cheap_passwords, give_password, login, post_form  # noqa: F401 (fixture)

# Mostly the write path: the analytics replica opens only when a test reads (conftest's `client`).
pytestmark = pytest.mark.lazy_replica

BULK = "/api/v1/users/current/heartbeats.bulk"
JSON = {"Content-Type": "application/json"}
THIRTY_DIGITS = "123456789012345678901234567890"
BAD_POSITION = 5


def rows(settings: Settings, user_id: int) -> list[Any]:
    # On either backend (the suite also runs with --store=postgres).
    return query(settings, "SELECT * FROM heartbeats WHERE user_id = ? ORDER BY time", (user_id,))


def batch_with(bad_item: bytes, now: float) -> bytes:
    """24 valid heartbeats with `bad_item` (raw JSON bytes) at BAD_POSITION: 25 items in all."""
    good = [json.dumps({"entity": f"/src/f{i}.py", "time": now - 100 + i}).encode() for i in range(24)]
    good.insert(BAD_POSITION, bad_item)
    return b"[" + b",".join(good) + b"]"


def post_bulk(client: TestClient, account: Account, body: bytes, **headers: str) -> Any:
    return client.post(BULK, content=body, headers={**account.headers, **JSON, **headers})


def assert_only_the_bad_item_refused(response: Any, settings: Settings, account: Account) -> str:
    """The batch answered 201 with 25 entries, a 400 for the bad item and 201 for the 24 stored neighbours."""
    assert response.status_code == 201, response.text[:300]
    entries = response.json()["responses"]
    assert len(entries) == 25
    statuses = [status for _, status in entries]
    assert statuses == [201] * BAD_POSITION + [400] + [201] * (24 - BAD_POSITION)
    error = entries[BAD_POSITION][0]["error"]
    assert isinstance(error, str) and error
    assert sorted(r["entity"] for r in rows(settings, account.user.id)) == sorted(f"/src/f{i}.py" for i in range(24))
    return error


# -- item 1: one bad item never fails its batch -------------------------------------------------------------
def test_invalid_utf8_item_gets_400_and_neighbours_are_stored(
    client: TestClient, alice: Account, settings: Settings
) -> None:
    bad = b'{"entity": "/src/bad\xff\xfe.py", "time": %d}' % int(time.time())
    error = assert_only_the_bad_item_refused(post_bulk(client, alice, batch_with(bad, time.time())), settings, alice)
    assert "UTF-8" in error


@pytest.mark.parametrize("opener, closer", [(b"[", b"]"), (b'{"a":', b"}")], ids=["arrays", "objects"])
def test_deep_nesting_item_gets_400_and_neighbours_are_stored(
    client: TestClient, alice: Account, settings: Settings, opener: bytes, closer: bytes
) -> None:
    nested = opener * 10_000 + b"1" + closer * 10_000
    bad = b'{"entity": "/src/deep.py", "time": %d, "extra": %s}' % (int(time.time()), nested)
    error = assert_only_the_bad_item_refused(post_bulk(client, alice, batch_with(bad, time.time())), settings, alice)
    assert "nested" in error


@pytest.mark.parametrize("literal", [b"1e999", b"-1e999"])
def test_time_1e999_item_gets_400_and_neighbours_are_stored(
    client: TestClient, alice: Account, settings: Settings, literal: bytes
) -> None:
    bad = b'{"entity": "/src/huge.py", "time": %s}' % literal
    error = assert_only_the_bad_item_refused(post_bulk(client, alice, batch_with(bad, time.time())), settings, alice)
    assert "time" in error


def test_out_of_range_optional_number_drops_only_that_field(
    client: TestClient, alice: Account, settings: Settings
) -> None:
    now = time.time()
    body = b'[{"entity": "/src/a.py", "time": %f, "lineno": 1e999}, {"entity": "/src/b.py", "time": 1e999}]' % now
    response = post_bulk(client, alice, body)
    assert response.status_code == 201
    assert [s for _, s in response.json()["responses"]] == [201, 400]
    (stored,) = rows(settings, alice.user.id)
    assert stored["entity"] == "/src/a.py" and stored["lineno"] is None


@pytest.mark.parametrize("value", [1e30, 1e20, 5e11, 123456789012345678901234567890])
def test_time_1e30_is_rejected(client: TestClient, alice: Account, settings: Settings, value: float) -> None:
    """Not seconds, ms, µs or ns of a plausible time: refused, never scaled down until it looks like one
    (1e30 used to be stored as a time in 2001; 5e11 ms is 1985, before any heartbeat)."""
    bad = json.dumps({"entity": "/src/odd.py", "time": value}).encode()
    assert_only_the_bad_item_refused(post_bulk(client, alice, batch_with(bad, time.time())), settings, alice)


def test_times_in_every_clock_unit_are_still_read(client: TestClient, alice: Account, settings: Settings) -> None:
    seconds = float(int(time.time()) - 3600)
    items = [{"entity": f"/src/{unit}.py", "time": seconds * scale}
             for unit, scale in [("s", 1), ("ms", 1e3), ("us", 1e6), ("ns", 1e9)]]
    response = client.post(BULK, json=items, headers=alice.headers)
    assert [s for _, s in response.json()["responses"]] == [201] * 4
    assert [r["time"] for r in rows(settings, alice.user.id)] == pytest.approx([seconds] * 4, abs=0.01)


def test_more_than_a_day_in_the_future_is_rejected(client: TestClient, alice: Account, settings: Settings) -> None:
    now = time.time()
    items = [{"entity": "/src/soon.py", "time": now + 3600}, {"entity": "/src/later.py", "time": now + 2 * 86400}]
    response = client.post(BULK, json=items, headers=alice.headers)
    assert [s for _, s in response.json()["responses"]] == [201, 400]
    assert "future" in response.json()["responses"][1][0]["error"]


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_infinity_literals_get_per_item_400(
    client: TestClient, alice: Account, settings: Settings, literal: bytes
) -> None:
    """Not JSON, but confined to one item: that item is refused, the rest of the batch is stored."""
    bad = b'{"entity": "/src/nan.py", "time": %s}' % literal
    error = assert_only_the_bad_item_refused(post_bulk(client, alice, batch_with(bad, time.time())), settings, alice)
    assert "JSON" in error


@pytest.mark.parametrize(
    "body",
    [
        b'[{"entity": "a", "time": 1} {"entity": "b", "time": 2}]',  # a missing comma at the top level
        b'[{"entity": "a", "time": 1}, {"entity": "unclosed',
        b'[{"entity": "a", "time": 1}]]',
        b'{"entity": "\xff", "time": 1}',  # one object, not a batch: nothing to isolate
        b'{"entity": "a", "time": 1, "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        b"[" + b"[1," * 500_000 + b"1" + b"]" * 500_000 + b"]",  # too intricate to take apart
    ],
    ids=["missing-comma", "unclosed", "trailing", "single-utf8", "single-deep", "intricate"],
)
def test_unreadable_top_level_is_a_whole_request_400(
    client: TestClient, alice: Account, settings: Settings, body: bytes
) -> None:
    response = post_bulk(client, alice, body)
    assert response.status_code == 400, response.text[:300]
    assert response.json()["error"].startswith("invalid JSON")
    assert rows(settings, alice.user.id) == []


def test_too_many_items_in_a_body_only_readable_item_by_item_is_413(client: TestClient, alice: Account) -> None:
    body = b"[" + b",".join([b'{"entity": "a.py", "time": NaN}'] * 1500) + b"]"
    response = post_bulk(client, alice, body)
    assert response.status_code == 413 and "1000" in response.json()["error"]


# -- item 1: no request on any route answers 5xx for input ---------------------------------------------------
_PARAM = re.compile(r"\{[^}]+\}")


def every_route(client: TestClient) -> Iterator[tuple[str, str]]:
    """(method, path template) of every route the app serves (websockets and OPTIONS aside)."""
    for route in describe_routes(client.app):
        if route.method not in ("WS", "OPTIONS"):
            yield route.method, route.path


def assert_client_error(response: Any, method: str, path: str) -> None:
    assert 400 <= response.status_code < 500, (method, path, response.status_code, response.text[:200])
    if path.startswith("/api") and method != "HEAD":
        body = response.json()
        assert isinstance(body.get("error"), str) and body["error"], (method, path, body)


def test_thirty_digit_user_ids_are_4xx_on_every_route(client: TestClient, alice: Account) -> None:
    """Every route with a path parameter, each parameter a 30-digit number (beyond SQLite's 64-bit integers),
    with an admin's key (who may read anyone) and without a key."""
    routes = [(m, p) for m, p in every_route(client) if _PARAM.search(p)]
    assert any("{user" in p and m == "GET" and p.endswith("/stats") for m, p in routes)
    assert any(":int}" in p for _, p in routes)  # the mirror ids
    calls = [Call(method, _PARAM.sub(value, template), headers)
             for method, template in routes
             for value in (THIRTY_DIGITS, "-" + THIRTY_DIGITS, "²")
             for headers in (alice.headers, {})]
    assert len(calls) == 6 * len(routes)
    for call, response in zip(calls, send_all(client, calls), strict=True):  # ~1,000 requests: one batch
        assert_client_error(response, call.method, call.path)


@pytest.mark.usefixtures("cheap_passwords")
def test_thirty_digit_ids_in_dashboard_forms_are_4xx(client: TestClient, alice: Account, store: Store) -> None:
    give_password(store, alice.user.id)
    login(client, "alice")
    for path in ("/settings/keys/{id}/revoke", "/settings/mirrors/{id}/remove", "/settings/mirrors/{id}/resume",
                 "/settings/mirrors/{id}/backfill", "/admin/users/{id}/disable", "/admin/users/{id}/enable"):
        response = post_form(client, path.format(id=THIRTY_DIGITS), {"from": "2024-01-01"})
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text[:200])


@pytest.mark.parametrize("value", ["%00", "x%00y", "a" * 300])
def test_nul_in_paths_is_4xx(client: TestClient, alice: Account, value: str) -> None:
    """A NUL (and a name longer than any file system allows) in every path parameter, static files included."""
    calls = [Call(method, _PARAM.sub(value, template), headers)
             for method, template in every_route(client) if _PARAM.search(template)
             for headers in (alice.headers, {})]
    assert calls
    for call, response in zip(calls, send_all(client, calls), strict=True):  # hundreds of requests: one batch
        assert_client_error(response, call.method, call.path)
    assert client.get("/static/%00x").status_code == 404


def test_ten_megabyte_bodies_are_never_5xx(client: TestClient, alice: Account) -> None:
    body = b'[{"entity": "' + b"x" * 10_000_000 + b'", "time": 1}]'
    seen: set[str] = set()
    calls = [Call(method, _PARAM.sub("current" if "{user" in template else "1", template), {**alice.headers, **JSON},
                  body)
             for method, template in every_route(client) if method not in ("GET", "HEAD")]
    for call, response in zip(calls, send_all(client, calls), strict=True):
        method, path = call.method, call.path
        assert response.status_code < 500, (method, path, response.status_code, response.text[:200])
        heartbeat_post = "heartbeat" in path or re.fullmatch(r"/api(/v1|/hackatime/v1|/compat/wakatime/v1)?", path)
        if method == "POST" and path.startswith("/api") and heartbeat_post:
            assert_client_error(response, method, path)
            assert response.status_code == 413
            seen.add(path)
    assert BULK in seen


# -- gzip bodies ---------------------------------------------------------------------------------------------
def test_gzip_bodies_are_read(client: TestClient, alice: Account, settings: Settings) -> None:
    now = time.time()
    for n, compress in enumerate((gzip.compress, zlib.compress)):
        body = json.dumps([{"entity": f"/src/z{n}.py", "time": now - 10 + n}]).encode()
        encoding = "gzip" if compress is gzip.compress else "deflate"
        response = post_bulk(client, alice, compress(body), **{"Content-Encoding": encoding})
        assert response.status_code == 201, response.text
        assert response.json()["responses"] == [[{"data": None, "error": None}, 201]]
    assert [r["entity"] for r in rows(settings, alice.user.id)] == ["/src/z0.py", "/src/z1.py"]


def gzip_of_spaces_in_brackets(mebibytes: int) -> bytes:
    """gzip.compress(b"[" + b" " * mebibytes MiB + b"]", 9), built without compressing 64 MiB (~0.6 s of CPU).

    One gzip stream: after a full flush deflate starts afresh, so every 1 MiB block of spaces compresses to the
    same bytes; the block is compressed once and repeated, and the trailer (CRC-32 and size of all the input)
    is computed over the whole input, as gzip would."""
    chunk = b" " * (1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16+: the gzip wrapper
    head = deflate.compress(b"[") + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    assert deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH) == block  # the blocks really repeat
    end = deflate.compress(b"]") + deflate.flush()
    crc = zlib.crc32(b"[")
    for _ in range(mebibytes):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(b"]", crc)
    trailer = struct.pack("<II", crc, (mebibytes * len(chunk) + 2) & 0xFFFFFFFF)
    return head + block * mebibytes + end[:-8] + trailer


def test_gzip_bomb_builder_matches_gzip() -> None:
    """The fast builder gives a stream that inflates to exactly what gzip.compress would have compressed."""
    assert gzip.decompress(gzip_of_spaces_in_brackets(3)) == b"[" + b" " * (3 << 20) + b"]"


def test_gzip_bomb_is_rejected(client: TestClient, alice: Account, settings: Settings) -> None:
    # 64 MiB of JSON whitespace inflating from ~64 KiB: refused once it passes the body limit, not inflated whole.
    bomb = gzip_of_spaces_in_brackets(64)
    assert len(bomb) < settings.max_body_bytes
    response = post_bulk(client, alice, bomb, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413 and response.json()["error"]


def test_gzip_claiming_a_huge_size_or_damaged_is_400(client: TestClient, alice: Account) -> None:
    body = gzip.compress(json.dumps([{"entity": "a.py", "time": time.time()}]).encode())
    claims_4_gib = body[:-4] + struct.pack("<I", 0xFFFFFFFF)  # the trailer's size field, a lie
    for bad in (claims_4_gib, body[: len(body) // 2], b"\x1f\x8b not gzip at all"):
        response = post_bulk(client, alice, bad, **{"Content-Encoding": "gzip"})
        assert response.status_code == 400, response.text
        assert response.json()["error"]
    unsupported = post_bulk(client, alice, body, **{"Content-Encoding": "br"})
    assert unsupported.status_code == 415 and unsupported.json()["error"]


# -- item 2: bulk answers 201 ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", [BULK, "/api/v1/heartbeats.bulk", "/api/compat/wakatime/v1/users/current/heartbeats.bulk",
             "/api/hackatime/v1/users/current/heartbeats.bulk", "/api/v1/users/current/heartbeats", "/api/v1"],
)
def test_bulk_answers_201(client: TestClient, alice: Account, path: str) -> None:
    now = time.time()
    items = [{"entity": f"/src/{path.count('/')}.py", "time": now - 5}, {"entity": "no-time.py"}]
    response = client.post(path, json=items, headers=alice.headers)
    assert response.status_code == 201
    # per-item statuses unchanged: 201 stored, 400 invalid; and a resent batch is still a success
    assert [s for _, s in response.json()["responses"]] == [201, 400]
    again = client.post(path, json=items[:1], headers=alice.headers)
    assert (again.status_code, again.json()["responses"][0][1]) == (201, 201)


@pytest.mark.xdist_group("openapi-document")  # one worker generates the pooled app's OpenAPI document (tests/test_openapi.py)
def test_openapi_documents_bulk_201(client: TestClient) -> None:
    doc = client.get("/schema/openapi.json").json()
    responses = doc["paths"]["/api/v1/users/{user}/heartbeats.bulk"]["post"]["responses"]
    assert "201" in responses and "202" not in responses
    assert "BulkResponse" in json.dumps(responses["201"])


# -- item 7: header values are clean --------------------------------------------------------------------------
def test_header_control_characters_are_stripped(client: TestClient, alice: Account, settings: Settings) -> None:
    headers = {
        **alice.headers,
        # Header bytes arrive as Latin-1: \x85 is NEL and \x9b CSI (the C1 controls), \x1b ESC, \t a tab.
        "User-Agent": b"wakatime/v1.90.0 (linux-x86_64) go1.22 vim/9.0\t\x1b[31m\x85\x9b vim-wakatime/11.0.0",
        # URL-encoded: newline, tab, ESC, NEL, the right-to-left override.
        "X-Machine-Name": b"box%0A%09%1B%C2%85%E2%80%AEname",
    }
    item = {"entity": "/src/a\tb\nc\u2028d.py", "project": "p\x1b[2J\x9bq", "time": time.time() - 5}
    response = client.post(BULK, json=[item], headers=headers)  # type: ignore[arg-type]  # bytes are valid values
    assert response.json()["responses"] == [[{"data": None, "error": None}, 201]]
    (stored,) = rows(settings, alice.user.id)
    for name in ("entity", "project", "user_agent", "machine"):
        assert stored[name].isprintable(), (name, stored[name])
    assert stored["machine"] == "box name"
    assert stored["entity"] == "/src/a b c d.py"
    assert stored["project"] == "p[2Jq"
    assert stored["user_agent"].startswith("wakatime/v1.90.0") and "[31m" in stored["user_agent"]
    assert stored["editor"] == "Vim"


def test_plugin_error_user_agent_is_clean(client: TestClient, settings: Settings) -> None:
    response = client.post("/api/v1/plugins/errors", json={"error": "x"},
                           headers={"User-Agent": b"vim-wakatime\x1b]0;owned\x07/1.0\n"})  # type: ignore[dict-item]
    assert response.status_code == 201
    (user_agent,) = query(settings, "SELECT user_agent FROM plugin_errors")[0]
    assert user_agent == "vim-wakatime]0;owned/1.0"
