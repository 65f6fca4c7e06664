"""`serve --get PATH`: answer one request in-process (no socket) and exit — a cheap smoke test of a build."""

from __future__ import annotations

import logging

from hackatime_lite.config import Settings


def answer_get(settings: Settings, path: str, *, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """Start the whole app (lifespan included) on the data dir, GET `path`, stop; returns (status, body)."""
    from litestar.testing import TestClient

    from hackatime_lite.app import create_app

    # The test client logs each request it makes; the answer is printed anyway.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not path.startswith("/"):
        path = "/" + path
    app = create_app(settings, start_scheduler=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(path, headers=headers or {})
    return response.status_code, response.text
