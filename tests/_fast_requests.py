"""Many requests to a test client's app in one go: for the tests that walk every route (hundreds of requests).

Through Litestar's sync TestClient a request costs ~2–3 ms of CPU, more than half of it outside the app: httpx's
client machinery (URL merging, the cookie jar, auth and redirect handling) and the blocking portal that hands
each request to the app's event-loop thread (two portal calls, a thread switch each way). `send_all` builds each
request's ASGI scope with the TestClient's own transport (`TestClientTransport.parse_request`: the same path,
raw path, headers and client address the TestClient would send), then runs the whole batch inside one portal
call on the app's loop, where the app's lifespan started this test's instance (store, replica, limiters). The
requests still run one after another, in order, as a loop over `client.request` did; each answer is an
ordinary `httpx.Response` (status, headers, body, `.json()`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from litestar.testing import TestClient
from litestar.testing.transport import TestClientTransport


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes | None = None

    @classmethod
    def with_json(cls, method: str, path: str, body: object, headers: Mapping[str, str]) -> Call:
        """As `client.request(method, path, json=body, headers=headers)`: no body when `body` is None."""
        if body is None:
            return cls(method, path, headers)
        return cls(method, path, {**headers, "Content-Type": "application/json"}, json.dumps(body).encode())


async def _answer(app: Any, scope: dict[str, Any], body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One ASGI request/response cycle: the whole body at once, as the TestClient sends it."""
    delivered = False
    finished = asyncio.Event()
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            await finished.wait()
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            if scope["method"] != "HEAD":
                chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                finished.set()

    try:
        await app(scope, receive, send)
    except Exception:  # as raise_server_exceptions=False: an exception that escapes the app is a 500
        return 500, [], b""
    return status, headers, b"".join(chunks)


def send_all(client: TestClient, calls: Iterable[Call]) -> list[httpx.Response]:
    """Each call's response, in order. The client must be started (`with TestClient(...)`, as the `client`
    fixture is); its default headers and cookies (a dashboard login) go along, as with `client.request`."""
    transport = TestClientTransport(client, raise_server_exceptions=False)
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    prepared: list[tuple[httpx.Request, dict[str, Any], bytes]] = []
    for call in calls:
        headers = {**client.headers, **({"cookie": cookie} if cookie else {}), **call.headers}
        request = httpx.Request(call.method, client.base_url.join(call.path), headers=headers, content=call.content)
        scope = transport.parse_request(request)
        scope.update(method=call.method, http_version="1.1", extensions={"http.response.template": {}})
        prepared.append((request, scope, call.content or b""))

    async def run() -> list[tuple[int, list[tuple[bytes, bytes]], bytes]]:
        return [await _answer(client.app, scope, body) for _, scope, body in prepared]

    answers = client.blocking_portal.call(run)
    return [httpx.Response(status, headers=headers, content=body, request=request)
            for (request, _, _), (status, headers, body) in zip(prepared, answers, strict=True)]
