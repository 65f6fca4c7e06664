"""The CLI's side of the HTTP API: where the server is, which API key to use, authenticated requests, and the
read API's answers decoded into the typed report objects the in-process reports return (models.DayReport, Span, Streak, Board).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import msgspec

from hackatime_lite import __version__
from hackatime_lite.cli.wakatime_cfg import CfgError, config_path, read_settings
from hackatime_lite.config import Settings
from hackatime_lite.errors import InputError
from hackatime_lite.models import DIMENSIONS, Board, DayReport, Span, Streak
from hackatime_lite.runtime import read_server_file
from hackatime_lite.store.rules import API_KEY_PATTERN

API_BASE = "/api/v1"
KEY_ENV = "HACKATIME_API_KEY"
USER_AGENT = f"hackatime-lite-cli/{__version__}"
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


class ApiError(RuntimeError):
    """The server answered with an error (or not at all); `status` is None when nothing answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


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


def running_server_url(settings: Settings) -> str | None:
    """The URL of a live server that holds this data dir (from its server.json), reachable from here."""
    info = read_server_file(settings.paths.server_file)
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


@dataclass(frozen=True)
class FoundKey:
    key: str
    origin: str  # "--key", "$HACKATIME_API_KEY" or the config file's path


def find_api_key(explicit: str | None, environ: Mapping[str, str] | None = None) -> FoundKey | None:
    """--key, else $HACKATIME_API_KEY, else api_key from ~/.wakatime.cfg (the editor's key)."""
    environ = os.environ if environ is None else environ
    if explicit:
        return FoundKey(check_api_key(explicit), "--key")
    if environ.get(KEY_ENV):
        return FoundKey(check_api_key(environ[KEY_ENV]), f"${KEY_ENV}")
    path = config_path(environ)
    try:
        values = read_settings(path)
    except CfgError:
        return None
    if values and values.get("api_key"):
        return FoundKey(check_api_key(values["api_key"]), str(path))
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ApiClient:
    """GET/POST JSON with the key in `Authorization: Basic base64(key)`, as wakatime-cli sends it."""

    def __init__(self, root: str, key: str | None, *, timeout: float = 10.0) -> None:
        self.root = server_root(root)
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if key:
            headers["Authorization"] = "Basic " + base64.b64encode(key.encode()).decode()
        # Proxies from the environment would swallow loopback traffic; remote servers may need them.
        self._http = httpx.Client(
            base_url=self.root,
            headers=headers,
            timeout=timeout,
            trust_env=not _is_loopback(urlsplit(self.root).hostname or ""),
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        try:
            return self._http.request(method, path, params=_clean(params), json=json, headers=headers)
        except httpx.TimeoutException as exc:
            raise ApiError(f"{self.root} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach {self.root}: {exc}") from exc

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        response = self.request("GET", path, params=params)
        if response.status_code != 200:
            raise ApiError(f"{path}: {response.status_code} {error_message(response)}", response.status_code)
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(f"{path}: the answer is not JSON") from exc


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return {k: v for k, v in params.items() if v is not None} if params else None


def error_message(response: httpx.Response) -> str:
    """The server's `{"error": ...}` text, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return str(body)[:200]


# -- answers of the read API as typed report objects ------------------------------------------------------
# Each raises msgspec.ValidationError for an answer of another shape.
class _Summaries(msgspec.Struct):
    data: list[dict[str, Any]]


class _Spans(msgspec.Struct):
    spans: list[Span]


def _epoch(text: Any) -> float:
    return msgspec.convert(text, dt.datetime).timestamp()


def _day_report(day: dict[str, Any]) -> DayReport:
    """One day of WakaTime's summaries: `range`, `grand_total`, and each breakdown under its plural key."""
    span = msgspec.convert(day.get("range"), dict[str, Any])
    return msgspec.convert(
        {
            "date": span.get("date"),
            "timezone": span.get("timezone"),
            "start": _epoch(span.get("start")),
            "end": _epoch(span.get("end")) + 1,  # WakaTime's day ends on its last second
            "grand_total": day.get("grand_total"),
            "breakdowns": {d.plural: day[d.plural] for d in DIMENSIONS if d.plural in day},
        },
        DayReport,
    )


def summary_days(answer: Any) -> list[DayReport]:
    """GET users/:user/summaries → its days."""
    return [_day_report(day) for day in msgspec.convert(answer, _Summaries).data]


def spans(answer: Any) -> list[Span]:
    """GET users/:user/heartbeats/spans → the sessions."""
    return msgspec.convert(answer, _Spans).spans


def streak(answer: Any) -> Streak:
    """GET users/:user/streak (Hackatime's `streak_days` is `current` again)."""
    return msgspec.convert(answer, Streak)


class _UserData(msgspec.Struct):
    timezone: str


class _User(msgspec.Struct):
    data: _UserData


class _Project(msgspec.Struct):
    name: str


class _Projects(msgspec.Struct):
    data: list[_Project]


def user_timezone(answer: Any) -> str:
    """GET users/:user → the user's time zone."""
    return msgspec.convert(answer, _User).data.timezone


def project_names(answer: Any) -> list[str]:
    """GET users/:user/projects → the project names."""
    return [p.name for p in msgspec.convert(answer, _Projects).data]


def board(answer: Any) -> Board:
    """GET leaderboard → the page."""
    return msgspec.convert(answer, Board)
