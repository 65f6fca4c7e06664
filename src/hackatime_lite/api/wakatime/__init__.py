"""WakaTime wire format: the same routes under every base path real clients are configured with.

Each route is registered once, under CANONICAL_BASE; the other base paths are aliases that the app serves by
swapping the prefix before routing (app.py's `HackatimeApp`), so a request under an alias gets exactly the
canonical route's answer (status, body, auth, rate limits, CORS, 404/405) without Litestar registering every
handler four times (most of the start-up cost of building the app: issue 13)."""

from __future__ import annotations

CANONICAL_BASE = "/api/v1"
BASE_PATHS = ("/api/v1", "/api/hackatime/v1", "/api/compat/wakatime/v1", "/api")

# alias base → the suffixes (route templates after the base) served there as under CANONICAL_BASE. Filled by
# the route declarations as their modules are imported, like their HANDLERS lists; app.py keeps only the
# suffixes of routes the app really registered.
ALIASES: dict[str, set[str]] = {}


def on_every_base(*suffixes: str, bases: tuple[str, ...] = BASE_PATHS) -> list[str]:
    """The canonical paths to register for `suffixes` ("" is the base itself); each other base in `bases`
    becomes an alias of them."""
    for base in bases:
        if base != CANONICAL_BASE:
            ALIASES.setdefault(base, set()).update(suffixes)
    assert CANONICAL_BASE in bases, "an alias needs its canonical route"
    return [CANONICAL_BASE + suffix for suffix in suffixes]
