"""Where the server is and which API key to use: the CLI's HTTP client (cli.client) and its stdlib-only fast front
(cli.fast) both use these, so the two paths cannot disagree about a URL or a key.

Standard library only and nothing heavy at import (no httpx, msgspec, Typer, pathlib): cli.fast imports this on
every `hackatime-lite report today`, whose whole start-up budget is a few times a bare interpreter's.
"""

from __future__ import annotations

import json
import os
import re
from urllib.parse import urlsplit, urlunsplit

from hackatime_lite import __version__
from hackatime_lite.errors import InputError

TYPE_CHECKING = False  # not typing's: importing typing (or dataclasses, pathlib) would cost cli.fast's budget
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

API_BASE = "/api/v1"
KEY_ENV = "HACKATIME_API_KEY"
USER_AGENT = f"hackatime-lite-cli/{__version__}"
# The same pattern as store.rules.API_KEY_PATTERN (a test keeps them equal): importing store.rules here would
# pull in argon2 and the models, several times the fast front's budget.
API_KEY_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# api_url forms seen in editor configs: the base paths of COMPAT.md, or the legacy client's full POST URL.
_API_SUFFIXES = (
    "/users/current/heartbeats.bulk",
    "/api/compat/wakatime/v1",
    "/api/hackatime/v1",
    "/api/v1",
    "/api",
)
_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


class ClientError(InputError):
    """A URL or key the CLI cannot use; the message says what to do."""


def check_api_key(key: str) -> str:
    """Both WakaTime CLIs refuse anything but a lowercase UUIDv4 before sending, so we do too."""
    key = key.strip()
    if API_KEY_PATTERN.match(key):
        return key
    if API_KEY_PATTERN.match(key.lower()):
        raise ClientError("the API key must be lowercase (editor plugins reject upper-case keys)")
    raise ClientError("the API key is not a UUID like 1b2c3d4e-5f60-4a1b-9c2d-3e4f5a6b7c8d")


def server_root(url: str) -> str:
    """`http://host:port` (plus any path prefix) from a server URL or any api_url form; validated.

    Only http(s) URLs without credentials are accepted: the key travels in a header, never in the URL.
    """
    try:
        parts = urlsplit((url or "").strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ClientError(f"not a valid URL: {url!r} ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(f"not an http(s) URL with a host: {url!r}")
    if parts.username or parts.password:
        raise ClientError("put the API key in --key, not in the URL")
    path = parts.path.rstrip("/")
    for suffix in _API_SUFFIXES:
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def read_server_file(server_file: str | os.PathLike[str]) -> dict[str, Any] | None:
    """runtime.read_server_file (a test keeps them agreeing) without pathlib and typing: the running server's
    url and pid, or None when no live server owns the data dir."""
    try:
        with open(server_file) as handle:  # the locale's encoding, as Path.read_text reads it there
            info = json.loads(handle.read())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info


def server_url_from_file(server_file: str | os.PathLike[str]) -> str | None:
    """The URL of a live server advertised in a data dir's server.json, reachable from here."""
    info = read_server_file(server_file)
    if not info or not isinstance(info.get("url"), str):
        return None
    parts = urlsplit(info["url"])
    host = parts.hostname or ""
    if host in _WILDCARD_HOSTS:
        # A server bound to every address is reached on loopback.
        loopback = _WILDCARD_HOSTS[host]
        netloc = f"[{loopback}]" if ":" in loopback else loopback
        if parts.port:
            netloc += f":{parts.port}"
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts._replace(path="", query="", fragment=""))


class FoundKey:
    """An API key and where it came from: "--key", "$HACKATIME_API_KEY" or the config file's path. (A plain
    class: dataclasses imports inspect and ast, more than the fast front's whole budget.)"""

    __slots__ = ("key", "origin")

    def __init__(self, key: str, origin: str) -> None:
        self.key, self.origin = key, origin

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FoundKey) and (self.key, self.origin) == (other.key, other.origin)

    def __hash__(self) -> int:
        return hash((self.key, self.origin))

    def __repr__(self) -> str:
        return f"FoundKey(key='…', origin={self.origin!r})"  # the key is a secret: never in a repr or a log


def find_api_key(explicit: str | None, environ: Mapping[str, str] | None = None) -> FoundKey | None:
    """--key, else $HACKATIME_API_KEY, else api_key from ~/.wakatime.cfg (the editor's key)."""
    environ = os.environ if environ is None else environ
    if explicit:
        return FoundKey(check_api_key(explicit), "--key")
    if environ.get(KEY_ENV):
        return FoundKey(check_api_key(environ[KEY_ENV]), f"${KEY_ENV}")
    from hackatime_lite.cli.wakatime_cfg import CfgError, config_path, read_settings

    path = config_path(environ)
    try:
        values = read_settings(path)
    except CfgError:
        return None
    if values and values.get("api_key"):
        return FoundKey(check_api_key(values["api_key"]), str(path))
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    import ipaddress  # only here: most callers never ask

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
