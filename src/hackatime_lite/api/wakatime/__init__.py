"""WakaTime wire format: the same routes under every base path real clients are configured with."""

from __future__ import annotations

BASE_PATHS = ("/api/v1", "/api/hackatime/v1", "/api/compat/wakatime/v1", "/api")


def on_every_base(*suffixes: str) -> list[str]:
    return [base + suffix for base in BASE_PATHS for suffix in suffixes]
