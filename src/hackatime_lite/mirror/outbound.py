"""Outbound HTTP to upstream servers: URL validation (scheme, host, allow-list, not ourselves) and the client."""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from hackatime_lite import __version__
from hackatime_lite.config import Settings
from hackatime_lite.errors import InputError
from hackatime_lite.runtime import read_server_file

if TYPE_CHECKING:
    import httpx  # imported where used: ~0.1 s a server start does not need (issue 13)

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "0.0.0.0", "::", "ip6-localhost"})
_HOST_PATTERN = re.compile(r"^[a-z0-9._:\[\]-]+$")
USER_AGENT = f"hackatime-lite/{__version__}"


class OutboundURLError(InputError):
    """An upstream URL we refuse to call; the message says why."""


def _is_local_host(host: str, settings: Settings) -> bool:
    if host in _LOCAL_NAMES or host == settings.host.lower():
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_allowed(host: str, allowed: list[str]) -> bool:
    for pattern in (p.strip().lower() for p in allowed):
        if pattern.startswith("*.") and (host.endswith(pattern[1:]) or host == pattern[2:]):
            return True
        if host == pattern:
            return True
    return False


def _own_ports(settings: Settings) -> set[int]:
    """Ports this instance answers on: the configured one and the one a live server wrote down."""
    ports = {settings.port}
    running = read_server_file(settings.paths.server_file)
    if running:
        port = urlsplit(str(running.get("url", ""))).port
        if port:
            ports.add(port)
    return ports


def validate_upstream_url(url: str, settings: Settings) -> str:
    """The normalised base URL (no trailing slash), or OutboundURLError."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundURLError(f"not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundURLError("the upstream URL must start with http:// or https://")
    host = (parts.hostname or "").lower()
    if not host or not _HOST_PATTERN.match(host):
        raise OutboundURLError("the upstream URL needs a host name")
    if parts.username or parts.password:
        raise OutboundURLError("put the API key in --key, not in the URL")
    if parts.query or parts.fragment:
        raise OutboundURLError("the upstream URL must not have a query string or fragment")
    if settings.mirror_allowed_hosts and not _host_allowed(host, settings.mirror_allowed_hosts):
        raise OutboundURLError(f"host {host!r} is not in mirror_allowed_hosts")
    effective_port = port or (443 if scheme == "https" else 80)
    if _is_local_host(host, settings) and effective_port in _own_ports(settings):
        raise OutboundURLError("the upstream URL points at this server itself")
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, parts.netloc.lower(), path, "", ""))


def http_client(settings: Settings, timeout: float | None = None) -> httpx.Client:
    """Never follows redirects: a redirect could carry our Authorization header to another host."""
    import httpx

    return httpx.Client(
        timeout=httpx.Timeout(timeout or settings.mirror_timeout),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
    )


def describe_http_error(exc: httpx.HTTPError) -> str:
    """A short reason without the URL's query or any header (so no secret reaches a log line)."""
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "connection failed (is the upstream reachable?)"
    return type(exc).__name__
