"""The CLI's side of the HTTP API: where the server is, which API key to use, authenticated requests, and the
read API's answers decoded into the typed report objects the in-process reports return (models.DayReport, Span, Streak, Board).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec

# URL and key handling lives in fast_endpoints (stdlib only, shared with the fast front cli.fast); these names
# are re-exported here, where the rest of the CLI has always imported them from.
from hackatime_lite.cli.fast_endpoints import API_BASE as API_BASE
from hackatime_lite.cli.fast_endpoints import KEY_ENV as KEY_ENV
from hackatime_lite.cli.fast_endpoints import USER_AGENT, server_url_from_file
from hackatime_lite.cli.fast_endpoints import ClientError as ClientError
from hackatime_lite.cli.fast_endpoints import FoundKey as FoundKey
from hackatime_lite.cli.fast_endpoints import check_api_key as check_api_key
from hackatime_lite.cli.fast_endpoints import find_api_key as find_api_key
from hackatime_lite.cli.fast_endpoints import is_loopback as _is_loopback
from hackatime_lite.cli.fast_endpoints import server_root as server_root
from hackatime_lite.config import Settings
from hackatime_lite.models import DIMENSIONS, Board, DayReport, Span, Streak


class ApiError(RuntimeError):
    """The server answered with an error (or not at all); `status` is None when nothing answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def running_server_url(settings: Settings) -> str | None:
    """The URL of a live server that holds this data dir (from its server.json), reachable from here."""
    return server_url_from_file(settings.paths.server_file)


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
